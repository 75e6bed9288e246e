from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "tenant_apps.identity"
    label = "identity"
    verbose_name = "Identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from allauth.account.signals import user_logged_in

        from tenant_apps.identity import receivers

        user_logged_in.connect(receivers.on_user_logged_in, dispatch_uid="identity.devices.on_user_logged_in")
        from tenant_apps.identity import language

        user_logged_in.connect(language.on_user_logged_in, dispatch_uid="identity.language.on_user_logged_in")
