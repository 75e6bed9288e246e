"""Property: whatever sequence of approved reassignments a client goes through (random IBs, random moments, in any
order of requests), the stored intervals never overlap, cover time without gaps from the first assignment on, and
partner_for_client_at answers exactly what a plain list of (moment, IB) changes says — at, just before and just
after every change."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.partners.conftest import START

NOW = datetime(2026, 12, 20, tzinfo=UTC)
changes = st.lists(st.tuples(st.integers(min_value=1, max_value=60 * 24 * 70), st.integers(min_value=0, max_value=3)),
                   min_size=1, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=changes)
def test_approved_reassignments_always_leave_one_gapless_history(programme, plan):
    from tenant_apps.partners.errors import PartnersError
    from tenant_apps.partners.models import ClientAssignment
    from tenant_apps.partners.selectors import partner_for_client_at
    from tenant_apps.partners.services import (
        partner_policy_update,
        reassignment_approve,
        reassignment_reject,
        reassignment_request_create,
    )

    p = programme
    ibs = [p["ib_a"], p["ib_b"], p["master_a"], p["master_b"]]
    with tenant_context(p["brokerage"]), transaction.atomic():
        partner_policy_update(actor=None, backdate_limit_days=366, show_client_contacts=False, applications_open=True)
        expected = [(START, p["ib_a"])]  # the model: (from, IB) in time order
        for minutes, which in plan:
            moment, target = START + timedelta(minutes=minutes), ibs[which]
            possible = moment > expected[-1][0] and target != expected[-1][1]
            try:
                req = reassignment_request_create(actor=p["sales"], client_id=p["client"].pk,
                                                  to_partner_id=target.pk, effective_at=moment, reason="prop",
                                                  mode="recalculate", now=NOW)
                try:
                    reassignment_approve(request_id=req.pk, actor=p["manager"], now=NOW)
                except PartnersError:
                    reassignment_reject(request_id=req.pk, actor=p["manager2"], note="cannot apply")
                    raise
            except PartnersError as exc:
                assert not possible, exc  # refused exactly when the history cannot take the change
                continue
            assert possible
            expected.append((moment, target))
        rows = list(ClientAssignment.objects.filter(client=p["client"]).order_by("valid_from"))
        assert [(r.valid_from, r.partner) for r in rows] == expected
        assert all(a.valid_to == b.valid_from for a, b in zip(rows, rows[1:], strict=False)) and rows[-1].valid_to is None
        tick = timedelta(microseconds=1)
        for i, (at, ib) in enumerate(expected):
            assert partner_for_client_at(p["client"].pk, at) == ib
            assert partner_for_client_at(p["client"].pk, at - tick) == (expected[i - 1][1] if i else None)
        transaction.set_rollback(True)
