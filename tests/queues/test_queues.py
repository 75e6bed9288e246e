"""Work queues: SLA states on frozen times, claim / assign / release with their audit entries, bulk actions that
change only who holds an item, filters (and bad filter values), permissions, money columns, Sales' scope, live URL."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.queues.conftest import NOW, fill, hold, make_clients


def _audit(object_type: str, object_id, action: str):
    from tenant_apps.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(object_type=object_type, object_id=str(object_id), action=action)
                .order_by("seq"))


def _rows(body: bytes) -> dict[int, str]:
    """{item id: SLA state} of the rows in a response."""
    return {int(i): s for i, s in re.findall(r'data-item="(\d+)" data-sla="(\w+)"', body.decode())}


# --- SLA -------------------------------------------------------------------------------------------------------

def test_sla_states_are_computed_from_the_waiting_time_against_the_queues_sla(floor):
    from tenant_apps.queues import registry, selectors

    spec = registry.get("deposits")  # default SLA 240 minutes
    with tenant_context(floor.brokerage):
        breached = fill("deposits", 1, since=NOW - timedelta(minutes=241))[0]
        exactly = fill("deposits", 1, since=NOW - timedelta(minutes=240))[0]
        soon = fill("deposits", 1, since=NOW - timedelta(minutes=181))[0]
        fresh = fill("deposits", 1, since=NOW - timedelta(minutes=179))[0]
        page = selectors.queue_page(spec, floor.staff["manager"], selectors.QueueFilters(), now=NOW)
    states = {r.pk: r.state for r in page["rows"]}
    assert states == {breached: "breached", exactly: "breached", soon: "soon", fresh: "ok"}
    ages = {r.pk: r.age_minutes for r in page["rows"]}
    assert ages[breached] == 241 and ages[fresh] == 179
    assert [r.pk for r in page["rows"]] == [breached, exactly, soon, fresh]  # oldest first
    with tenant_context(floor.brokerage):
        counts = {c["spec"].code: c for c in selectors.queue_counts(floor.staff["manager"], now=NOW)}
    assert (counts["deposits"]["total"], counts["deposits"]["breached"], counts["deposits"]["soon"]) == (4, 2, 1)


def test_a_managers_sla_for_the_brokerage_changes_which_rows_breach_and_is_audited(floor, http):
    from tenant_apps.queues.models import QueueSetting

    manager = http(floor, "manager")
    with tenant_context(floor.brokerage):
        item = fill("withdrawals", 1, since=timezone.now() - timedelta(minutes=90))[0]
    assert _rows(manager.get("/backoffice/queues/withdrawals/").content)[item] == "ok"  # default 24 h
    response = manager.post("/backoffice/queues/settings/", {"queue": "withdrawals", "sla_minutes": "60"})
    assert response.status_code == 302
    assert _rows(manager.get("/backoffice/queues/withdrawals/").content)[item] == "breached"
    response = manager.post("/backoffice/queues/settings/", {"queue": "withdrawals", "sla_minutes": "100"})
    assert _rows(manager.get("/backoffice/queues/withdrawals/").content)[item] == "soon"  # 90 ≥ 75
    with tenant_context(floor.brokerage):
        setting = QueueSetting.objects.get(queue="withdrawals")
        assert setting.sla_minutes == 100 and setting.updated_by == floor.staff["manager"]
        entries = _audit("queues.queuesetting", setting.pk, "queue.sla_changed")
    assert [e.changes["sla_minutes"] for e in entries] == [[1440, 60], [60, 100]]


@pytest.mark.parametrize("value", ["0", "-5", "abc", "99999999", "", "1.5"])
def test_a_bad_sla_is_refused_with_400_and_changes_nothing(floor, http, value):
    from tenant_apps.queues.models import QueueSetting

    response = http(floor, "manager").post("/backoffice/queues/settings/", {"queue": "kyc", "sla_minutes": value})
    assert response.status_code == 400
    assert b"whole number of minutes" in response.content
    with tenant_context(floor.brokerage):
        assert not QueueSetting.objects.filter(queue="kyc").exists()


def test_only_managers_set_slas(floor, http):
    assert http(floor, "finance").post("/backoffice/queues/settings/", {"queue": "kyc", "sla_minutes": "5"}) \
        .status_code == 403
    assert http(floor, "finance").get("/backoffice/queues/settings/").status_code == 403
    assert http(floor, "super_admin").get("/backoffice/queues/settings/").status_code == 200


# --- claim, assign, release ------------------------------------------------------------------------------------

def test_claim_assign_release_each_change_the_holder_and_write_an_audit_entry(floor, http):
    from tenant_apps.queues.models import QueueClaim

    finance, manager = floor.staff["finance"], floor.staff["manager"]
    with tenant_context(floor.brokerage):
        item = fill("withdrawals", 1)[0]
    url = "/backoffice/queues/withdrawals/claims/"
    response = http(floor, "finance").post(url, {"action": "claim", "ids": [item]})
    assert response.status_code == 302
    with tenant_context(floor.brokerage):
        claim = QueueClaim.objects.get(queue="withdrawals", object_id=item)
        assert claim.claimed_by == finance and claim.assigned_by is None
    body = http(floor, "finance").get("/backoffice/queues/withdrawals/").content.decode()
    assert f'data-holder="{finance.email}"' in body

    # someone else cannot take it, nor release it
    assert http(floor, "finance2").post(url, {"action": "claim", "ids": [item]}).status_code == 302
    assert http(floor, "finance2").post(url, {"action": "release", "ids": [item]}).status_code == 302
    with tenant_context(floor.brokerage):
        assert QueueClaim.objects.get(queue="withdrawals", object_id=item).claimed_by == finance

    # a manager gives it to finance2
    response = http(floor, "manager").post(url, {"action": "assign", "ids": [item],
                                                 "assignee": floor.staff["finance2"].pk})
    assert response.status_code == 302
    with tenant_context(floor.brokerage):
        claim = QueueClaim.objects.get(queue="withdrawals", object_id=item)
        assert (claim.claimed_by, claim.assigned_by) == (floor.staff["finance2"], manager)
    # finance2 releases it
    assert http(floor, "finance2").post(url, {"action": "release", "ids": [item]}).status_code == 302
    with tenant_context(floor.brokerage):
        assert not QueueClaim.objects.filter(queue="withdrawals", object_id=item).exists()
        claimed = _audit("payments.withdrawal", item, "queue.claimed")
        assigned = _audit("payments.withdrawal", item, "queue.assigned")
        released = _audit("payments.withdrawal", item, "queue.released")
    assert [(e.actor_id, e.changes["claimed_by"]) for e in claimed] == [(finance.pk, [None, finance.email])]
    assert [(e.actor_id, e.changes["claimed_by"]) for e in assigned] == [
        (manager.pk, [finance.email, floor.staff["finance2"].email])]
    assert [(e.actor_id, e.changes["claimed_by"]) for e in released] == [
        (floor.staff["finance2"].pk, [floor.staff["finance2"].email, None])]
    assert claimed[0].changes["queue"] == "withdrawals" and claimed[0].subject_id is not None


def test_assigning_to_someone_else_needs_queues_assign_and_an_assignee_who_works_the_queue(floor, http):
    from tenant_apps.queues.models import QueueClaim

    with tenant_context(floor.brokerage):
        item = fill("withdrawals", 1)[0]
    url = "/backoffice/queues/withdrawals/claims/"
    # finance may work the queue but not hand items out
    response = http(floor, "finance").post(url, {"action": "assign", "ids": [item],
                                                 "assignee": floor.staff["finance2"].pk})
    assert response.status_code == 403
    # the manager cannot give a withdrawal to Sales (no payments:review) nor to a made-up person
    for assignee in (floor.staff["sales"].pk, 999999, "x"):
        response = http(floor, "manager").post(url, {"action": "assign", "ids": [item], "assignee": assignee})
        assert response.status_code == 400, assignee
    with tenant_context(floor.brokerage):
        assert not QueueClaim.objects.exists()


def test_bulk_assign_gives_every_selected_item_to_one_person_and_reports_the_rest(floor, http):
    from tenant_apps.queues.models import QueueClaim

    with tenant_context(floor.brokerage):
        items = fill("deposits", 5)
        hold("deposits", items[0], floor.staff["finance"])
        decided = fill("deposits", 1)[0]
        from tenant_apps.payments.models import Deposit

        Deposit.objects.filter(pk=decided).update(status="failed")  # left the queue
    response = http(floor, "manager").post("/backoffice/queues/deposits/claims/", {
        "action": "assign", "ids": items + [decided], "assignee": floor.staff["finance2"].pk,
        "return": "assignee=unassigned&risk=nonsense"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == "/backoffice/queues/deposits/?assignee=unassigned"
    text = response.content.decode()
    assert "Assigned: 5 item(s)." in text and f"#{decided} not changed: not in the queue" in text
    with tenant_context(floor.brokerage):
        holders = dict(QueueClaim.objects.filter(queue="deposits").values_list("object_id", "claimed_by"))
        assert holders == {i: floor.staff["finance2"].pk for i in items}
        assert len(_audit("payments.deposit", items[1], "queue.assigned")) == 1
        assert not QueueClaim.objects.filter(object_id=decided).exists()


@pytest.mark.parametrize("data", [
    {"action": "approve", "ids": ["1"]},       # never a decision in bulk
    {"action": "claim"},                       # nothing selected
    {"action": "claim", "ids": ["abc"]},
    {"action": "claim", "ids": ["1" * 30]},
    {"action": "assign", "ids": ["1"], "assignee": ""},
    {"action": "claim", "ids": [str(i) for i in range(1, 300)]},  # too many at once
])
def test_bad_queue_actions_are_refused_with_400_and_change_nothing(floor, http, data):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.queues.models import QueueClaim

    with tenant_context(floor.brokerage):
        fill("deposits", 1)
        before = AuditEntry.objects.filter(action__startswith="queue.").count()
    response = http(floor, "manager").post("/backoffice/queues/deposits/claims/", data)
    assert response.status_code == 400
    assert b"alert-danger" in response.content
    with tenant_context(floor.brokerage):
        assert not QueueClaim.objects.exists()
        assert AuditEntry.objects.filter(action__startswith="queue.").count() == before


def test_the_registry_refuses_a_queue_that_offers_a_decision_in_bulk():
    from tenant_apps.queues.registry import QueueSpec

    with pytest.raises(ValueError, match="not safe"):
        QueueSpec(code="x", label="X", permission=("payments", "approve"), queryset=lambda: None, since="created_at",
                  detail_url=str, bulk_actions=("claim", "approve"))


# --- filters ---------------------------------------------------------------------------------------------------

def test_filters_narrow_the_rows_and_the_polled_url_keeps_them(floor, http):
    from tenant_apps.queues.models import QueueClaim

    manager = floor.staff["manager"]
    now = timezone.now()
    with tenant_context(floor.brokerage):
        cy_low_old = fill("withdrawals", 1, country="CY", risk="low", since=now - timedelta(hours=30))[0]
        de_high = fill("withdrawals", 1, country="DE", risk="high", since=now - timedelta(minutes=5))[0]
        cy_compliance = fill("withdrawals", 1, country="CY", risk="low", stage="compliance")[0]
        hold("withdrawals", de_high, manager)
        hold("withdrawals", cy_compliance, floor.staff["finance"])
        from tenant_apps.brokerage.models import LegalEntity

        entity = LegalEntity.objects.order_by("-is_default", "id").first()
    client = http(floor, "manager")

    def ids(query):
        response = client.get(f"/backoffice/queues/withdrawals/?{query}")
        assert response.status_code == 200, (query, response.content[-500:])
        return set(_rows(response.content))

    assert ids("") == {cy_low_old, de_high, cy_compliance}
    assert ids("country=de") == {de_high}
    assert ids("risk=high") == {de_high}
    assert ids("age=1d") == {cy_low_old}
    assert ids("sla=breached") == {cy_low_old}
    assert ids("assignee=mine") == {de_high}
    assert ids("assignee=unassigned") == {cy_low_old}
    assert ids(f"assignee={floor.staff['finance'].pk}") == {cy_compliance}
    assert ids("tab=compliance") == {cy_compliance}
    assert ids("tab=support&country=CY") == {cy_low_old}
    assert ids(f"entity={entity.pk}") == {cy_low_old, de_high, cy_compliance}

    page = client.get("/backoffice/queues/withdrawals/?country=CY&tab=support&page=7").content.decode()
    polled = re.search(r'hx-get="([^"]+)" hx-trigger="every 3s"', page).group(1).replace("&amp;", "&")
    assert polled.startswith("/backoffice/queues/withdrawals/rows/?")
    assert set(polled.split("?")[1].split("&")) == {"country=CY", "tab=support"}
    fragment = client.get(polled, HTTP_HX_REQUEST="true")
    assert set(_rows(fragment.content)) == {cy_low_old}
    assert b"<html" not in fragment.content


@pytest.mark.parametrize("query", ["country=Cyprus", "risk=extreme", "age=10y", "sla=late", "assignee=999999",
                                   "assignee=%00", "tab=legal", "entity=999999", "country=%F0%9F%92%A5",
                                   "assignee=" + "9" * 40])
def test_bad_filter_values_answer_400_with_a_message_and_the_rest_of_the_queue(floor, http, query):
    with tenant_context(floor.brokerage):
        item = fill("withdrawals", 1)[0]
    for url in ("/backoffice/queues/withdrawals/", "/backoffice/queues/withdrawals/rows/"):
        response = http(floor, "manager").get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        assert b"Ignored the filter" in response.content or url.endswith("rows/")
        assert item in _rows(response.content)


def test_an_unknown_queue_is_not_found(floor, http):
    assert http(floor, "manager").get("/backoffice/queues/nope/").status_code == 404
    assert http(floor, "manager").post("/backoffice/queues/nope/claims/", {"action": "claim", "ids": [1]}) \
        .status_code == 404


# --- who sees what ---------------------------------------------------------------------------------------------

def test_each_queue_is_visible_only_with_its_own_permission(floor, http):
    expected = {
        "sales": {"reassignments"},
        "support": {"kyc", "deposits", "withdrawals", "leverage", "tickets"},
        "compliance": {"kyc", "withdrawals"},
        "finance": {"deposits", "withdrawals", "reassignments", "discrepancies"},
        "manager": {"kyc", "deposits", "withdrawals", "reassignments", "leverage", "discrepancies", "tickets"},
        "super_admin": {"kyc", "deposits", "reassignments", "leverage", "tickets"},  # tickets: support:reply
    }
    for role, codes in expected.items():
        client = http(floor, role)
        index = client.get("/backoffice/queues/").content.decode()
        assert set(re.findall(r'data-queue="([\w-]+)"', index)) == codes, role
        for code in ("kyc", "deposits", "withdrawals", "reassignments", "leverage", "discrepancies"):
            for suffix in ("", "rows/"):
                status = client.get(f"/backoffice/queues/{code}/{suffix}").status_code
                assert status == (200 if code in codes else 403), (role, code, suffix, status)
            posted = client.post(f"/backoffice/queues/{code}/claims/", {"action": "claim", "ids": ["1"]}).status_code
            assert posted == (302 if code in codes else 403), (role, code, posted)


def test_clients_and_anonymous_visitors_never_reach_a_queue(floor, tenant_client):
    from tenant_apps.identity.models import User

    with tenant_context(floor.brokerage):
        client_user = make_clients(1)[0]
    anonymous = tenant_client(floor.brokerage)
    assert anonymous.get("/backoffice/queues/kyc/").status_code == 302
    trader = tenant_client(floor.brokerage)
    with tenant_context(floor.brokerage):
        trader.force_login(User.objects.get(pk=client_user.pk))
    assert trader.get("/backoffice/queues/").status_code == 403
    assert trader.get("/backoffice/queues/kyc/rows/").status_code == 403


def test_amounts_are_shown_only_to_staff_with_clients_finance(floor, http):
    with tenant_context(floor.brokerage):
        fill("deposits", 1)
        fill("withdrawals", 1)
    support = http(floor, "support").get("/backoffice/queues/deposits/").content.decode()
    assert "4321.09" not in support and ">Amount<" not in support
    support_w = http(floor, "support").get("/backoffice/queues/withdrawals/rows/").content.decode()
    assert "4321.09" not in support_w and "data-item=" in support_w
    finance = http(floor, "finance").get("/backoffice/queues/deposits/").content.decode()
    assert "4321.09 USD" in finance and ">Amount<" in finance


def test_sales_sees_reassignments_of_its_own_clients_only(floor, http):
    with tenant_context(floor.brokerage):
        own = make_clients(1, owner=floor.staff["sales"], prefix="own")
        mine = fill("reassignments", 1, clients=own, requested_by=floor.staff["sales"])[0]
        others = fill("reassignments", 1, requested_by=floor.staff["manager"])[0]
    rows = _rows(http(floor, "sales").get("/backoffice/queues/reassignments/").content)
    assert set(rows) == {mine}
    assert set(_rows(http(floor, "manager").get("/backoffice/queues/reassignments/").content)) == {mine, others}
    # nor can Sales claim what it cannot see
    http(floor, "sales").post("/backoffice/queues/reassignments/claims/", {"action": "claim", "ids": [others]})
    from tenant_apps.queues.models import QueueClaim

    with tenant_context(floor.brokerage):
        assert not QueueClaim.objects.filter(object_id=others).exists()


def test_each_row_links_to_the_items_own_page_where_the_decision_is_taken(floor, http):
    with tenant_context(floor.brokerage):
        links = {
            "kyc": ("/backoffice/kyc/{}/", fill("kyc", 1)[0]),
            "deposits": ("/backoffice/money/deposits/{}/", fill("deposits", 1)[0]),
            "withdrawals": ("/backoffice/money/withdrawals/{}/", fill("withdrawals", 1)[0]),
            "discrepancies": ("/backoffice/money/reconciliation/#discrepancy-{}", fill("discrepancies", 1)[0]),
        }
    manager = http(floor, "manager")
    for code, (pattern, item) in links.items():
        body = manager.get(f"/backoffice/queues/{code}/").content.decode()
        assert f'href="{pattern.format(item)}"' in body, code
    assert manager.get(links["withdrawals"][0].format(links["withdrawals"][1])).status_code == 200


def test_the_nav_badge_counts_what_needs_attention_across_the_persons_queues(floor, http):
    with tenant_context(floor.brokerage):
        fill("kyc", 2, since=timezone.now() - timedelta(days=3))
        fill("discrepancies", 3)
    badge = http(floor, "manager").get("/backoffice/queues/badge/").content.decode()
    assert 'data-attention="5"' in badge and "text-bg-danger" in badge
    assert 'data-attention="2"' in http(floor, "compliance").get("/backoffice/queues/badge/").content.decode()
    page = http(floor, "manager").get("/backoffice/").content.decode()
    assert 'hx-get="/backoffice/queues/badge/"' in page


def test_another_app_registers_a_queue_with_one_call(floor, http):
    from django.urls import reverse

    from tenant_apps.queues.registry import Column, QueueSpec, register, unregister

    def queryset():
        from tenant_apps.payments.models import Deposit

        return Deposit.objects.filter(status="failed")

    register(QueueSpec(code="failed-deposits", label="Failed deposits", permission=("payments", "view"),
                       queryset=queryset, since="created_at", sla_minutes=30,
                       detail_url=lambda d: reverse("backoffice_money_deposit", args=[d.pk]),
                       columns=(Column("Reference", lambda d: d.reference),), select_related=("client",)))
    try:
        with tenant_context(floor.brokerage):
            from tenant_apps.payments.models import Deposit

            item = fill("deposits", 1, since=timezone.now() - timedelta(hours=1))[0]
            Deposit.objects.filter(pk=item).update(status="failed")
        manager = http(floor, "manager")
        assert 'data-queue="failed-deposits" data-count="1"' in manager.get("/backoffice/queues/").content.decode()
        assert _rows(manager.get("/backoffice/queues/failed-deposits/").content) == {item: "breached"}
        assert manager.post("/backoffice/queues/failed-deposits/claims/", {"action": "claim", "ids": [item]}) \
            .status_code == 302
    finally:
        unregister("failed-deposits")


def test_a_claim_taken_on_the_items_own_page_is_the_queues_holder_and_the_queues_claim_is_the_pages(floor, http):
    """One holder, wherever it was taken: a withdrawal claimed on its detail page shows in the queue as that
    reviewer's (and under "mine"); a queue claim is the withdrawal's own claimed_by; the item's workflow releasing it
    (the next review stage) releases it in the queue too; a queue claim on an item held on its page is refused."""
    from tenant_apps.payments.models import Withdrawal
    from tenant_apps.payments.services.withdrawals import withdrawal_claim
    from tenant_apps.queues.services import queue_item_claim, queue_item_release

    finance, manager = floor.staff["finance"], floor.staff["manager"]
    with tenant_context(floor.brokerage):
        on_page, in_queue = fill("withdrawals", 2)
        withdrawal_claim(withdrawal=Withdrawal.objects.get(pk=on_page), actor=finance)
    mine = http(floor, "finance").get("/backoffice/queues/withdrawals/?assignee=mine").content
    assert set(_rows(mine)) == {on_page} and f'data-holder="{finance.email}"' in mine.decode()
    assert on_page not in _rows(http(floor, "manager").get("/backoffice/queues/withdrawals/?assignee=unassigned")
                                .content)
    with tenant_context(floor.brokerage):
        try:
            queue_item_claim(code="withdrawals", object_id=on_page, actor=manager)
            raise AssertionError("claimed twice")
        except Exception as exc:  # noqa: BLE001
            assert getattr(exc, "code", "") == "already_claimed", exc
        queue_item_claim(code="withdrawals", object_id=in_queue, actor=manager)
        assert Withdrawal.objects.get(pk=in_queue).claimed_by_id == manager.pk  # the page shows the queue's claim
        assert queue_item_release(code="withdrawals", object_id=in_queue, actor=manager) is True
        assert Withdrawal.objects.get(pk=in_queue).claimed_by_id is None
        # the item's own workflow releases it (e.g. moving to the next review stage): the queue follows
        Withdrawal.objects.filter(pk=on_page).update(claimed_by=None)
    assert on_page in _rows(http(floor, "manager").get("/backoffice/queues/withdrawals/?assignee=unassigned").content)
