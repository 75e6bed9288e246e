from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "tenant_apps.partners"
    label = "partners"
    verbose_name = "Partners (IBs)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from tenant_apps.crm.services import CLIENT_REGISTERED_HOOKS
        from tenant_apps.partners.services import on_client_registered

        if on_client_registered not in CLIENT_REGISTERED_HOOKS:
            CLIENT_REGISTERED_HOOKS.append(on_client_registered)
