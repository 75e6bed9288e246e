from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "tenant_apps.compliance"
    label = "compliance"
    verbose_name = "Compliance (KYC, screening, risk)"
    default_auto_field = "django.db.models.BigAutoField"
