from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "tenant_apps.queues"
    label = "queues"
    verbose_name = "Work queues"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The back office's own queues; other apps register theirs from their AppConfig.ready() (registry.py).
        from tenant_apps.queues import builtin

        builtin.register_builtin_queues()
