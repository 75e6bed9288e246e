"""An imported or API lead signs up with the lead's own e-mail address (issue 8, item 3): the sign-up takes the lead
over — the same account and CRM record (owner, team, source, history kept), the password they chose, the country,
language and phone they typed, consents recorded, the stage moving on from "lead" — and the address is verified by
e-mail as for anyone. An address that is a real account (a password, or verified) is never taken over."""
from __future__ import annotations

from django_tenants.utils import tenant_context

from tests.conftest import PASSWORD
from tests.portal.test_registration import signup_data


def _lead(alpha, email: str):
    from tenant_apps.crm.leads import lead_create
    from tenant_apps.identity.services import staff_user_create

    manager = staff_user_create(email=f"leads.manager.{email}", password=PASSWORD, role_codes=["manager"])[0]
    return lead_create(data={"email": email, "name": "Lea Lead", "phone": "+34 600 123 456", "country": "ES",
                             "language": "es", "source": "expo-madrid"}, actor=manager, source="import")


def test_signing_up_with_a_leads_address_takes_the_lead_over(db, tenants, tenant_client, mailoutbox):
    from allauth.account.models import EmailAddress

    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.crm.models import ClientRecord, ConsentRecord
    from tenant_apps.identity.models import User

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        record = _lead(alpha, "lea.lead@example.test")
        lead_id, owner_id, stage_before = record.user_id, record.owner_id, record.stage
        assert stage_before == "lead" and not record.user.has_usable_password()

    # (an address of its own: sign-ups are rate-limited per IP, and other tests sign up from 127.0.0.1)
    response = tenant_client(alpha).post("/accounts/signup/", signup_data("Lea.Lead@example.test", country="CY",
                                                                          language="en", phone="+357 22 123456"),
                                         REMOTE_ADDR="203.0.113.41")
    assert response.status_code == 302, response.content.decode()[:800]
    assert "/accounts/confirm-email/" in response["Location"]
    with tenant_context(alpha):
        users = list(User.objects.filter(email__iexact="lea.lead@example.test"))
        assert [u.pk for u in users] == [lead_id]  # the same account, no second one
        user = users[0]
        assert user.check_password(PASSWORD) and user.language == "en"
        record = ClientRecord.objects.get(user=user)
        assert (record.owner_id, record.lead_source, record.utm_source) == (owner_id, "import", "expo-madrid")
        assert (record.country, record.phone) == ("CY", "+35722123456")
        assert record.stage == "registered"
        assert ConsentRecord.objects.filter(client=user).count() == 2
        assert EmailAddress.objects.get(user=user).verified is False  # still to be proven by the link
        assert AuditEntry.objects.filter(action="crm.lead_signed_up", object_id=str(record.pk)).exists()
    assert any("lea.lead@example.test" in m.to for m in mailoutbox)


def test_a_real_account_is_never_taken_over(db, tenants, tenant_client):
    from tenant_apps.identity.models import User

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        record = _lead(alpha, "taken.lead@example.test")
        record.user.set_password("Their-own-2026!")
        record.user.save()
    response = tenant_client(alpha).post("/accounts/signup/", signup_data("taken.lead@example.test"),
                                         REMOTE_ADDR="203.0.113.42")
    assert response.status_code == 302  # answered like any sign-up (no account enumeration) …
    with tenant_context(alpha):
        user = User.objects.get(email__iexact="taken.lead@example.test")
        assert user.check_password("Their-own-2026!")  # … but the password is the owner's, untouched
        assert User.objects.filter(email__iexact="taken.lead@example.test").count() == 1
