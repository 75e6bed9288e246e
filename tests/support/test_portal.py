"""The Trader's Room side: open a ticket (with inline errors, attachments checked like KYC documents), the thread
(internal notes never in the HTML), reply, close, and nothing of another client's or another brokerage's."""
from __future__ import annotations

from django_tenants.utils import tenant_context

from tenant_apps.support import services, states
from tenant_apps.support.models import Ticket, TicketAttachment, TicketMessage
from tests.support.conftest import exe_upload, png_upload


def test_a_client_opens_a_ticket_with_a_photo_and_sees_it_in_their_list(desk, http):
    web = http(desk.client, desk.alpha)
    response = web.post("/support/new/", {"category": "deposit", "subject": "Card deposit missing",
                                          "body": "I paid 200 USD an hour ago.", "attachment": png_upload()})
    assert response.status_code == 302
    with tenant_context(desk.alpha):
        ticket = Ticket.objects.get(client=desk.client)
        assert response["Location"] == f"/support/{ticket.pk}/"
        assert (ticket.subject, ticket.category, ticket.source) == ("Card deposit missing", "deposit", "portal")
        attachment = TicketAttachment.objects.get(message__ticket=ticket)
        assert attachment.content_type == "image/jpeg"  # re-encoded from pixels, like a KYC photo
        assert attachment.file.name.startswith("support/") and "screenshot" not in attachment.file.name
    page = web.get("/support/").content.decode()
    assert ticket.number in page and "Card deposit missing" in page
    file = web.get(f"/support/attachments/{attachment.pk}/")
    assert file.status_code == 200 and file["X-Content-Type-Options"] == "nosniff"
    assert file["Content-Disposition"] == f'inline; filename="{ticket.number}-{attachment.pk}.jpg"'


def test_an_empty_form_shows_each_problem_next_to_its_field_and_creates_nothing(desk, http):
    response = http(desk.client, desk.alpha).post("/support/new/", {"category": "", "subject": "", "body": ""})
    assert response.status_code == 400
    html = response.content.decode()
    for field in ("category", "subject", "body"):
        assert f'id="id_{field}_error"' in html
    with tenant_context(desk.alpha):
        assert not Ticket.objects.filter(client=desk.client).exists()


def test_a_program_disguised_as_a_pdf_is_refused_with_the_kyc_message_and_nothing_is_stored(desk, http):
    response = http(desk.client, desk.alpha).post("/support/new/", {
        "category": "other", "subject": "See invoice", "body": "attached", "attachment": exe_upload()})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_attachment_error"' in html and "This file is a program, not a document" in html
    with tenant_context(desk.alpha):
        assert not Ticket.objects.filter(client=desk.client).exists()
        assert not TicketAttachment.objects.exists()


def test_a_reply_with_a_bad_attachment_is_refused_and_the_thread_is_unchanged(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
    zip_file = exe_upload("photo.jpg")
    zip_file.file.seek(0)
    zip_file.file.write(b"PK\x03\x04" + b"\x00" * 100)
    zip_file.file.seek(0)
    response = http(desk.client, desk.alpha).post(f"/support/{ticket.pk}/reply/", {"body": "here",
                                                                                  "attachment": zip_file})
    assert response.status_code == 400
    with tenant_context(desk.alpha):
        assert TicketMessage.objects.filter(ticket=ticket).count() == 1


def test_internal_notes_never_reach_the_portal_html_but_replies_do(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="Leverage question", body="Can I get 1:500?")
        services.staff_reply(ticket=ticket, staff=desk.support, internal=True,
                             body="INTERNAL-ONLY: client flagged by compliance, do not promise anything")
        services.staff_reply(ticket=ticket, staff=desk.support, body="The maximum in your country is 1:30.")
        note = TicketMessage.objects.get(ticket=ticket, internal=True)
    web = http(desk.client, desk.alpha)
    html = web.get(f"/support/{ticket.pk}/").content.decode()
    assert "The maximum in your country is 1:30." in html and "Can I get 1:500?" in html
    assert "INTERNAL-ONLY" not in html and "compliance" not in html and f'data-message="{note.pk}"' not in html
    # the staff view shows both, the note marked as such
    staff_html = http(desk.support, desk.alpha).get(f"/backoffice/support/{ticket.pk}/").content.decode()
    assert "INTERNAL-ONLY" in staff_html and f'data-message="{note.pk}" data-internal="true"' in staff_html


def test_an_attachment_on_an_internal_note_is_not_downloadable_by_the_client(desk, http):
    from tests.support.conftest import png_upload as upload

    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        note = services.staff_reply(ticket=ticket, staff=desk.support, internal=True, body="n", uploads=[upload()])
        attachment = note.attachments.get()
    assert http(desk.client, desk.alpha).get(f"/support/attachments/{attachment.pk}/").status_code == 404
    assert http(desk.support, desk.alpha).get(f"/backoffice/support/attachments/{attachment.pk}/").status_code == 200


def test_the_client_replies_and_closes_through_the_portal(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="s", body="b")
        services.staff_reply(ticket=ticket, staff=desk.support, body="Please send a statement.")
    web = http(desk.client, desk.alpha)
    assert web.post(f"/support/{ticket.pk}/reply/", {"body": "Here it is"}).status_code == 302
    with tenant_context(desk.alpha):
        ticket.refresh_from_db()
        assert ticket.status == states.OPEN
    assert web.post(f"/support/{ticket.pk}/reply/", {"body": ""}).status_code == 400
    assert web.post(f"/support/{ticket.pk}/close/").status_code == 302
    with tenant_context(desk.alpha):
        ticket.refresh_from_db()
        assert ticket.status == states.CLOSED
    closed_page = web.get(f"/support/{ticket.pk}/").content.decode()
    assert "A reply within 14 days reopens it" in closed_page and "close the ticket" not in closed_page


def test_another_clients_ticket_is_not_found_and_cannot_be_replied_to(desk, http):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="Mine", body="b")
    other = http(desk.other_client, desk.alpha)
    assert other.get(f"/support/{ticket.pk}/").status_code == 404
    assert other.post(f"/support/{ticket.pk}/reply/", {"body": "intrusion"}).status_code == 404
    assert other.post(f"/support/{ticket.pk}/close/").status_code == 404
    assert "Mine" not in other.get("/support/").content.decode()
    with tenant_context(desk.alpha):
        assert TicketMessage.objects.filter(ticket=ticket).count() == 1


def test_a_beta_ticket_is_invisible_at_alpha_for_clients_and_staff(desk, http):
    beta_pk = desk.beta_ticket.pk
    with tenant_context(desk.alpha):
        alpha_ticket = services.ticket_open(client=desk.client, subject="Alpha one", body="b")
    # same ids may exist in both schemas: look for beta's subject, never for an id alone
    assert "Beta secret subject" not in http(desk.client, desk.alpha).get("/support/").content.decode()
    staff_list = http(desk.manager, desk.alpha).get("/backoffice/support/?status=new").content.decode()
    assert "Beta secret subject" not in staff_list and "Alpha one" in staff_list
    if beta_pk != alpha_ticket.pk:
        assert http(desk.manager, desk.alpha).get(f"/backoffice/support/{beta_pk}/").status_code == 404
    # and beta's client, signed in at beta, sees only beta's ticket
    beta_list = http(desk.beta_client, desk.beta).get("/support/").content.decode()
    assert "Beta secret subject" in beta_list and "Alpha one" not in beta_list


def test_the_client_list_reads_in_a_bounded_number_of_queries_with_1_and_200_tickets(desk, http,
                                                                                   django_assert_max_num_queries):
    web = http(desk.client, desk.alpha)
    with tenant_context(desk.alpha):
        services.ticket_open(client=desk.client, subject="first", body="b")
    web.get("/support/")  # warm the per-process caches (theme, brokerage) so both runs count the same work
    with django_assert_max_num_queries(18) as one_run:
        one = web.get("/support/")
    with tenant_context(desk.alpha):
        Ticket.objects.bulk_create([Ticket(client=desk.client, subject=f"bulk {i}") for i in range(199)])
    with django_assert_max_num_queries(18) as many_run:
        many = web.get("/support/")
    assert one.status_code == many.status_code == 200
    assert many.content.decode().count('data-ticket="T-') == 200
    assert len(many_run.captured_queries) == len(one_run.captured_queries)  # not one query more per ticket
