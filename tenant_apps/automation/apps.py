from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "tenant_apps.automation"
    label = "automation"
    verbose_name = "Segments and automation"
    default_auto_field = "django.db.models.BigAutoField"
