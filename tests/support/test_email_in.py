"""E-mail in, through the management command and the signed endpoint: replies thread onto their ticket (subject
number or In-Reply-To), a known client's e-mail opens a ticket, an unknown sender's is flagged unverified, and
anything garbled or carrying a refused attachment is a clear error that creates nothing."""
from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from tenant_apps.support import services, states
from tenant_apps.support.email_in import email_ingest, inbound_secret, inbound_signature
from tenant_apps.support.errors import InboundEmailError
from tenant_apps.support.models import Ticket, TicketAttachment, TicketMessage
from tests.support.conftest import png_bytes, raw_email


def _counts():
    return Ticket.objects.count(), TicketMessage.objects.count(), TicketAttachment.objects.count()


def test_a_reply_naming_the_ticket_in_its_subject_is_appended_and_reopens_it(desk):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="Pending withdrawal", body="b")
        services.staff_reply(ticket=ticket, staff=desk.support, body="Need your IBAN")
        outcome = email_ingest(raw_email(sender="Carla.Client@example.test",
                                         subject=f"Re: [{ticket.number}] Pending withdrawal",
                                         body="My IBAN is CY17...\n\nOn Mon, 1 Jan 2026 support wrote:\n> Need your IBAN"))
        assert outcome.result == "reply" and outcome.ticket.pk == ticket.pk
        assert outcome.message.body == "My IBAN is CY17..." and outcome.message.via_email
        ticket.refresh_from_db()
        assert ticket.status == states.OPEN


def test_a_reply_threaded_only_by_in_reply_to_finds_its_ticket(desk):
    with tenant_context(desk.alpha):
        first = email_ingest(raw_email(sender="carla.client@example.test", subject="Help with MT5",
                                       message_id="<first@mail.example>"))
        assert first.result == "new" and first.ticket.source == "email" and first.ticket.client_id == desk.client.pk
        second = email_ingest(raw_email(sender="carla.client@example.test", subject="Re: Help with MT5",
                                        message_id="<second@mail.example>", in_reply_to="<first@mail.example>",
                                        body="Also my password"))
        assert second.result == "reply" and second.ticket.pk == first.ticket.pk
        assert first.ticket.messages.count() == 2


def test_the_same_email_delivered_twice_is_stored_once(desk):
    raw = raw_email(sender="carla.client@example.test", subject="Once", message_id="<dup@mail.example>")
    with tenant_context(desk.alpha):
        first = email_ingest(raw)
        again = email_ingest(raw)
        assert again.result == "duplicate" and again.ticket.pk == first.ticket.pk
        assert Ticket.objects.filter(subject="Once").count() == 1 and first.ticket.messages.count() == 1


def test_an_unknown_sender_opens_an_unverified_ticket_that_notifies_nobody(desk):
    from tenant_apps.notifications.models import Notification

    with tenant_context(desk.alpha):
        before = Notification.objects.count()
        outcome = email_ingest(raw_email(sender="stranger@spam.example", subject="Partnership offer"))
        assert outcome.result == "unverified"
        ticket = outcome.ticket
        assert ticket.client_id is None and ticket.unverified and ticket.from_email == "stranger@spam.example"
        assert Notification.objects.count() == before
        with pytest.raises(services.SupportError):  # nothing is ever sent to an unverified address
            services.staff_reply(ticket=ticket, staff=desk.support, body="hello")
        services.staff_reply(ticket=ticket, staff=desk.support, body="spam, closing", internal=True)


def test_a_stranger_quoting_a_ticket_number_does_not_write_into_that_ticket(desk):
    with tenant_context(desk.alpha):
        ticket = services.ticket_open(client=desk.client, subject="Mine", body="b")
        outcome = email_ingest(raw_email(sender="otto.other@example.test", subject=f"[{ticket.number}] hijack"))
        assert outcome.result == "new" and outcome.ticket.pk != ticket.pk
        assert outcome.ticket.client_id == desk.other_client.pk and ticket.messages.count() == 1


def test_an_image_attachment_is_kept_through_the_kyc_checks(desk):
    with tenant_context(desk.alpha):
        outcome = email_ingest(raw_email(sender="carla.client@example.test", subject="Screenshot",
                                         attachments=[("screen.png", png_bytes(), "image/png")]))
        attachment = TicketAttachment.objects.get(message=outcome.message)
        assert attachment.content_type == "image/jpeg" and attachment.size > 0


@pytest.mark.parametrize(("raw", "code"), [
    (b"", "email_empty"),
    (b"\x00\xff\xfe garbage without any header \x00", "email_no_sender"),
    (b"Subject: no sender\r\n\r\nhello", "email_no_sender"),
    (b"From: someone@example.test\r\nSubject: empty\r\n\r\n", "email_no_body"),
    (raw_email(sender="carla.client@example.test", subject="Invoice",
               attachments=[("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 64, "application/pdf")]), "email_refused"),
    (raw_email(sender="carla.client@example.test", subject="Archive",
               attachments=[("docs.zip", b"PK\x03\x04" + b"\x00" * 64, "application/zip")]), "email_refused"),
])
def test_a_bad_or_garbled_email_is_refused_with_a_clear_error_and_creates_nothing(desk, raw, code):
    with tenant_context(desk.alpha):
        before = _counts()
        with pytest.raises(InboundEmailError) as refused:
            email_ingest(raw)
        assert refused.value.code == code and refused.value.message
        assert _counts() == before


def test_the_management_command_reads_stdin_and_reports_the_ticket(desk, monkeypatch):
    raw = raw_email(sender="carla.client@example.test", subject="By command", message_id="<cmd@mail.example>")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    out = io.StringIO()
    call_command("ingest_support_email", desk.alpha.schema_name, stdout=out)
    with tenant_context(desk.alpha):
        ticket = Ticket.objects.get(subject="By command")
    assert out.getvalue().startswith(f"new {ticket.number} message ")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Subject: x\r\n\r\nno sender")))
    with pytest.raises(CommandError, match="email_no_sender"):
        call_command("ingest_support_email", desk.alpha.schema_name, stdout=io.StringIO())
    with pytest.raises(CommandError, match="No brokerage"):
        call_command("ingest_support_email", "nope", stdout=io.StringIO())


def _post(web, body: bytes, signature: str):
    return web.post("/support/inbound-email/", data=body, content_type="message/rfc822",
                    HTTP_X_SUPPORT_SIGNATURE=signature)


def test_the_endpoint_accepts_a_signed_email_and_refuses_a_bad_or_foreign_signature(desk, tenant_client):
    web = tenant_client(desk.alpha)
    raw = raw_email(sender="carla.client@example.test", subject="Via endpoint", message_id="<ep@mail.example>")
    with tenant_context(desk.alpha):
        alpha_secret = inbound_secret()
    with tenant_context(desk.beta):
        beta_secret = inbound_secret()
    assert alpha_secret != beta_secret
    assert _post(web, raw, "").status_code == 403
    assert _post(web, raw, inbound_signature(raw, secret=beta_secret)).status_code == 403  # beta's key at alpha
    assert _post(web, raw, inbound_signature(raw, secret=alpha_secret, timestamp=1_000_000)).status_code == 403
    with tenant_context(desk.alpha):
        assert not Ticket.objects.filter(subject="Via endpoint").exists()
    response = _post(web, raw, inbound_signature(raw, secret=alpha_secret))
    assert response.status_code == 201
    with tenant_context(desk.alpha):
        ticket = Ticket.objects.get(subject="Via endpoint")
    assert response.json() == {"result": "new", "ticket": ticket.number, "message": ticket.messages.get().pk}
    assert _post(web, raw, inbound_signature(raw, secret=alpha_secret)).status_code == 200  # a redelivery
    garbled = b"Subject: nothing\r\n\r\n"
    bad = _post(web, garbled, inbound_signature(garbled, secret=alpha_secret))
    assert bad.status_code == 400 and bad.json()["code"] == "email_no_sender"
