from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "tenant_apps.commissions"
    label = "commissions"
    verbose_name = "IB commissions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A back-dated reassignment approved with mode "recalculate" recomputes the affected periods.
        try:
            from tenant_apps.partners.services import register_reassignment_approved_hook
        except ImportError:  # partners services not there yet: nothing to hook
            return
        from tenant_apps.commissions.services import on_reassignment_approved

        register_reassignment_approved_hook(on_reassignment_approved)
