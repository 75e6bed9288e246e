"""Segments: each fact a definition filters on selects exactly the right clients, in ONE query whatever the
definition; a definition with anything unknown or malformed is refused with a specific message."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from tests.automation.conftest import (
    client,
    deposit,
    kyc_approve,
    next_monday_local,
    staff,
    trade,
    withdraw_from_wallet,
)


def _members(definition, **kwargs):
    from tenant_apps.automation.selectors import segment_queryset

    return sorted(segment_queryset(definition, **kwargs).values_list("user__email", flat=True))


def _one(field, op, value, match="all"):
    return {"match": match, "conditions": [{"field": field, "op": op, "value": value}]}


@pytest.fixture
def book(patient_policy, alpha):
    """Six clients with distinct histories, the youngest facts 10 days before `now`."""
    from tenant_apps.partners.models import ClientAssignment, Partner

    start = next_monday_local()
    with time_machine.travel(start - timedelta(days=100), tick=False) as clock, tenant_context(alpha):
        owner = staff("seg.owner@alpha.test")
        people = {
            "lead": client("seg.lead@example.test", owner=owner, country="DE"),
            "approved": client("seg.approved@example.test", owner=owner),
            "old_depositor": client("seg.old@example.test", owner=owner, country="ES"),
            "whale": client("seg.whale@example.test", owner=owner, ref="IBSEG"),
            "trader": client("seg.trader@example.test", owner=owner),
            "broke": client("seg.broke@example.test", owner=owner, country="ES"),
        }
        for key in ("approved", "old_depositor", "whale", "trader", "broke"):
            kyc_approve(people[key])
        deposit(people["old_depositor"], "300.00")                       # 100 days ago
        deposit(people["broke"], "80.00")
        withdraw_from_wallet(people["broke"], "60.00")                  # wallet 20 USD
        clock.move_to(start - timedelta(days=10))
        deposit(people["whale"], "6000.00")
        deposit(people["whale"], "5000.00")
        deposit(people["whale"], "900.00", currency="EUR")
        deposit(people["trader"], "500.00")
        trade(people["trader"])
        people["trader"].last_login = start - timedelta(days=2)
        people["trader"].save(update_fields=["last_login"])
        partner_user = client("seg.ib@example.test")
        partner = Partner.objects.create(user=partner_user, code="ibseg", status="active")
        ClientAssignment.objects.create(client=people["whale"], partner=partner, valid_from=start - timedelta(days=50),
                                        source="staff")
    return {"now": start, **{k: v.email for k, v in people.items()}}


def test_each_fact_selects_exactly_the_clients_it_describes(book, alpha):
    now = book["now"]
    with tenant_context(alpha):
        assert _members(_one("country", "in", ["es"]), now=now) == sorted([book["old_depositor"], book["broke"]])
        assert book["lead"] not in _members(_one("kyc_status", "in", ["approved"]), now=now)
        assert book["lead"] in _members(_one("kyc_status", "in", ["not_started", "pending_review"]), now=now)
        assert book["approved"] not in _members(_one("kyc_status", "in", ["not_started"]), now=now)
        assert _members(_one("deposited", "is", True), now=now) == sorted(
            [book["old_depositor"], book["whale"], book["trader"], book["broke"]])
        never = _members(_one("deposited", "is", False), now=now)
        assert book["approved"] in never and book["lead"] in never and book["whale"] not in never
        # "no deposit in 30 days" includes those who never deposited; combined with "deposited" it is the lapsed
        lapsed = {"match": "all", "conditions": [{"field": "deposited", "op": "is", "value": True},
                                                 {"field": "last_deposit", "op": "older_than_days", "value": 30}]}
        assert _members(lapsed, now=now) == sorted([book["old_depositor"], book["broke"]])
        assert _members(_one("last_deposit", "within_days", 30), now=now) == sorted([book["whale"], book["trader"]])
        # totals are per currency: 11,000 USD (the 900 EUR is not added in)
        assert _members(_one("deposits_total", "gte", {"amount": "11000", "currency": "USD"}), now=now) == [book["whale"]]
        assert _members(_one("deposits_total", "gte", {"amount": "11000.01", "currency": "usd"}), now=now) == []
        assert _members(_one("deposits_total", "gte", {"amount": "900", "currency": "EUR"}), now=now) == [book["whale"]]
        assert _members(_one("last_trade", "within_days", 30), now=now) == [book["trader"]]
        assert book["trader"] in _members(_one("last_trade", "older_than_days", 9), now=now)  # traded 10 days ago
        assert book["trader"] not in _members(_one("last_trade", "older_than_days", 11), now=now)
        assert _members(_one("wallet_balance", "lt", {"amount": "50", "currency": "USD"}), now=now) == [book["broke"]]
        assert _members(_one("ib_source", "code", "IBSEG"), now=now) == [book["whale"]]
        assert book["whale"] in _members(_one("ib_source", "referred", True), now=now)
        assert book["whale"] not in _members(_one("ib_source", "referred", False), now=now)
        assert _members(_one("last_login", "within_days", 7), now=now) == [book["trader"]]
        assert book["trader"] not in _members(_one("last_login", "older_than_days", 7), now=now)
        assert book["trader"] in _members(_one("last_login", "after", (now - timedelta(days=3)).date().isoformat()),
                                          now=now)
        assert _members(_one("kyc_approved", "days_ago_gte", 99), now=now) == sorted(
            [book["approved"], book["old_depositor"], book["whale"], book["trader"], book["broke"]])
        assert _members(_one("kyc_approved", "days_ago_gte", 101), now=now) == []
        either = {"match": "any", "conditions": [{"field": "country", "op": "in", "value": ["DE"]},
                                                 {"field": "wallet_balance", "op": "lt",
                                                  "value": {"amount": "50", "currency": "USD"}}]}
        assert _members(either, now=now) == sorted([book["lead"], book["broke"]])


def test_a_definition_with_every_kind_of_condition_is_one_query(book, alpha):
    from tenant_apps.automation.selectors import segment_queryset

    everything = {"match": "all", "conditions": [
        {"field": "stage", "op": "in", "value": ["funded", "active"]},
        {"field": "country", "op": "not_in", "value": ["DE"]},
        {"field": "kyc_status", "op": "in", "value": ["approved"]},
        {"field": "deposits_total", "op": "gte", "value": {"amount": "100", "currency": "USD"}},
        {"field": "last_trade", "op": "within_days", "value": 30},
        {"field": "wallet_balance", "op": "gte", "value": {"amount": "10", "currency": "USD"}},
        {"field": "ib_source", "op": "referred", "value": False},
        {"field": "last_login", "op": "within_days", "value": 30},
    ]}
    with tenant_context(alpha):
        with CaptureQueriesContext(connection) as queries:
            found = list(segment_queryset(everything, now=book["now"]).values_list("user__email", flat=True))
    assert found == [book["trader"]]
    selects = [q["sql"] for q in queries if not q["sql"].startswith("SET search_path")]
    assert len(selects) == 1, selects


@pytest.mark.parametrize(("definition", "message"), [
    ({"match": "all", "conditions": [{"field": "shoe_size", "op": "in", "value": [42]}]}, "unknown field 'shoe_size'"),
    ({"match": "all", "conditions": [{"field": "stage", "op": "contains", "value": ["funded"]}]},
     "field stage has no operator 'contains'"),
    ({"match": "all", "conditions": [{"field": "stage", "op": "in", "value": ["rich"]}]}, "unknown value(s) rich"),
    ({"match": "all", "conditions": [{"field": "last_deposit", "op": "older_than_days", "value": "30"}]},
     "a whole number of days"),
    ({"match": "all", "conditions": [{"field": "deposits_total", "op": "gte", "value": {"amount": "lots",
                                                                                        "currency": "USD"}}]},
     "an amount such as"),
    ({"match": "all", "conditions": [{"field": "country", "op": "in", "value": ["Cyprus"]}]}, "two-letter country"),
    ({"match": "all", "conditions": [{"field": "deposited", "op": "is", "value": "yes"}]}, "true or false"),
    ({"match": "all", "conditions": [{"field": "last_login", "op": "before", "value": "31/10/2026"}]}, "YYYY-MM-DD"),
    ({"match": "most", "conditions": [{"field": "stage", "op": "in", "value": ["lead"]}]}, '"match" is "all" or "any"'),
    ({"match": "all", "conditions": []}, '"conditions" is a non-empty list'),
    ({"match": "all", "conditions": [{"field": "stage", "op": "in"}]}, 'exactly "field", "op" and "value"'),
    ({"match": "all", "conditions": [{"field": "stage", "op": "in", "value": ["lead"]}], "limit": 5},
     "Unknown key(s) limit"),
    (["stage", "in", "lead"], "is an object"),
])
def test_a_bad_definition_is_refused_with_a_specific_message(tenants, db, definition, message):
    from tenant_apps.automation.errors import DefinitionError
    from tenant_apps.automation.selectors import segment_queryset

    with tenant_context(tenants["alpha"]), pytest.raises(DefinitionError) as refused:
        segment_queryset(definition)
    assert message in str(refused.value)


def test_saving_a_segment_validates_audits_and_refuses_duplicates_changing_nothing(tenants, db):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.automation.errors import DefinitionError
    from tenant_apps.automation.models import Segment
    from tenant_apps.automation.services import segment_save
    from tenant_apps.identity.permissions import PermissionDeniedError

    with tenant_context(tenants["alpha"]):
        manager = staff("seg.manager@alpha.test", roles=("manager",))
        sales = staff("seg.sales@alpha.test")
        good = {"match": "all", "conditions": [{"field": "country", "op": "in", "value": ["cy", "CY", "gr"]}]}
        saved = segment_save(actor=manager, name="Cyprus and Greece", definition=good)
        assert saved.definition == {"match": "all", "conditions": [{"field": "country", "op": "in",
                                                                    "value": ["CY", "GR"]}]}
        assert AuditEntry.objects.filter(action="automation.segment_saved", object_id=str(saved.pk)).count() == 1
        with pytest.raises(DefinitionError) as twice:
            segment_save(actor=manager, name="cyprus and greece", definition=good)
        assert "already called" in str(twice.value)
        with pytest.raises(DefinitionError):
            segment_save(actor=manager, name="Broken", definition={"conditions": [{"field": "x", "op": "y",
                                                                                   "value": 1}]})
        with pytest.raises(PermissionDeniedError):
            segment_save(actor=sales, name="Sales' own", definition=good)
        assert list(Segment.objects.values_list("name", flat=True)) == ["Cyprus and Greece"]
