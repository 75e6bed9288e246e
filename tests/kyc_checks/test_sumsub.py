"""The Sumsub slot: X-Payload-Digest verified over the raw body (SHA1/SHA256/SHA512 hex, unknown algorithms
refused), deliveries stored before anything else and deduplicated, reviewResult mapped to our KYC outcomes."""
from __future__ import annotations

import json

import pytest
from django_tenants.utils import tenant_context

from tenant_apps.kyc_checks.adapters.sumsub import payload_digest
from tests.tenancy.conftest import queued_by

pytestmark = pytest.mark.django_db

URL = "/webhooks/kyc/sumsub/"
SECRETS = {"alpha": "sumsub-secret-alpha-2026", "beta": "sumsub-secret-beta-2026"}


@pytest.fixture
def sumsub(tenants):
    from tenant_apps.kyc_checks.services import vendor_config_set

    for slug, secret in SECRETS.items():
        with tenant_context(tenants[slug]):
            vendor_config_set(vendor="sumsub", webhook_secret=secret, level_name="basic-kyc-level")
    return tenants


def _payload(client_id, *, answer="GREEN", reject_type=None, event_type="applicantReviewed", **result) -> bytes:
    review = {"reviewAnswer": answer, **result}
    if reject_type:
        review["reviewRejectType"] = reject_type
    return json.dumps({"applicantId": "5cb56e8e0a975a35f333cb83", "inspectionId": "5cb56e8e0a975a35f333cb84",
                       "correlationId": f"req-{client_id}-{answer}-{reject_type}", "externalUserId": str(client_id),
                       "levelName": "basic-kyc-level", "type": event_type, "reviewStatus": "completed",
                       "createdAtMs": "2026-11-22 03:00:00.000", "sandboxMode": True,
                       "reviewResult": review}).encode()


def _post(tenant_client, brokerage, body: bytes, *, secret=None, alg="HMAC_SHA256_HEX", digest=None):
    headers = {"X-Payload-Digest-Alg": alg,
               "X-Payload-Digest": digest if digest is not None else payload_digest(
                   secret or SECRETS[brokerage.slug], body, alg if alg.startswith("HMAC_") and alg in (
                       "HMAC_SHA1_HEX", "HMAC_SHA256_HEX", "HMAC_SHA512_HEX") else "HMAC_SHA256_HEX")}
    return tenant_client(brokerage).post(URL, body, content_type="application/json", headers=headers)


def _process_all(brokerage):
    from tenant_apps.kyc_checks.models import VendorWebhook
    from tenant_apps.kyc_checks.services import vendor_webhook_process

    with tenant_context(brokerage):
        return [vendor_webhook_process(webhook_pk=pk) for pk in
                VendorWebhook.objects.filter(status="received").order_by("pk").values_list("pk", flat=True)]


@pytest.mark.parametrize("alg", ["HMAC_SHA1_HEX", "HMAC_SHA256_HEX", "HMAC_SHA512_HEX"])
def test_a_delivery_signed_with_each_supported_algorithm_is_stored(sumsub, tenant_client, make_client, alg):
    from tenant_apps.kyc_checks.models import VendorWebhook

    client = make_client("alpha", "Emma Johansson")
    body = _payload(client.pk)

    answer = _post(tenant_client, sumsub["alpha"], body, alg=alg)

    assert answer.status_code == 200 and answer.json() == {"received": True, "duplicate": False}
    with tenant_context(sumsub["alpha"]):
        row = VendorWebhook.objects.get()
        assert bytes(row.raw_body) == body and row.signature_valid and row.status == "received"
        assert row.headers["X-Payload-Digest-Alg"] == alg


@pytest.mark.parametrize(("alg", "digest", "message"), [
    ("HMAC_SHA256_HEX", "0" * 64, "does not match"),
    ("HMAC_MD5_HEX", None, "Unknown digest algorithm"),
    ("", None, "Unknown digest algorithm"),
    ("HMAC_SHA256_HEX", "", "missing"),
], ids=["wrong digest", "unknown algorithm", "no algorithm", "no digest"])
def test_a_badly_signed_delivery_is_refused_kept_for_forensics_and_never_processed(sumsub, tenant_client,
                                                                                  make_client, alg, digest,
                                                                                  message):
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.kyc_checks.models import VendorWebhook

    client = make_client("alpha", "Emma Johansson")

    answer = _post(tenant_client, sumsub["alpha"], _payload(client.pk), alg=alg, digest=digest)

    assert answer.status_code == 400 and answer.json()["code"] == "invalid_signature"
    assert message in answer.json()["message"]
    assert _process_all(sumsub["alpha"]) == []
    with tenant_context(sumsub["alpha"]):
        assert VendorWebhook.objects.get().status == "rejected"
        assert KycCase.objects.get(client=client).state == "pending_review"


def test_a_body_changed_after_signing_is_refused(sumsub, tenant_client, make_client):
    client = make_client("alpha", "Emma Johansson")
    body = _payload(client.pk)
    digest = payload_digest(SECRETS["alpha"], body)

    answer = _post(tenant_client, sumsub["alpha"], body.replace(b"GREEN", b"GREEN "), digest=digest)

    assert answer.status_code == 400


def test_a_duplicated_delivery_is_absorbed_and_applied_once(sumsub, tenant_client, make_client):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.kyc_checks.models import VendorWebhook

    client = make_client("alpha", "Emma Johansson")
    body = _payload(client.pk)

    first = _post(tenant_client, sumsub["alpha"], body)
    second = _post(tenant_client, sumsub["alpha"], body)
    outcomes = _process_all(sumsub["alpha"])

    assert first.json()["duplicate"] is False and second.json() == {"received": True, "duplicate": True}
    assert outcomes == ["approve"]
    with tenant_context(sumsub["alpha"]):
        assert VendorWebhook.objects.count() == 1
        assert AuditEntry.objects.filter(action="kyc.approve", subject_id=client.pk).count() == 1


def test_green_approves_the_case(sumsub, tenant_client, make_client):
    from tenant_apps.compliance.models import KycCase

    client = make_client("alpha", "Emma Johansson")
    _post(tenant_client, sumsub["alpha"], _payload(client.pk))

    assert _process_all(sumsub["alpha"]) == ["approve"]
    with tenant_context(sumsub["alpha"]):
        assert KycCase.objects.get(client=client).state == "approved"


def test_red_retry_asks_for_resubmission_showing_only_the_moderation_comment(sumsub, tenant_client, make_client):
    from tenant_apps.audit.models import AuditEntry
    from tenant_apps.compliance.models import KycCase

    client = make_client("alpha", "Emma Johansson")
    body = _payload(client.pk, answer="RED", reject_type="RETRY", rejectLabels=["UNSATISFACTORY_PHOTOS"],
                    moderationComment="The photo of your passport is blurred. Please upload a sharper one.",
                    clientComment="Internal: glare over the MRZ, possible tampering check")
    _post(tenant_client, sumsub["alpha"], body)

    assert _process_all(sumsub["alpha"]) == ["request_resubmission"]
    with tenant_context(sumsub["alpha"]):
        case = KycCase.objects.get(client=client)
        assert case.state == "resubmission_needed"
        assert case.client_reason == "The photo of your passport is blurred. Please upload a sharper one."
        entry = AuditEntry.objects.get(action="kyc.request_resubmission", subject_id=client.pk)
        assert "possible tampering" in entry.reason and "UNSATISFACTORY_PHOTOS" in entry.reason
    page = tenant_client(sumsub["alpha"], client.email).get("/verify/").content.decode()
    assert "blurred" in page and "tampering" not in page


def test_red_final_rejects_or_leaves_the_decision_to_compliance(sumsub, tenant_client, make_client):
    """Only Compliance may reject (compliance.states): a vendor's final rejection becomes a task to confirm."""
    from tenant_apps.compliance.models import KycCase
    from tenant_apps.compliance.states import TRANSITIONS
    from tenant_apps.kyc_checks.models import ComplianceTask

    client = make_client("alpha", "Emma Johansson")
    _post(tenant_client, sumsub["alpha"], _payload(client.pk, answer="RED", reject_type="FINAL",
                                                   rejectLabels=["FORGERY"], clientComment="forged document"))

    outcomes = _process_all(sumsub["alpha"])

    with tenant_context(sumsub["alpha"]):
        state = KycCase.objects.get(client=client).state
        if "system" in TRANSITIONS["reject"].by:
            assert outcomes == ["reject"] and state == "rejected"
        else:
            assert outcomes == ["task:reject"] and state == "pending_review"
            task = ComplianceTask.objects.get(client=client)
            assert task.kind == "vendor_decision" and "forged document" in task.note and "FORGERY" in task.note


def test_informational_events_and_unknown_clients_are_ignored(sumsub, tenant_client, make_client):
    from tenant_apps.compliance.models import KycCase

    client = make_client("alpha", "Emma Johansson")
    _post(tenant_client, sumsub["alpha"], _payload(client.pk, event_type="applicantPending"))
    _post(tenant_client, sumsub["alpha"], _payload(987654))

    assert _process_all(sumsub["alpha"]) == ["ignored", "ignored"]
    with tenant_context(sumsub["alpha"]):
        assert KycCase.objects.get(client=client).state == "pending_review"


def test_a_delivery_signed_with_alphas_secret_is_refused_at_beta(sumsub, tenant_client, make_client):
    from tenant_apps.compliance.models import KycCase

    client = make_client("beta", "Carlos Alberto Mendes")
    body = _payload(client.pk)

    at_beta = _post(tenant_client, sumsub["beta"], body, secret=SECRETS["alpha"])
    good = _post(tenant_client, sumsub["beta"], body)

    assert at_beta.status_code == 400 and good.status_code == 200
    assert _process_all(sumsub["beta"]) == ["approve"]
    assert _process_all(sumsub["alpha"]) == []
    with tenant_context(sumsub["beta"]):
        assert KycCase.objects.get(client=client).state == "approved"


def test_the_webhook_secret_is_stored_encrypted(sumsub):
    from tenant_apps.kyc_checks.models import VendorConfig
    from tenant_apps.kyc_checks.services import vendor_adapter

    with tenant_context(sumsub["alpha"]):
        stored = VendorConfig.objects.get(vendor="sumsub").webhook_secret_encrypted
        assert SECRETS["alpha"] not in stored
        assert vendor_adapter("sumsub").credentials.webhook_secret == SECRETS["alpha"]


def test_a_stored_delivery_is_handed_to_the_brokerages_worker_after_commit(sumsub, tenant_client, make_client,
                                                                          broker,
                                                                          django_capture_on_commit_callbacks):
    from tenant_apps.kyc_checks.tasks import vendor_webhook_process

    client = make_client("alpha", "Emma Johansson")
    with django_capture_on_commit_callbacks(execute=True):
        _post(tenant_client, sumsub["alpha"], _payload(client.pk))

    assert queued_by(broker) == {(vendor_webhook_process.actor_name, "alpha"): 1}


def test_without_a_sumsub_connection_the_endpoint_answers_not_found(tenants, tenant_client):
    answer = tenant_client(tenants["alpha"]).post(URL, b"{}", content_type="application/json")

    assert answer.status_code == 404


def test_creating_an_applicant_sends_a_signed_request(sumsub):
    """Against a local peer speaking Sumsub's request signing: X-App-Access-Sig = HMAC-SHA256(ts + method +
    path + body) with the app secret, X-App-Token, the level in the query."""
    import hashlib
    import hmac
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tenant_apps.kyc_checks.models import VendorConfig
    from tenant_apps.kyc_checks.services import vendor_adapter, vendor_config_set

    seen = {}

    class Peer(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = hmac.new(b"app-secret-alpha", (self.headers["X-App-Access-Ts"] + "POST" + self.path).encode()
                                + body, hashlib.sha256).hexdigest()
            seen.update(path=self.path, token=self.headers["X-App-Token"], body=json.loads(body),
                        signed=hmac.compare_digest(expected, self.headers["X-App-Access-Sig"]))
            answer = json.dumps({"id": "66a1b2c3d4e5f6a7b8c9d0e1"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tenant_context(sumsub["alpha"]):
            vendor_config_set(vendor="sumsub", app_token="sbx:alpha-token", app_secret="app-secret-alpha")
            VendorConfig.objects.filter(vendor="sumsub").update(api_base_url=f"http://127.0.0.1:{server.server_port}")
            applicant_id = vendor_adapter("sumsub").create_applicant(external_user_id="42")
    finally:
        server.shutdown()

    assert applicant_id == "66a1b2c3d4e5f6a7b8c9d0e1"
    assert seen == {"path": "/resources/applicants?levelName=basic-kyc-level", "token": "sbx:alpha-token",
                    "body": {"externalUserId": "42"}, "signed": True}
