from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "tenant_apps.trading"
    label = "trading"
    verbose_name = "Trading accounts"
    default_auto_field = "django.db.models.BigAutoField"
