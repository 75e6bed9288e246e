"""Scenario 14 and the IB's side: the application flow (client applies → staff approve → active IB with a code),
sub-IB recruitment, the partner portal (referrals by status, links and QR, sub-IB tree) showing only the IB's own
tree and no contact details unless the brokerage allows them, and two brokerages kept apart."""
from __future__ import annotations

from django_tenants.utils import tenant_context

from tests.partners.conftest import make_client, make_ib


def test_a_client_applies_sales_approves_and_the_client_gets_a_working_partner_portal(programme, tenant_client):
    from tenant_apps.partners.models import Partner, ReferralLink

    alpha = programme["brokerage"]
    with tenant_context(alpha):
        applicant = make_client("wannabe@example.test")
    browser = tenant_client(alpha, applicant.email)
    assert browser.get("/partner/").status_code == 403  # not an IB yet
    assert "Apply to become an IB" in browser.get("/referrals/").content.decode()
    assert browser.post("/referrals/", {"website": "not a web address"}).status_code == 400
    assert browser.post("/referrals/", {"company_name": "FX Academy", "note": "YouTube channel, 20k"}).status_code == 302
    assert browser.post("/referrals/", {"company_name": "again"}).status_code == 400  # already applied
    assert "being reviewed" in browser.get("/referrals/").content.decode()
    with tenant_context(alpha):
        partner = Partner.objects.get(user=applicant)
    assert partner.status == "applied"
    assert browser.get("/partner/").status_code == 403

    sales = tenant_client(alpha, programme["sales"].email)
    listing = sales.get("/backoffice/partners/").content.decode()
    assert f'data-application="{partner.pk}"' in listing and "YouTube channel, 20k" in listing
    assert sales.post(f"/backoffice/partners/{partner.pk}/decide/", {"action": "reject"}).status_code == 302
    with tenant_context(alpha):
        partner.refresh_from_db()
        assert partner.status == "applied"  # a rejection without a note is refused
    assert sales.post(f"/backoffice/partners/{partner.pk}/decide/", {"action": "approve"}).status_code == 302
    with tenant_context(alpha):
        partner.refresh_from_db()
        assert partner.status == "active" and partner.decided_by == programme["sales"] and partner.approved_at
        assert ReferralLink.objects.filter(partner=partner, code=partner.code, kind="client").exists()
    dashboard = browser.get("/partner/")
    assert dashboard.status_code == 200 and f"?ref={partner.code}" in dashboard.content.decode()
    assert b"Alpha Trading" in dashboard.content  # tenant-branded
    qr = browser.get(f"/partner/links/{partner.code}/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    assert browser.get(f"/partner/links/{programme['ib_a'].code}/qr.svg").status_code == 404  # not theirs


def test_a_sub_ib_link_recruits_an_ib_under_its_sponsor_from_approval(programme):
    from django.utils import timezone

    from tenant_apps.partners.selectors import upline_at
    from tenant_apps.partners.services import partner_application_decide, partner_apply, referral_link_create

    with tenant_context(programme["brokerage"]):
        link = referral_link_create(partner=programme["ib_a"], actor=programme["ib_a"].user, kind="sub_ib",
                                    campaign="recruit")
        applicant = make_client("future.sub@example.test")
        applied = partner_apply(user=applicant, note="Telegram group", sponsor_code=link.code)
        sub = partner_application_decide(partner_id=applied.pk, actor=programme["manager"], approve=True)
        assert upline_at(sub.pk, timezone.now()) == [programme["ib_a"], programme["master_a"]]


def test_referrals_by_status_and_only_the_ibs_own_clients(programme, tenant_client, django_assert_max_num_queries):
    from tenant_apps.crm.models import ClientRecord
    from tenant_apps.partners.models import ClientAssignment
    from tests.partners.conftest import START

    alpha = programme["brokerage"]
    ib_a, ib_b = programme["ib_a"], programme["ib_b"]
    with tenant_context(alpha):
        for i, stage in enumerate(["kyc_pending", "kyc_approved", "funded", "active", "active"]):
            c = make_client(f"ref{i}@example.test")
            ClientRecord.objects.filter(user=c).update(stage=stage)
            ClientAssignment.objects.create(client=c, partner=ib_a, valid_from=START, source="staff")
        other = make_client("someone.elses@example.test")
        ClientAssignment.objects.create(client=other, partner=ib_b, valid_from=START, source="staff")
        ib_a_user = ib_a.user
    browser = tenant_client(alpha, ib_a_user.email)
    page = browser.get("/partner/").content.decode()
    # programme's client is "registered"; kyc_pending counts as registered too
    for status, n in (("total", 6), ("registered", 2), ("kyc_approved", 1), ("funded", 1), ("active", 2)):
        assert f'data-status="{status}">{n}<' in page, status
    with django_assert_max_num_queries(12):
        listing = browser.get("/partner/referrals/").content.decode()
    assert "Ref0" in listing and "someone.elses" not in listing.lower()
    assert "ref0@example.test" not in listing and "+35722000000" not in listing  # no contacts by default
    assert browser.get(f"/partner/referrals/{programme['client'].pk}/").status_code == 200
    assert browser.get(f"/partner/referrals/{other.pk}/").status_code == 404  # another IB's client
    trader = browser.get("/referrals/").content.decode()
    assert 'data-status="active">2<' in trader


def test_contact_details_appear_only_when_the_brokerage_enables_them(programme, tenant_client):
    from tenant_apps.partners.services import partner_policy_update

    alpha = programme["brokerage"]
    browser = tenant_client(alpha, programme["ib_a"].user.email)
    client = programme["client"]
    assert client.email not in browser.get(f"/partner/referrals/{client.pk}/").content.decode()
    with tenant_context(alpha):
        partner_policy_update(actor=programme["manager"], backdate_limit_days=31, show_client_contacts=True,
                              applications_open=True)
    assert client.email in browser.get(f"/partner/referrals/{client.pk}/").content.decode()
    assert client.email in browser.get("/partner/referrals/").content.decode()


def test_the_sub_ib_tree_shows_only_the_ibs_own_downline(programme, tenant_client):
    alpha = programme["brokerage"]
    with tenant_context(alpha):
        make_ib("alpha-sub-1", parent=programme["ib_a"])
        make_ib("alpha-sub-other", parent=programme["ib_b"])
    tree = tenant_client(alpha, programme["master_a"].user.email).get("/partner/tree/").content.decode()
    assert 'data-partner="alpha-ib-a"' in tree and 'data-partner="alpha-sub-1"' in tree
    assert "alpha-sub-other" not in tree and "alpha-ib-b" not in tree


def test_two_brokerages_keep_their_ibs_apart(programme, beta_programme, tenant_client):
    from tenant_apps.crm.services import client_register
    from tenant_apps.partners.models import ClientAssignment, Partner

    alpha, beta = programme["brokerage"], beta_programme["brokerage"]
    with tenant_context(beta):
        assert not Partner.objects.filter(code=programme["ib_a"].code).exists()
        newcomer = make_client("newcomer@beta.example.test")
        newcomer.client_record.delete()
        client_register(user=newcomer, country="AE", language="en", phone="", attribution={"ref": programme["ib_a"].code})
        assert not ClientAssignment.objects.filter(client=newcomer).exists()  # alpha's code means nothing in beta
    # beta's IB signed in at beta sees its own referrals only, and its session is nothing on alpha's host
    beta_ib = tenant_client(beta, beta_programme["ib_a"].user.email)
    page = beta_ib.get("/partner/referrals/").content.decode()
    assert "Trader" in page and "Alpha Trading" not in page
    beta_ib.defaults["HTTP_HOST"] = f"alpha.{__import__('django.conf').conf.settings.PLATFORM_DOMAIN}"
    assert beta_ib.get("/partner/").status_code == 302  # to alpha's sign-in
    with tenant_context(alpha):
        assert "beta-" not in " ".join(Partner.objects.values_list("code", flat=True))


def test_back_office_ib_pages_for_staff_with_bounded_queries(programme, tenant_client, django_assert_max_num_queries):
    alpha = programme["brokerage"]
    with tenant_context(alpha):
        for i in range(5):
            make_ib(f"alpha-extra-{i}", parent=programme["master_b"])
    manager = tenant_client(alpha, programme["manager"].email)
    with django_assert_max_num_queries(20):
        listing = manager.get("/backoffice/partners/")
    assert listing.status_code == 200 and 'data-partner="alpha-extra-4" data-depth="1"' in listing.content.decode()
    detail = manager.get(f"/backoffice/partners/{programme['ib_a'].pk}/").content.decode()
    assert f"/backoffice/partners/clients/{programme['client'].pk}/" in detail and "alpha-master-a" in detail
    history = manager.get(f"/backoffice/partners/clients/{programme['client'].pk}/").content.decode()
    assert 'data-role="current">alpha-ib-a<' in history
    sales = tenant_client(alpha, programme["sales"].email)
    assert sales.get("/backoffice/partners/settings/").status_code == 200
    assert sales.post("/backoffice/partners/settings/", {"backdate_limit_days": 1}).status_code == 403


def test_a_visitor_with_a_sub_ib_link_registers_unassigned_and_applies_under_the_sponsor(programme, tenant_client):
    from tenant_apps.identity.models import User
    from tenant_apps.partners.models import ClientAssignment, Partner
    from tenant_apps.partners.services import referral_link_create

    alpha = programme["brokerage"]
    with tenant_context(alpha):
        link = referral_link_create(partner=programme["ib_a"], actor=None, kind="sub_ib", campaign="recruit")
    browser = tenant_client(alpha)
    browser.get(f"/accounts/signup/?ref={link.code}")
    assert browser.post("/accounts/signup/", {
        "email": "recruit@example.test", "password1": "Str0ng-pass-2026!", "password2": "Str0ng-pass-2026!",
        "country": "CY", "language": "en", "phone": "+357 22 123456", "accept_terms": "on",
        "accept_risk": "on"}).status_code == 302
    with tenant_context(alpha):  # signed in the way a verified client is (the attribution cookie stays)
        browser.force_login(User.objects.get(email="recruit@example.test"))
    page = browser.get("/referrals/").content.decode()
    assert f'value="{link.code}"' in page  # the application form carries the sponsor's code
    assert browser.post("/referrals/", {"sponsor_code": link.code, "note": "Forex school"}).status_code == 302
    with tenant_context(alpha):
        user = User.objects.get(email="recruit@example.test")
        assert not ClientAssignment.objects.filter(client=user).exists()  # a sub-IB link refers IBs, not clients
        assert Partner.objects.get(user=user).sponsor == programme["ib_a"]
