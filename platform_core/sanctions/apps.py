from django.apps import AppConfig


class SanctionsConfig(AppConfig):
    name = "platform_core.sanctions"
    label = "sanctions"
    verbose_name = "Sanctions lists and screening"
