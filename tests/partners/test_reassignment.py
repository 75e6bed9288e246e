"""Scenario 13's reassignment: requested by Sales, approved by another person (a manager), effective at midnight
in the brokerage's timezone (not UTC); the old interval closes and the new one opens at that moment, atomically,
audited, and the commission hook runs after commit. Back-dating limit, maker ≠ checker, cycles refused."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import tenant_context

from tests.partners.conftest import START, make_ib

NOV_10 = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)  # "now" when the request is made
NOV_11 = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)   # "now" when it is approved


@pytest.fixture
def hook_calls():
    from tenant_apps.partners import services

    calls = []

    def hook(**kwargs):
        calls.append(kwargs)

    services.register_reassignment_approved_hook(hook)
    yield calls
    services._REASSIGNMENT_APPROVED_HOOKS.remove(hook)


def test_scenario_13_midnight_of_the_14th_in_nicosia_splits_a_and_b_and_each_upline(
        programme, hook_calls, django_capture_on_commit_callbacks):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.partners.models import ClientAssignment
    from tenant_apps.partners.selectors import partner_for_client_at, upline_at
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    p = programme
    with tenant_context(p["brokerage"]):  # Alpha: Asia/Nicosia, UTC+2 in November
        req = reassignment_request_create(actor=p["sales"], client_id=p["client"].pk, to_partner_id=p["ib_b"].pk,
                                          effective_at=datetime(2026, 11, 14, 0, 0), reason="Client asked to move to B",
                                          now=NOV_10)
        moment = datetime(2026, 11, 13, 22, 0, tzinfo=UTC)
        assert req.effective_at == moment and req.from_partner == p["ib_a"] and req.mode == "future_only"
        assert partner_for_client_at(p["client"].pk, moment) == p["ib_a"]  # nothing changes before approval
        with django_capture_on_commit_callbacks(execute=True):
            reassignment_approve(request_id=req.pk, actor=p["manager"], note="checked the e-mail", now=NOV_11)
        before, after = moment - timedelta(microseconds=1), moment
        assert partner_for_client_at(p["client"].pk, before) == p["ib_a"]
        assert partner_for_client_at(p["client"].pk, after) == p["ib_b"]
        # trades of the 13th local (until 21:59:59Z) are A's; 22:00Z on the 13th is already the 14th in Nicosia
        assert partner_for_client_at(p["client"].pk, datetime(2026, 11, 13, 21, 30, tzinfo=UTC)) == p["ib_a"]
        assert partner_for_client_at(p["client"].pk, datetime(2026, 11, 13, 22, 30, tzinfo=UTC)) == p["ib_b"]
        # multi-tier overrides go up each IB's own tree
        assert upline_at(p["ib_a"].pk, before) == [p["master_a"]]
        assert upline_at(p["ib_b"].pk, after) == [p["master_b"]]
        # history kept: the old interval closed at the moment, the new one opened there by this request
        rows = list(ClientAssignment.objects.filter(client=p["client"]).order_by("valid_from"))
        assert [(r.partner, r.valid_from, r.valid_to) for r in rows] == [(p["ib_a"], START, moment),
                                                                        (p["ib_b"], moment, None)]
        assert rows[1].request == req and rows[1].source == "reassignment"
        req.refresh_from_db()
        assert (req.status, req.requested_by, req.decided_by) == ("approved", p["sales"], p["manager"])
        entries = {e.action: e for e in AuditEntry.objects.filter(object_type="partners.reassignmentrequest",
                                                                  object_id=str(req.pk))}
        assert entries["partners.reassignment_requested"].actor_id == p["sales"].pk
        assert entries["partners.reassignment_approved"].actor_id == p["manager"].pk
    assert hook_calls == [{"request_id": req.pk, "client_id": p["client"].pk, "effective_at": moment,
                           "mode": "future_only"}]


@pytest.mark.parametrize(("slug", "utc_moment"), [("alpha", datetime(2026, 11, 30, 22, 0, tzinfo=UTC)),
                                                  ("beta", datetime(2026, 11, 30, 20, 0, tzinfo=UTC))])
def test_a_reassignment_at_the_midnight_that_ends_the_month_uses_the_brokerages_own_midnight(
        slug, utc_moment, request):
    from tenant_apps.partners.selectors import partner_for_client_at
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    p = request.getfixturevalue("programme" if slug == "alpha" else "beta_programme")
    with tenant_context(p["brokerage"]):  # alpha: Nicosia (UTC+2), beta: Dubai (UTC+4)
        req = reassignment_request_create(actor=p["sales"], client_id=p["client"].pk, to_partner_id=p["ib_b"].pk,
                                          effective_at=datetime(2026, 12, 1, 0, 0), reason="From December",
                                          now=NOV_10)
        reassignment_approve(request_id=req.pk, actor=p["manager"], now=NOV_11)
        assert req.effective_at == utc_moment
        zone = ZoneInfo(p["brokerage"].timezone)
        assert utc_moment.astimezone(zone).replace(tzinfo=None) == datetime(2026, 12, 1, 0, 0)
        # the last trade of November (local) is A's; a trade at 23:00Z on Nov 30 is December locally: B's
        assert partner_for_client_at(p["client"].pk, utc_moment - timedelta(seconds=1)) == p["ib_a"]
        assert partner_for_client_at(p["client"].pk, datetime(2026, 11, 30, 23, 0, tzinfo=UTC)) == p["ib_b"]


def test_back_dating_needs_an_explicit_choice_and_stays_within_the_brokerages_limit(programme):
    from tenant_apps.partners.errors import BackdateTooFar, PartnersError
    from tenant_apps.partners.models import ReassignmentRequest
    from tenant_apps.partners.services import partner_policy_update, reassignment_request_create

    p = programme
    with tenant_context(p["brokerage"]):
        kwargs = {"actor": p["sales"], "client_id": p["client"].pk, "to_partner_id": p["ib_b"].pk,
                  "reason": "Dispute settled", "now": NOV_10}
        with pytest.raises(PartnersError, match="explicit choice") as exc:
            reassignment_request_create(effective_at=datetime(2026, 11, 3, 0, 0), **kwargs)
        assert exc.value.code == "mode_required"
        with pytest.raises(BackdateTooFar, match="at most 31 days"):
            reassignment_request_create(effective_at=datetime(2026, 10, 5, 0, 0), mode="recalculate", **kwargs)
        partner_policy_update(actor=p["manager"], backdate_limit_days=3, show_client_contacts=False,
                              applications_open=True)
        with pytest.raises(BackdateTooFar, match="at most 3 days"):
            reassignment_request_create(effective_at=datetime(2026, 11, 3, 0, 0), mode="recalculate", **kwargs)
        assert not ReassignmentRequest.objects.exists()
        req = reassignment_request_create(effective_at=datetime(2026, 11, 8, 0, 0), mode="recalculate", **kwargs)
        assert req.mode == "recalculate" and req.effective_at == datetime(2026, 11, 7, 22, 0, tzinfo=UTC)


def test_the_requester_cannot_approve_and_sales_cannot_approve_at_all(programme):
    from tenant_apps.identity.permissions import PermissionDeniedError
    from tenant_apps.partners.errors import MakerChecker
    from tenant_apps.partners.models import ClientAssignment
    from tenant_apps.partners.services import (
        reassignment_approve,
        reassignment_reject,
        reassignment_request_create,
    )

    p = programme
    with tenant_context(p["brokerage"]):
        req = reassignment_request_create(actor=p["manager"], client_id=p["client"].pk, to_partner_id=p["ib_b"].pk,
                                          effective_at=datetime(2026, 11, 14), reason="move", now=NOV_10)
        with pytest.raises(MakerChecker):
            reassignment_approve(request_id=req.pk, actor=p["manager"], now=NOV_11)
        with pytest.raises(PermissionDeniedError):
            reassignment_approve(request_id=req.pk, actor=p["sales"], now=NOV_11)
        with pytest.raises(MakerChecker):
            reassignment_reject(request_id=req.pk, actor=p["manager"], note="no")
        req.refresh_from_db()
        assert req.status == "pending" and ClientAssignment.objects.filter(client=p["client"]).count() == 1
        rejected = reassignment_reject(request_id=req.pk, actor=p["manager2"], note="No evidence from the client")
        assert rejected.status == "rejected" and rejected.decided_by == p["manager2"]
        assert ClientAssignment.objects.filter(client=p["client"]).count() == 1


def test_rejection_needs_a_note_and_a_decided_request_cannot_be_decided_again(programme):
    from tenant_apps.partners.errors import InvalidState, PartnersError
    from tenant_apps.partners.services import (
        reassignment_approve,
        reassignment_reject,
        reassignment_request_create,
    )

    p = programme
    with tenant_context(p["brokerage"]):
        req = reassignment_request_create(actor=p["sales"], client_id=p["client"].pk, to_partner_id=p["ib_b"].pk,
                                          effective_at=datetime(2026, 11, 14), reason="move", now=NOV_10)
        with pytest.raises(PartnersError, match="Say why"):
            reassignment_reject(request_id=req.pk, actor=p["manager"], note="  ")
        reassignment_approve(request_id=req.pk, actor=p["manager"], now=NOV_11)
        with pytest.raises(InvalidState):
            reassignment_approve(request_id=req.pk, actor=p["manager2"], now=NOV_11)
        with pytest.raises(InvalidState):
            reassignment_reject(request_id=req.pk, actor=p["manager2"], note="too late")


def test_a_change_before_a_later_recorded_change_is_refused_and_nothing_is_written(programme):
    from tenant_apps.partners.errors import InvalidState
    from tenant_apps.partners.models import ClientAssignment
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    p = programme
    with tenant_context(p["brokerage"]):
        first = reassignment_request_create(actor=p["sales"], client_id=p["client"].pk, to_partner_id=p["ib_b"].pk,
                                            effective_at=datetime(2026, 11, 20), reason="move", now=NOV_10)
        reassignment_approve(request_id=first.pk, actor=p["manager"], now=NOV_11)
        late = reassignment_request_create(actor=p["sales"], client_id=p["client"].pk, to_partner_id=p["master_a"].pk,
                                           effective_at=datetime(2026, 11, 15), reason="earlier move", now=NOV_11)
        with pytest.raises(InvalidState, match="later change"):
            reassignment_approve(request_id=late.pk, actor=p["manager"], now=NOV_11)
        assert ClientAssignment.objects.filter(client=p["client"]).count() == 2
        late.refresh_from_db()
        assert late.status == "pending"


def test_an_ib_cannot_be_put_under_its_own_sub_ib_nor_under_itself(programme):
    from tenant_apps.partners.errors import CycleRefused
    from tenant_apps.partners.models import ReassignmentRequest
    from tenant_apps.partners.services import reassignment_request_create

    p = programme
    with tenant_context(p["brokerage"]):
        sub = make_ib("alpha-sub-of-a", parent=p["ib_a"])
        for new_parent in (sub, p["ib_a"], p["master_a"]):  # master_a under its grandchild, child, itself
            with pytest.raises(CycleRefused):
                reassignment_request_create(actor=p["sales"], subject_partner_id=p["master_a"].pk,
                                            to_partner_id=new_parent.pk, effective_at=datetime(2026, 11, 14),
                                            reason="restructure", now=NOV_10)
        assert not ReassignmentRequest.objects.exists()


def test_a_parent_ib_change_is_approved_the_same_way_and_moves_the_whole_subtree(programme):
    from tenant_apps.partners.models import PartnerLink
    from tenant_apps.partners.selectors import upline_at
    from tenant_apps.partners.services import reassignment_approve, reassignment_request_create

    p = programme
    with tenant_context(p["brokerage"]):
        sub = make_ib("alpha-sub-a2", parent=p["ib_a"])
        req = reassignment_request_create(actor=p["sales"], subject_partner_id=p["ib_a"].pk,
                                          to_partner_id=p["master_b"].pk, effective_at=datetime(2026, 11, 14),
                                          reason="IB A joined master B's network", now=NOV_10)
        assert req.kind == "parent" and req.from_partner == p["master_a"]
        reassignment_approve(request_id=req.pk, actor=p["manager"], now=NOV_11)
        moment = datetime(2026, 11, 13, 22, 0, tzinfo=UTC)
        assert upline_at(sub.pk, moment - timedelta(seconds=1)) == [p["ib_a"], p["master_a"]]
        assert upline_at(sub.pk, moment) == [p["ib_a"], p["master_b"]]
        assert PartnerLink.objects.filter(partner=p["ib_a"]).count() == 2  # history kept


def test_sales_requests_in_the_back_office_and_a_manager_approves_there(programme, tenant_client):
    from tenant_apps.partners.models import ReassignmentRequest
    from tenant_apps.partners.selectors import partner_for_client_at

    p = programme
    alpha = p["brokerage"]
    zone = ZoneInfo(alpha.timezone)
    today = datetime.now(zone)
    first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=14, hour=0, minute=0, second=0, microsecond=0)
    sales = tenant_client(alpha, p["sales"].email)
    form = {"kind": "client", "client": p["client"].email, "to_partner": p["ib_b"].code,
            "effective_local": first_next.strftime("%Y-%m-%dT%H:%M"), "mode": "", "reason": "Client's written request"}
    assert sales.post("/backoffice/partners/reassignments/", {**form, "to_partner": "nope"}).status_code == 400
    response = sales.post("/backoffice/partners/reassignments/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(alpha):
        req = ReassignmentRequest.objects.get()
    assert req.effective_at == first_next.astimezone(UTC)
    page = sales.get("/backoffice/partners/reassignments/").content.decode()
    assert f'data-request="{req.pk}"' in page and "Another manager approves." in page
    assert sales.post(f"/backoffice/partners/reassignments/{req.pk}/", {"action": "approve"}).status_code == 403
    manager = tenant_client(alpha, p["manager"].email)
    assert manager.post(f"/backoffice/partners/reassignments/{req.pk}/", {"action": "approve"}).status_code == 302
    with tenant_context(alpha):
        req.refresh_from_db()
        assert req.status == "approved" and req.decided_by == p["manager"]
        assert partner_for_client_at(p["client"].pk, req.effective_at) == p["ib_b"]
    history = manager.get(f"/backoffice/partners/clients/{p['client'].pk}/").content.decode()
    assert "Client&#x27;s written request" in history and p["sales"].email in history and p["manager"].email in history
