"""Personal API tokens: the secret is shown once and stored hashed; Bearer works on its own brokerage only;
scopes narrow what a token may do (and so do its owner's current roles); revoked, expired or orphaned tokens
get a typed 401; use is booked on last_used_at at most once a minute; everything is audited, never the secret."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.identity.models import ApiToken, Role, User
from tenant_apps.identity.tokens import LAST_USED_EVERY
from tests.conftest import mfa_enrol
from tests.identity.conftest import user_create
from tests.identity.staff_helpers import ADMIN, bearer, entries_since, head_seq, mint

TOKENS_PAGE = "/backoffice/account/api-tokens/"
TOKEN_SHAPE = re.compile(r"brk_(?P<prefix>[0-9a-f]{10})_(?P<secret>[A-Za-z0-9_-]{40,})")


@pytest.fixture
def alpha(db, tenants):
    return tenants["alpha"]


def test_a_token_made_on_the_page_is_shown_once_and_only_the_hash_of_its_secret_is_kept(alpha, tenant_client):
    admin = tenant_client(alpha, ADMIN)
    start = head_seq(alpha)

    made = admin.post(TOKENS_PAGE, {"name": "CRM sync", "scopes": ["staff:view", "roles:view"],
                                    "expires_in_days": "30"})

    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    found = TOKEN_SHAPE.search(made.content.decode())
    assert found, "the whole token is on the page that made it"
    with tenant_context(alpha):
        token = ApiToken.objects.get(prefix=found["prefix"])
        row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert token.key_hash == hashlib.sha256(found["secret"].encode()).hexdigest()
    assert found["secret"] not in json.dumps(row, default=str), "the secret is stored nowhere"
    assert token.scopes == ["roles:view", "staff:view"] and token.user.email == ADMIN
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    again = admin.get(TOKENS_PAGE).content.decode()
    assert found["prefix"] in again and found["secret"] not in again, "listed by its prefix, never shown again"
    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.actor_label, entry.subject_id) == ("api_token.created", ADMIN, token.user_id)
    assert entry.changes["scopes"] == [[], ["roles:view", "staff:view"]]
    assert found["secret"] not in json.dumps(entry.changes) + entry.reason


def test_a_token_works_with_bearer_on_its_own_brokerage_and_nowhere_else(tenants, alpha):
    _, secret = mint(alpha, ADMIN, ["staff:view"])

    at_home = bearer(alpha, secret).get("/api/v1/me/")
    at_beta = bearer(tenants["beta"], secret).get("/api/v1/me/")
    at_platform = bearer(settings.PLATFORM_DOMAIN, secret).get("/api/v1/platform/brokerages/")

    assert at_home.status_code == 200
    assert at_home.json()["email"] == ADMIN and at_home.json()["auth_method"] == "token"
    for refused in (at_beta, at_platform):
        assert refused.status_code == 401, refused.content
        assert refused.json()["code"] == "token_invalid"
        assert refused["WWW-Authenticate"].startswith("Bearer")
    assert ADMIN not in at_beta.content.decode()


def test_scopes_narrow_a_super_admins_token_to_what_was_ticked(alpha):
    _, secret = mint(alpha, ADMIN, ["roles:view"])
    api = bearer(alpha, secret)
    start = head_seq(alpha)

    me = api.get("/api/v1/me/")
    listing = api.get("/api/v1/staff/")
    invite = api.post("/api/v1/staff/", {"email": "via.token@alpha.test", "roles": ["sales"]},
                      content_type="application/json")

    assert me.status_code == 200 and me.json()["permissions"] == ["roles:view"]
    assert {r["code"] for r in me.json()["roles"]} == {"super_admin"}
    assert listing.status_code == invite.status_code == 403
    assert invite.json()["code"] == "permission_denied"
    refusals = entries_since(alpha, start)
    assert [(e.action, e.object_id, e.actor_label) for e in refusals] == [
        ("access.denied", "staff:view", ADMIN), ("access.denied", "staff:manage", ADMIN)]
    with tenant_context(alpha):
        assert not User.objects.filter(email="via.token@alpha.test").exists()


def test_a_token_never_does_more_than_its_owner_may_do_now(alpha):
    owner = user_create(alpha, "shrinking@alpha.test", kind="staff", roles=("super_admin",))
    mfa_enrol(alpha, "shrinking@alpha.test")
    _, secret = mint(alpha, "shrinking@alpha.test", ["staff:view", "roles:view"])
    api = bearer(alpha, secret)
    assert api.get("/api/v1/staff/").status_code == 200

    with tenant_context(alpha):
        owner.roles.set([Role.objects.get(code="sales")])  # sales holds roles:view, not staff:view

    assert api.get("/api/v1/staff/").status_code == 403
    assert api.get("/api/v1/me/").json()["permissions"] == ["roles:view"]


def test_scopes_must_be_permissions_the_user_holds_so_a_token_cannot_mint_a_wider_one(alpha, tenant_client):
    user_create(alpha, "sales.tokens@alpha.test", kind="staff", roles=("sales",))
    with tenant_context(alpha), pytest.raises(ValidationError) as refused:
        mint(alpha, "sales.tokens@alpha.test", ["clients:view", "staff:manage"])
    assert "staff:manage" in refused.value.message_dict["scopes"][0]
    page = tenant_client(alpha, "sales.tokens@alpha.test").post(TOKENS_PAGE, {"name": "x", "scopes": ["staff:manage"]})
    assert page.status_code == 400 and "staff:manage" in " ".join(page.context["form"].errors["scopes"])

    _, narrow = mint(alpha, ADMIN, ["api_tokens:manage"])
    wider = bearer(alpha, narrow).post("/api/v1/api-tokens/", {"name": "wider", "scopes": ["staff:manage"]},
                                       content_type="application/json")

    assert wider.status_code == 400 and "staff:manage" in wider.json()["fields"]["scopes"][0]


def _revoked(alpha, token):
    from tenant_apps.identity.tokens import api_token_revoke

    with tenant_context(alpha):
        api_token_revoke(token=token, actor=token.user)


def _expired(alpha, token):
    with tenant_context(alpha):
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _owner_deactivated(alpha, token):
    with tenant_context(alpha):
        User.objects.filter(pk=token.user_id).update(is_active=False)


SPOILERS = {"revoked": _revoked, "expired": _expired, "owner deactivated": _owner_deactivated}
FORGERIES = {
    "wrong secret": lambda s: s[:-6] + ("AAAAAA" if not s.endswith("AAAAAA") else "BBBBBB"),
    "unknown prefix": lambda s: "brk_0000000000_" + s.split("_", 2)[2],
    "not ours": lambda s: "ghp_" + s[4:],
    "no secret": lambda s: s.rsplit("_", 1)[0] + "_",
    "two words": lambda s: s + " extra",
}


@pytest.mark.parametrize("case", [*SPOILERS, *FORGERIES])
def test_a_revoked_expired_orphaned_or_forged_token_gets_a_typed_401(alpha, case):
    user_create(alpha, "integrator@alpha.test", kind="staff", roles=("sales",))
    token, secret = mint(alpha, "integrator@alpha.test", ["roles:view"])
    if case in SPOILERS:
        SPOILERS[case](alpha, token)
    else:
        secret = FORGERIES[case](secret)

    response = bearer(alpha, secret).get("/api/v1/me/")

    assert response.status_code == 401, response.content
    assert response.json()["code"] == "token_invalid" and response.json()["message"]
    assert "integrator@alpha.test" not in response.content.decode()


def test_using_a_token_records_last_used_at_at_most_once_a_minute(alpha):
    token, secret = mint(alpha, ADMIN, ["roles:view"])
    api = bearer(alpha, secret)
    assert token.last_used_at is None

    api.get("/api/v1/me/")
    with tenant_context(alpha):
        first = ApiToken.objects.get(pk=token.pk).last_used_at
    api.get("/api/v1/me/")
    with tenant_context(alpha):
        unchanged = ApiToken.objects.get(pk=token.pk).last_used_at
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - LAST_USED_EVERY - timedelta(seconds=1))
    api.get("/api/v1/me/")
    with tenant_context(alpha):
        later = ApiToken.objects.get(pk=token.pk).last_used_at

    assert first is not None and abs(first - timezone.now()) < timedelta(seconds=30)
    assert unchanged == first, "a second call within the minute writes nothing"
    assert later > first - LAST_USED_EVERY and abs(later - timezone.now()) < timedelta(seconds=30)


def test_revoking_on_the_page_stops_the_token_and_is_audited_and_nobody_revokes_anothers(alpha, tenant_client):
    token, secret = mint(alpha, ADMIN, ["roles:view"])
    user_create(alpha, "other.staff@alpha.test", kind="staff", roles=("sales",))
    start = head_seq(alpha)

    stranger = tenant_client(alpha, "other.staff@alpha.test").post(f"{TOKENS_PAGE}{token.pk}/revoke/")
    assert stranger.status_code == 404 and bearer(alpha, secret).get("/api/v1/me/").status_code == 200
    revoked = tenant_client(alpha, ADMIN).post(f"{TOKENS_PAGE}{token.pk}/revoke/")

    assert revoked.status_code == 302
    assert bearer(alpha, secret).get("/api/v1/me/").status_code == 401
    (entry,) = entries_since(alpha, start)
    assert (entry.action, entry.actor_label, entry.object_id) == ("api_token.revoked", ADMIN, str(token.pk))


def test_deactivating_the_owner_revokes_their_tokens_for_good(alpha, tenant_client):
    member = user_create(alpha, "token.leaver@alpha.test", kind="staff", roles=("sales",))
    token, secret = mint(alpha, "token.leaver@alpha.test", ["roles:view"])
    admin = tenant_client(alpha, ADMIN)
    start = head_seq(alpha)

    admin.post(f"/backoffice/staff/{member.pk}/deactivate/", {"reason": "Contract ended"})
    admin.post(f"/backoffice/staff/{member.pk}/reactivate/", {"reason": "Back for a month"})

    assert bearer(alpha, secret).get("/api/v1/me/").status_code == 401
    deactivated = entries_since(alpha, start, action="user.deactivate")[0]
    assert deactivated.changes["api_tokens"] == [[token.prefix], []]


def test_a_token_of_staff_who_must_use_two_factor_but_has_not_is_refused(alpha):
    user_create(alpha, "finance.nomfa@alpha.test", kind="staff", roles=("finance",))
    _, secret = mint(alpha, "finance.nomfa@alpha.test", ["payments:view"])

    response = bearer(alpha, secret).get("/api/v1/me/")

    assert response.status_code == 403 and response.json()["code"] == "mfa_enrolment_required"
    mfa_enrol(alpha, "finance.nomfa@alpha.test")
    assert bearer(alpha, secret).get("/api/v1/me/").status_code == 200
