"""The operator console's sign-in is throttled; unknown URLs answer in the caller's language (JSON or page)."""
import pytest
from django.core.cache import cache
from django.db import connection

from tests.conftest import OPERATOR_EMAIL, PASSWORD


@pytest.fixture
def clean_throttle():
    connection.set_schema_to_public()
    keys = ["console-login-fail:ip:127.0.0.1", f"console-login-fail:email:{OPERATOR_EMAIL}",
            "console-login-fail:email:nobody@platform.test"]
    cache.delete_many(keys)
    yield
    cache.delete_many(keys)


def test_ten_bad_operator_passwords_lock_the_login_even_for_the_right_one(db, platform_client, clean_throttle):
    for _ in range(10):
        response = platform_client.post("/login/", {"username": OPERATOR_EMAIL, "password": "wrong"})
        assert response.status_code == 200
    locked = platform_client.post("/login/", {"username": OPERATOR_EMAIL, "password": PASSWORD})
    assert locked.status_code == 429
    assert b"Too many failed sign-in attempts. Try again in 15 minutes." in locked.content
    assert "_auth_user_id" not in platform_client.session


def test_an_unknown_email_is_throttled_the_same_way(db, platform_client, clean_throttle):
    for _ in range(10):
        platform_client.post("/login/", {"username": "nobody@platform.test", "password": "wrong"})
    assert platform_client.post("/login/", {"username": "nobody@platform.test", "password": "x"}).status_code == 429


@pytest.mark.parametrize("host_kind", ["platform", "tenant"])
def test_unknown_api_paths_get_a_typed_json_404(db, tenants, platform_client, tenant_client, host_kind):
    client = platform_client if host_kind == "platform" else tenant_client(tenants["alpha"])
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No such endpoint or object."}


def test_an_unknown_page_gets_the_brokerages_own_themed_404(db, tenants, tenant_client):
    response = tenant_client(tenants["alpha"]).get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content and b"Alpha Trading" in response.content
    assert b"Beta Capital" not in response.content
