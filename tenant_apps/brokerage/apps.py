from django.apps import AppConfig


class BrokerageConfig(AppConfig):
    name = "tenant_apps.brokerage"
    label = "brokerage"
    verbose_name = "Brokerage configuration"
    default_auto_field = "django.db.models.BigAutoField"
