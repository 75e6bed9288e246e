"""The "tickets" work queue (tenant_apps/queues): new and open tickets, for those who answer them."""
from __future__ import annotations

from django_tenants.utils import tenant_context

from tenant_apps.support import services, states


def test_new_and_open_tickets_wait_in_the_tickets_queue_for_support_not_for_sales(desk, http):
    from tenant_apps.queues import registry

    spec = registry.get("tickets")
    assert spec is not None and spec.permission == ("support", "reply")
    with tenant_context(desk.alpha):
        waiting = services.ticket_open(client=desk.client, subject="Queue me", body="b")
        answered = services.ticket_open(client=desk.client, subject="Answered already", body="b")
        services.staff_reply(ticket=answered, staff=desk.support, body="done?")  # → waiting on client
        assert answered.__class__.objects.get(pk=answered.pk).status == states.WAITING
        assert set(spec.queryset().values_list("pk", flat=True)) == {waiting.pk}
        assert spec.detail_url(waiting) == f"/backoffice/support/{waiting.pk}/"
    page = http(desk.support, desk.alpha).get("/backoffice/queues/tickets/")
    assert page.status_code == 200 and "Queue me" in page.content.decode()
    assert "Answered already" not in page.content.decode()
    assert http(desk.sales, desk.alpha).get("/backoffice/queues/tickets/").status_code == 403
