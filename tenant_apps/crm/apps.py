from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "tenant_apps.crm"
    label = "crm"
    verbose_name = "CRM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_save

        from tenant_apps.compliance.models import KycCase
        from tenant_apps.crm import receivers

        post_save.connect(receivers.on_kyc_case_saved, sender=KycCase, dispatch_uid="crm.lifecycle.on_kyc_case_saved")
        from tenant_apps.payments.services.deposits import register_deposit_credited_hook

        register_deposit_credited_hook(receivers.on_deposit_credited)
