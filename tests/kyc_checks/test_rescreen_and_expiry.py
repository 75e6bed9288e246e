"""Re-screening stores results and opens tasks without changing client states; scenario 4: documents expiring
in 59 days warn the client (in-app + e-mail) and open a Compliance task once; an expired one restricts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

pytestmark = pytest.mark.django_db


def _approve(brokerage, client):
    from tenant_apps.compliance.services import kyc_transition

    with tenant_context(brokerage):
        kyc_transition(client=client, action="approve", actor_kind="system", note="test set-up")


def test_rescreening_stores_a_result_per_client_and_opens_a_task_for_a_new_hit(tenants, extract_list,
                                                                              make_client):
    from platform_core.sanctions.tasks import rescreen_all_clients
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.kyc_checks.models import ComplianceTask, ScreeningCheck

    alpha = tenants["alpha"]
    hit = make_client("alpha", "Oleg Deripaska", nationality="", dob=None)
    clean = make_client("alpha", "Emma Johansson")
    _approve(alpha, hit)
    _approve(alpha, clean)

    with tenant_context(alpha):
        first = rescreen_all_clients.fn(extract_list.pk)
        again = rescreen_all_clients.fn(extract_list.pk)  # a redelivered message
        checks = {c.client_id: c for c in ScreeningCheck.objects.filter(trigger="rescreen")}
        tasks = list(ComplianceTask.objects.all())
        states = dict(KycCase.objects.values_list("client_id", "state"))
        risk_levels = dict(KycCase.objects.values_list("client_id", "risk_level"))

    assert first["screened"] == 2 and first["with_hits"] == 1 and first["tasks"] == 1
    assert again["tasks"] == 0 and len(checks) == 2, "one result per client and version, one task"
    assert checks[hit.pk].status == "hit" and checks[hit.pk].list_version == extract_list.version
    assert checks[clean.pk].status == "clear"
    assert [(t.client_id, t.kind) for t in tasks] == [(hit.pk, "rescreen_hit")]
    assert "DERIPASKA" in tasks[0].note
    assert states[hit.pk] == "approved", "never changed silently: a person decides"
    assert risk_levels[hit.pk] == "high", "but flagged: the review queue's risk filter finds it"


def test_a_hit_already_known_from_an_earlier_version_opens_no_new_task(tenants, extract_list, extract_dir,
                                                                      make_client):
    from platform_core.sanctions.services import sanctions_list_import
    from platform_core.sanctions.tasks import rescreen_all_clients
    from tenant_apps.kyc_checks.models import ComplianceTask, ScreeningCheck

    alpha = tenants["alpha"]
    make_client("alpha", "Oleg Deripaska", nationality="", dob=None)
    with tenant_context(alpha):
        rescreen_all_clients.fn(extract_list.pk)
    newer = sanctions_list_import(directory=extract_dir, force=True).sanctions_list
    with tenant_context(alpha):
        result = rescreen_all_clients.fn(newer.pk)
        assert ScreeningCheck.objects.filter(list_id=newer.pk, status="hit").count() == 1
        assert ComplianceTask.objects.count() == 1
    assert result["tasks"] == 0


def test_a_document_expiring_in_59_days_warns_the_client_once_and_opens_a_task(tenants, make_client,
                                                                              tenant_client):
    from tenant_apps.compliance.models import KycDocument
    from tenant_apps.kyc_checks.models import ClientNotice, ComplianceTask
    from tenant_apps.kyc_checks.tasks import documents_expiry_daily

    alpha = tenants["alpha"]
    client = make_client("alpha", "Emma Johansson")
    _approve(alpha, client)
    with tenant_context(alpha):
        today = timezone.localdate()
        KycDocument.objects.filter(client=client).update(state="accepted")
        KycDocument.objects.filter(client=client, doc_type="passport").update(expiry_date=today + timedelta(days=59))
        mail.outbox.clear()
        first = documents_expiry_daily.fn()
        second = documents_expiry_daily.fn()
        notices = list(ClientNotice.objects.filter(client=client))
        tasks = list(ComplianceTask.objects.filter(client=client))

    assert first["warned"] == 1 and second["warned"] == 0
    assert len(notices) == 1 and "59 days" in notices[0].body and notices[0].emailed_at is not None
    assert [m.to for m in mail.outbox] == [[client.email]] and "expires" in mail.outbox[0].subject
    assert [t.kind for t in tasks] == ["document_expiring"]


def test_a_document_that_was_replaced_is_not_warned_about(tenants, make_client):
    from tenant_apps.compliance.models import KycDocument
    from tenant_apps.kyc_checks.tasks import documents_expiry_daily

    client = make_client("alpha", "Emma Johansson")
    with tenant_context(tenants["alpha"]):
        today = timezone.localdate()
        KycDocument.objects.filter(client=client).update(state="accepted")
        KycDocument.objects.filter(client=client, doc_type="passport").update(expiry_date=today + timedelta(days=30))
        KycDocument.objects.create(client=client, doc_type="passport", file="kyc/new.png", sha256="1" * 64,
                                   content_type="image/png", size=10, state="accepted",
                                   expiry_date=today + timedelta(days=3650))
        assert documents_expiry_daily.fn()["warned"] == 0


def test_an_expired_document_moves_kyc_to_resubmission_and_restricts_withdrawals(tenants, make_client,
                                                                                tenant_client):
    from tenant_apps.compliance.models import KycCase, KycDocument
    from tenant_apps.compliance.selectors import client_may
    from tenant_apps.kyc_checks.models import ComplianceTask
    from tenant_apps.kyc_checks.tasks import documents_expiry_daily

    alpha, beta = tenants["alpha"], tenants["beta"]
    client = make_client("alpha", "Emma Johansson")
    _approve(alpha, client)
    beta_client = make_client("beta", "Carlos Alberto Mendes")
    _approve(beta, beta_client)
    with tenant_context(alpha):
        expired_on = timezone.localdate() - timedelta(days=1)
        KycDocument.objects.filter(client=client).update(state="accepted")
        KycDocument.objects.filter(client=client, doc_type="passport").update(expiry_date=expired_on)
        assert client_may(client, "withdraw")[0]
        result = documents_expiry_daily.fn()
        case = KycCase.objects.get(client=client)
        assert result["expired"] == 1 and case.state == "resubmission_needed"
        assert case.client_reason.startswith(f"Your identity document expired on {expired_on:%d %B %Y}")
        assert client_may(client, "withdraw") == (False, "Withdrawals need a verified identity. Complete "
                                                         "verification first.")
        assert not client_may(client, "open_live_account")[0]
        assert ComplianceTask.objects.filter(client=client, kind="document_expired").count() == 1
        assert documents_expiry_daily.fn()["expired"] == 0, "idempotent"
    with tenant_context(beta):
        assert KycCase.objects.get(client=beta_client).state == "approved", "beta's clients untouched"
    page = tenant_client(alpha, client.email).get("/verify/").content.decode()
    assert "expired on" in page


def test_the_expiry_job_runs_daily_in_every_brokerage():
    from tenancy.scheduler import REGISTRY
    from tenant_apps.kyc_checks.tasks import documents_expiry_daily

    job = REGISTRY[documents_expiry_daily.actor_name]
    assert job.every_s == 24 * 3600 and job.per_tenant
