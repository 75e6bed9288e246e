from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "tenant_apps.support"
    label = "support"
    verbose_name = "Support"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        register_ticket_queue()


def _tickets_waiting():
    from tenant_apps.support import states
    from tenant_apps.support.models import Ticket

    return Ticket.objects.filter(status__in=(states.NEW, states.OPEN))


def register_ticket_queue() -> None:
    """The "tickets" work queue (tenant_apps/queues): tickets waiting for staff — new or open, not those waiting on
    the client. Only for staff who answer tickets (support:reply); Sales reads tickets at /backoffice/support/."""
    try:
        from tenant_apps.queues.registry import Column, QueueSpec, register
    except ImportError:  # the queues app is optional: without it, /backoffice/support/ is the list
        return
    from django.urls import reverse
    from django.utils.translation import gettext_lazy as _

    register(QueueSpec(
        code="tickets", label=_("Support tickets"), order=70, permission=("support", "reply"),
        description=_("Client requests waiting for an answer from the support team."),
        queryset=_tickets_waiting, since="created_at", sla_minutes=24 * 60,  # the "normal" first-response SLA
        detail_url=lambda t: reverse("backoffice_support_ticket", args=[t.pk]),
        columns=(Column(_("Ticket"), lambda t: t.number), Column(_("Subject"), lambda t: t.subject),
                 Column(_("Severity"), lambda t: t.get_severity_display()),
                 Column(_("Category"), lambda t: t.get_category_display())),
        client_path="client", risk_path=None, select_related=("client",),
    ))
