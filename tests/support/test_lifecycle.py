"""The ticket workflow: the whole life of a ticket through services, every status change audited, every move the
table in states.py does not allow refused (and nothing changed), reopening only within the window."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.support import services, states
from tenant_apps.support.errors import SupportError, TransitionRefused
from tenant_apps.support.models import Ticket


def _status_trail(ticket) -> list[list[str]]:
    from tenant_apps.audit.models import AuditEntry

    return [e.changes["status"] for e in AuditEntry.objects.filter(
        action="support.ticket_status", object_type="support.ticket", object_id=str(ticket.pk)).order_by("pk")]


def test_a_ticket_lives_from_new_to_closed_and_every_status_change_is_audited(desk):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="Withdrawal pending", body="Since Monday.",
                                      category="withdrawal", severity="high")
        assert ticket.number == f"T-{ticket.pk:06d}" and ticket.status == states.NEW
        assert ticket.sla_due_at == ticket.created_at + timedelta(hours=8)
        services.staff_reply(ticket=ticket, staff=desk.support, body="Checking with finance.")
        ticket.refresh_from_db()
        assert ticket.status == states.WAITING and ticket.first_response_at is not None
        services.client_reply(ticket=ticket, client=desk.client, body="Thanks, still waiting.")
        ticket.refresh_from_db()
        assert ticket.status == states.OPEN
        services.ticket_transition(ticket=ticket, to=states.RESOLVED, actor=desk.support, reason="paid out")
        ticket.refresh_from_db()
        assert ticket.status == states.RESOLVED and ticket.resolved_at is not None
        services.client_reply(ticket=ticket, client=desk.client, body="Not received yet!")  # reopens
        ticket.refresh_from_db()
        assert ticket.status == states.OPEN and ticket.resolved_at is None
        services.ticket_transition(ticket=ticket, to=states.CLOSED, actor=desk.client)
        ticket.refresh_from_db()
        assert ticket.status == states.CLOSED and ticket.closed_at is not None
        assert _status_trail(ticket) == [["new", "waiting_on_client"], ["waiting_on_client", "open"],
                                         ["open", "resolved"], ["resolved", "open"], ["open", "closed"]]
        assert ticket.messages.count() == 4


ALL = [s for s, _label in states.STATUS_CHOICES]
REFUSED_FOR_STAFF = [(a, b) for a in ALL for b in ALL if a != b and not states.transition_allowed(a, b, states.STAFF)]


@pytest.mark.parametrize(("start", "target"), REFUSED_FOR_STAFF)
def test_a_move_the_table_does_not_allow_is_refused_and_changes_nothing(desk, start, target):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        Ticket.objects.filter(pk=ticket.pk).update(status=start)
        ticket.refresh_from_db()
        with pytest.raises(TransitionRefused):
            services.ticket_transition(ticket=ticket, to=target, actor=desk.manager)
        ticket.refresh_from_db()
        assert ticket.status == start
        assert _status_trail(ticket) == []


def test_the_refused_table_is_not_empty_and_closed_to_resolved_is_in_it():
    assert ("closed", "resolved") in REFUSED_FOR_STAFF and ("new", "new") not in REFUSED_FOR_STAFF
    assert len(REFUSED_FOR_STAFF) >= 5


@pytest.mark.parametrize("target", [states.OPEN, states.RESOLVED, states.WAITING])
def test_a_client_may_only_close_their_ticket_not_resolve_or_reopen_it_by_hand(desk, target):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        with pytest.raises(TransitionRefused):
            services.ticket_transition(ticket=ticket, to=target, actor=desk.client)
        ticket.refresh_from_db()
        assert ticket.status == states.NEW


def test_another_client_cannot_close_or_reply_on_a_ticket_not_theirs(desk):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        with pytest.raises(SupportError):
            services.ticket_transition(ticket=ticket, to=states.CLOSED, actor=desk.other_client)
        with pytest.raises(SupportError):
            services.client_reply(ticket=ticket, client=desk.other_client, body="hi")
        assert ticket.messages.count() == 1


def test_a_reply_after_the_reopen_window_is_refused_with_a_clear_message(desk, settings):
    settings.SUPPORT_REOPEN_DAYS = 7
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="Old one", body="b")
        services.ticket_transition(ticket=ticket, to=states.CLOSED, actor=desk.support)
        Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - timedelta(days=8))
        ticket.refresh_from_db()
        with pytest.raises(SupportError) as refused:
            services.client_reply(ticket=ticket, client=desk.client, body="again")
        assert refused.value.code == "reopen_expired" and "7 days" in refused.value.message
        assert ticket.number in refused.value.message
        ticket.refresh_from_db()
        assert ticket.status == states.CLOSED and ticket.messages.count() == 1


def test_sales_cannot_reply_or_manage_and_the_service_says_so(desk):
    from tenant_apps.identity.permissions import PermissionDeniedError

    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        with pytest.raises(PermissionDeniedError):
            services.staff_reply(ticket=ticket, staff=desk.sales, body="x")
        with pytest.raises(PermissionDeniedError):
            services.ticket_transition(ticket=ticket, to=states.OPEN, actor=desk.sales)
        assert ticket.messages.count() == 1


def test_raising_severity_before_an_answer_moves_the_sla_and_is_audited(desk):
    from tenant_apps.audit.models import AuditEntry

    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b", severity="low")
        services.ticket_update(ticket=ticket, staff=desk.support, severity="urgent", category="deposit")
        ticket.refresh_from_db()
        assert ticket.sla_due_at == ticket.created_at + timedelta(hours=2) and ticket.category == "deposit"
        entry = AuditEntry.objects.get(action="support.ticket_update", object_id=str(ticket.pk))
        assert entry.changes["severity"] == ["low", "urgent"]


def test_assigning_to_someone_who_cannot_answer_tickets_is_refused(desk):
    from django.core.exceptions import ValidationError

    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        with pytest.raises(ValidationError):
            services.ticket_assign(ticket=ticket, staff=desk.manager, assignee=desk.sales)
        services.ticket_assign(ticket=ticket, staff=desk.manager, assignee=desk.support)
        ticket.refresh_from_db()
        assert ticket.assignee_id == desk.support.pk
