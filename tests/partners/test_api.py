"""The staff API runs the same services: Sales requests (the effective moment without an offset is the brokerage's
wall clock, with one it is that moment), the requester cannot decide, a manager approves; errors are typed."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django_tenants.utils import tenant_context


def _next_month_14th(zone: ZoneInfo) -> datetime:
    today = datetime.now(zone)
    return (today.replace(day=1) + timedelta(days=32)).replace(day=14, hour=0, minute=0, second=0, microsecond=0,
                                                                 tzinfo=None)


def test_sales_requests_over_the_api_and_a_manager_approves_there(programme, tenant_client):
    alpha = programme["brokerage"]
    local = _next_month_14th(ZoneInfo(alpha.timezone))
    sales = tenant_client(alpha, programme["sales"].email)
    body = {"client_id": programme["client"].pk, "to_partner_id": programme["ib_b"].pk,
            "effective_at": local.strftime("%Y-%m-%dT%H:%M"), "reason": "Client's e-mail of today"}
    bad = sales.post("/api/v1/partners/reassignments/", {**body, "effective_at": "next tuesday"},
                     content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
    made = sales.post("/api/v1/partners/reassignments/", body, content_type="application/json")
    assert made.status_code == 201, made.content
    req = made.json()
    expected = local.replace(tzinfo=ZoneInfo(alpha.timezone)).astimezone(UTC)
    assert datetime.fromisoformat(req["effective_at"]) == expected and req["from_partner"] == "alpha-ib-a"
    again = sales.post("/api/v1/partners/reassignments/", body, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"  # one pending request at a time
    assert sales.post(f"/api/v1/partners/reassignments/{req['id']}/decide/", {"decision": "approve"},
                      content_type="application/json").status_code == 403
    manager = tenant_client(alpha, programme["manager"].email)
    done = manager.post(f"/api/v1/partners/reassignments/{req['id']}/decide/", {"decision": "approve"},
                        content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "approved"
    history = manager.get(f"/api/v1/partners/clients/{programme['client'].pk}/").json()
    assert [(h["partner"], h["valid_to"] is None) for h in history] == [("alpha-ib-a", False), ("alpha-ib-b", True)]
    listed = {p["code"]: p for p in manager.get("/api/v1/partners/").json()}
    assert listed["alpha-ib-b"]["parent"] == "alpha-master-b" and listed["alpha-master-a"]["parent"] is None


def test_an_offset_in_the_effective_moment_is_kept_and_the_requester_gets_a_typed_refusal(programme, tenant_client):
    from tenant_apps.partners.models import ReassignmentRequest

    alpha = programme["brokerage"]
    local = _next_month_14th(ZoneInfo("UTC"))
    manager = tenant_client(alpha, programme["manager"].email)
    made = manager.post("/api/v1/partners/reassignments/", {
        "client_id": programme["client"].pk, "to_partner_id": programme["ib_b"].pk,
        "effective_at": local.strftime("%Y-%m-%dT%H:%M") + "+00:00", "reason": "x"}, content_type="application/json")
    assert made.status_code == 201
    with tenant_context(alpha):
        assert ReassignmentRequest.objects.get().effective_at == local.replace(tzinfo=UTC)
    own = manager.post(f"/api/v1/partners/reassignments/{made.json()['id']}/decide/", {"decision": "approve"},
                       content_type="application/json")
    assert own.status_code == 403 and own.json()["code"] == "maker_checker"
