"""Support fixtures: on alpha a client owned by Sales, a second client, Support/Sales/Manager staff enrolled in
two-factor; on beta a client with a ticket (for isolation). Plus real files for attachments and raw e-mails."""
from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from tests.conftest import PASSWORD, host_of, mfa_enrol


@dataclass
class Desk:
    alpha: object
    beta: object
    client: object
    other_client: object
    support: object
    sales: object
    manager: object
    beta_client: object
    beta_ticket: object


def png_bytes(colour=(30, 120, 200)) -> bytes:
    out = BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


def png_upload(name="screenshot.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def exe_upload(name="invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"MZ\x90\x00" + b"\x00" * 200, content_type="application/pdf")


def raw_email(*, sender: str, subject: str, body: str = "Hello, my withdrawal is still pending.",
              message_id: str = "<m1@mail.example>", in_reply_to: str = "",
              attachments: list[tuple[str, bytes, str]] = ()) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Someone <{sender}>"
    msg["To"] = "support@alpha.test"
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


@pytest.fixture
def desk(db, tenants) -> Desk:
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.identity.models import User, UserKind
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.support import services

    alpha, beta = tenants["alpha"], tenants["beta"]
    with tenant_context(alpha):
        client = User.objects.create_user(email="carla.client@example.test", password=PASSWORD, kind=UserKind.CLIENT,
                                          full_name="Carla Client")
        other = User.objects.create_user(email="otto.other@example.test", password=PASSWORD, kind=UserKind.CLIENT,
                                         full_name="Otto Other")
        support = staff_user_create(email="sam.support@alpha.test", full_name="Sam Support", password=PASSWORD,
                                    role_codes=["support"])[0]
        sales = staff_user_create(email="sally.sales@alpha.test", full_name="Sally Sales", password=PASSWORD,
                                  role_codes=["sales"])[0]
        manager = staff_user_create(email="max.manager@alpha.test", full_name="Max Manager", password=PASSWORD,
                                    role_codes=["manager"])[0]
        ClientRecord.objects.create(user=client, owner=sales, country="CY")
        ClientRecord.objects.create(user=other, country="ES")
    for user in (support, manager):
        mfa_enrol(alpha, user.email)
    with tenant_context(beta):
        beta_client = User.objects.create_user(email="bea.beta@example.test", password=PASSWORD,
                                               kind=UserKind.CLIENT)
        beta_ticket = services.ticket_open(client=beta_client, subject="Beta secret subject", body="beta body",
                                           category="deposit")
    return Desk(alpha, beta, client, other, support, sales, manager, beta_client, beta_ticket)


@pytest.fixture
def http(tenant_client):
    """http(desk_user, brokerage) → a Client on the brokerage's host signed in as that user."""
    from django.test import Client

    def make(user, brokerage) -> Client:
        client = Client(HTTP_HOST=host_of(brokerage))
        with tenant_context(brokerage):
            client.force_login(user)
        return client

    return make
