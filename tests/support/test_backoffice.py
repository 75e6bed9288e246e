"""The back office: the ticket list (filters, SLA, scope), a ticket's reply / note / status / assignment through
HTTP with the matrix enforced, notifications each action produces, and bounded queries with 1 and 200 tickets."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.support import services, states
from tenant_apps.support.models import Ticket, TicketMessage
from tests.support.conftest import png_upload


def _told(brokerage, user, kind):
    from tenant_apps.notifications.models import Notification

    with tenant_context(brokerage):
        return list(Notification.objects.filter(recipient_id=user.pk, kind=kind).order_by("pk"))


def test_support_replies_and_the_client_is_notified_once_with_a_link_to_the_ticket(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="Where is my money", body="b")
    response = http(desk.support, desk.alpha).post(f"/backoffice/support/{ticket.pk}/", {
        "action": "reply", "body": "It was sent today.", "attachment": png_upload()})
    assert response.status_code == 302
    told = _told(desk.alpha, desk.client, "support.reply")
    assert len(told) == 1 and told[0].link == f"/support/{ticket.pk}/" and ticket.number in told[0].title
    with tenant_context(desk.alpha):
        ticket.refresh_from_db()
        assert ticket.status == states.WAITING and ticket.first_response_at is not None
        assert TicketMessage.objects.get(ticket=ticket, author=desk.support).attachments.count() == 1


def test_an_internal_note_notifies_no_client_and_does_not_count_as_first_response(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
    response = http(desk.support, desk.alpha).post(f"/backoffice/support/{ticket.pk}/", {
        "action": "reply", "body": "Looks like fraud", "internal": "on"})
    assert response.status_code == 302
    assert _told(desk.alpha, desk.client, "support.reply") == []
    with tenant_context(desk.alpha):
        ticket.refresh_from_db()
        assert ticket.first_response_at is None and ticket.status == states.NEW
        assert TicketMessage.objects.get(ticket=ticket, internal=True).body == "Looks like fraud"


def test_a_status_change_notifies_the_client_and_a_client_reply_notifies_the_assignee(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
    staff = http(desk.manager, desk.alpha)
    assert staff.post(f"/backoffice/support/{ticket.pk}/", {"action": "assign",
                                                            "assignee": desk.support.pk}).status_code == 302
    assert len(_told(desk.alpha, desk.support, "support.assigned")) == 1
    assert staff.post(f"/backoffice/support/{ticket.pk}/", {"action": "status", "status": "resolved"}).status_code == 302
    status = _told(desk.alpha, desk.client, "support.status")
    assert len(status) == 1 and "Resolved" in status[0].title
    http(desk.client, desk.alpha).post(f"/support/{ticket.pk}/reply/", {"body": "Not yet fixed"})
    replied = _told(desk.alpha, desk.support, "support.client_reply")
    assert len(replied) == 1 and replied[0].link == f"/backoffice/support/{ticket.pk}/"


def test_an_illegal_status_from_the_back_office_is_a_400_with_the_reason_and_changes_nothing(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        services.ticket_transition(ticket=ticket, to=states.CLOSED, actor=desk.support)
    response = http(desk.support, desk.alpha).post(f"/backoffice/support/{ticket.pk}/",
                                                   {"action": "status", "status": "resolved"})
    assert response.status_code == 400 and "cannot become Resolved" in response.content.decode()
    for bad in ({"action": "status", "status": "bogus"}, {"action": "nope"}, {},
                {"action": "assign", "assignee": "abc"}, {"action": "update", "severity": "critical!"}):
        assert http(desk.support, desk.alpha).post(f"/backoffice/support/{ticket.pk}/", bad).status_code == 400
    with tenant_context(desk.alpha):
        ticket.refresh_from_db()
        assert ticket.status == states.CLOSED and ticket.severity == "normal"


def test_sales_reads_only_its_own_clients_tickets_and_cannot_reply(desk, http):
    with tenant_context(desk.alpha):
        own = services.ticket_open(client=desk.client, subject="Owned by sales", body="b")
        other = services.ticket_open(client=desk.other_client, subject="Someone else's", body="b")
    sales = http(desk.sales, desk.alpha)
    html = sales.get("/backoffice/support/").content.decode()
    assert "Owned by sales" in html and "Someone else&#x27;s" not in html and "Someone else's" not in html
    assert sales.get(f"/backoffice/support/{own.pk}/").status_code == 200
    assert sales.get(f"/backoffice/support/{other.pk}/").status_code == 404
    assert sales.post(f"/backoffice/support/{own.pk}/", {"action": "reply", "body": "hi"}).status_code == 403
    with tenant_context(desk.alpha):
        assert own.messages.count() == 1


def test_the_list_filters_by_status_severity_assignee_text_and_breached_sla(desk, http):
    with tenant_context(desk.alpha):
        late = services.ticket_open(client=desk.client, subject="Late one", body="b", severity="urgent")
        Ticket.objects.filter(pk=late.pk).update(sla_due_at=timezone.now() - timedelta(hours=1))
        services.ticket_open(client=desk.other_client, subject="Calm one", body="b", severity="low")
        done = services.ticket_open(client=desk.other_client, subject="Done one", body="b")
        services.ticket_transition(ticket=done, to=states.RESOLVED, actor=desk.support)
        services.ticket_assign(ticket=late, staff=desk.support, assignee=desk.support)
    web = http(desk.support, desk.alpha)

    def subjects(query):
        html = web.get("/backoffice/support/" + query).content.decode()
        return {s for s in ("Late one", "Calm one", "Done one") if s in html}

    assert subjects("") == {"Late one", "Calm one"}
    assert subjects("?status=resolved") == {"Done one"}
    assert subjects("?severity=urgent") == {"Late one"}
    assert subjects("?assignee=me") == {"Late one"}
    assert subjects("?assignee=none") == {"Calm one"}
    assert subjects("?breached=1") == {"Late one"}
    assert subjects(f"?q={late.number}") == {"Late one"}
    assert subjects("?q=calm") == {"Calm one"}
    html = web.get("/backoffice/support/").content.decode()
    assert 'data-role="breached"' in html


def test_the_staff_list_reads_in_a_bounded_number_of_queries_with_1_and_200_tickets(desk, http,
                                                                                  django_assert_max_num_queries):
    web = http(desk.manager, desk.alpha)
    with tenant_context(desk.alpha):
        services.ticket_open(client=desk.client, subject="first", body="b")
    web.get("/backoffice/support/")  # warm per-process caches so both runs count the same work
    with django_assert_max_num_queries(25) as one_run:
        one = web.get("/backoffice/support/?status=new")
    with tenant_context(desk.alpha):
        now = timezone.now()
        Ticket.objects.bulk_create([Ticket(client=desk.client if i % 2 else desk.other_client, subject=f"bulk {i}",
                                           assignee=desk.support, sla_due_at=now - timedelta(minutes=i))
                                    for i in range(199)])
    with django_assert_max_num_queries(25) as many_run:
        many = web.get("/backoffice/support/?status=new")
    assert one.status_code == many.status_code == 200
    assert one.content.decode().count('data-ticket="T-') == 1
    assert many.content.decode().count('data-ticket="T-') == 50  # one page
    assert len(many_run.captured_queries) == len(one_run.captured_queries)


def test_a_ticket_page_reads_in_a_bounded_number_of_queries_however_long_the_thread(desk, http,
                                                                                  django_assert_max_num_queries):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="long", body="b")
    staff, client = http(desk.support, desk.alpha), http(desk.client, desk.alpha)
    staff.get(f"/backoffice/support/{ticket.pk}/"), client.get(f"/support/{ticket.pk}/")  # warm caches
    with django_assert_max_num_queries(25) as staff_short:
        staff.get(f"/backoffice/support/{ticket.pk}/")
    with django_assert_max_num_queries(18) as client_short:
        client.get(f"/support/{ticket.pk}/")
    with tenant_context(desk.alpha):
        TicketMessage.objects.bulk_create([TicketMessage(ticket=ticket, author=desk.support, author_kind="staff",
                                                         body=f"m{i}", internal=bool(i % 2)) for i in range(60)])
    with django_assert_max_num_queries(25) as staff_long:
        assert "m59" in staff.get(f"/backoffice/support/{ticket.pk}/").content.decode()
    with django_assert_max_num_queries(18) as client_long:
        assert "m58" in client.get(f"/support/{ticket.pk}/").content.decode()
    assert len(staff_long.captured_queries) == len(staff_short.captured_queries)
    assert len(client_long.captured_queries) == len(client_short.captured_queries)
