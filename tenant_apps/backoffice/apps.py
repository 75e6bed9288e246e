from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "tenant_apps.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
