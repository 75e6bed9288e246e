"""The workflow tables of states.py are what the services enforce: every transition not in the table and every
actor a listed transition does not name are refused before anything is written (generated over the tables)."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from tenant_apps.payments import states
from tenant_apps.payments.models import Deposit, Withdrawal
from tenant_apps.payments.services._flow import TransitionRefused, deposit_move, withdrawal_move

ACTORS = {"client": SimpleNamespace(kind="client", pk=None), "system": None}
for role in ("support", "compliance", "finance", "manager", "sales", "super_admin"):
    ACTORS[role] = SimpleNamespace(kind="staff", pk=None, roles=SimpleNamespace(all=lambda r=role: [
        SimpleNamespace(code=r)]))

TABLES = [
    ("deposit", Deposit, deposit_move, list(states.DEPOSIT_CLIENT_STATUS), states.deposit_transition),
    ("withdrawal", Withdrawal, withdrawal_move, list(states.WITHDRAWAL_CLIENT_STATUS), states.withdrawal_transition),
]


def _cases():
    for name, model, move, all_states, lookup in TABLES:
        for source, target in itertools.product(all_states, repeat=2):
            transition = lookup(source, target)
            for actor in ACTORS:
                who = "system" if actor == "system" else actor
                if transition is not None and who in transition.by:
                    continue
                yield pytest.param(model, move, source, target, actor, id=f"{name}:{source}->{target} by {actor}")


@pytest.mark.parametrize(("model", "move", "source", "target", "actor"), list(_cases()))
def test_a_transition_outside_the_table_or_by_an_actor_it_does_not_name_is_refused(model, move, source, target, actor):
    obj = model(status=source, reference="X-1")
    with pytest.raises(TransitionRefused):
        move(obj, target=target, actor=ACTORS[actor])
    assert obj.status == source


def test_a_success_is_final_no_listed_transition_leads_from_received_money_back_to_failed():
    for source in states.DEPOSIT_MONEY_RECEIVED:
        assert states.deposit_transition(source, "failed") is None
        assert states.deposit_transition(source, "pending_psp") is None


def test_every_withdrawal_stage_has_its_own_roles_and_the_client_reads_each_stage():
    assert set(states.STAGE_ROLES) == set(states.WITHDRAWAL_STAGES) == set(states.STAGE_CLIENT_TEXT)
    assert states.STAGE_ROLES["support"] & states.STAGE_ROLES["finance"] == {"manager"}
