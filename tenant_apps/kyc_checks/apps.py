from django.apps import AppConfig


class KycChecksConfig(AppConfig):
    name = "tenant_apps.kyc_checks"
    label = "kyc_checks"
    verbose_name = "KYC checks (screening, risk, expiry, vendors)"
    default_auto_field = "django.db.models.BigAutoField"
