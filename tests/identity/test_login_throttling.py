"""Brute force at the sign-in form: 20 failures lock the account and the IP for up to 15 minutes, with a clear
message, the same for e-mails that exist and e-mails that don't, and only at the brokerage where it happened."""
from __future__ import annotations

import re
import time

import pytest
from allauth.core.internal import ratelimit as allauth_ratelimit

from tenancy.models import Domain
from tests.conftest import PASSWORD
from tests.identity.conftest import login, signed_in, user_create

WRONG = "not-the-password-1"
BAD_LOGIN = "The email address and/or password you specified are not correct."
LOCKED = re.compile(r"Too many failed sign-in attempts\. Try again in about (\d+) minutes?, or reset your password\.")
LIMIT = 20


def _lockout_minutes(response) -> int | None:
    match = LOCKED.search(response.content.decode())
    return int(match.group(1)) if match else None


def _fail(client, email: str, times: int = LIMIT) -> None:
    for attempt in range(times):
        response = login(client, email, WRONG)
        assert response.status_code == 200, attempt
        assert BAD_LOGIN in response.content.decode(), f"attempt {attempt + 1} was not an ordinary refusal"


class _Clock:
    """allauth's rate-limit module (and ours) reading a clock moved forward by `offset` seconds."""

    def __init__(self, offset: float):
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def later(monkeypatch):
    """later(seconds) → from now on, the lockout arithmetic believes that much time has passed."""
    from tenant_apps.identity import throttling

    def move(seconds: float) -> None:
        clock = _Clock(seconds)
        monkeypatch.setattr(allauth_ratelimit, "time", clock)
        monkeypatch.setattr(throttling, "time", clock)

    return move


def test_twenty_wrong_passwords_lock_the_account_and_even_the_right_password_is_refused(db, tenants, browser):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.lock@example.test")
    client = browser(alpha)

    _fail(client, "trader.lock@example.test")
    locked = login(client, "trader.lock@example.test", PASSWORD)

    assert locked.status_code == 200
    html = locked.content.decode()
    assert '<div class="alert alert-danger" role="alert">' in html and BAD_LOGIN not in html
    assert _lockout_minutes(locked) == 15
    assert not signed_in(client)


def test_the_lock_is_on_the_account_whatever_ip_the_next_attempt_comes_from(db, tenants, browser):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.roaming@example.test")
    _fail(browser(alpha), "trader.roaming@example.test")

    elsewhere = browser(alpha)  # another address
    response = login(elsewhere, "trader.roaming@example.test", PASSWORD)

    assert _lockout_minutes(response) == 15
    assert not signed_in(elsewhere)


def test_twenty_failures_from_one_ip_lock_that_ip_for_every_account_but_not_other_ips(db, tenants, browser, new_ip):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.office@example.test")
    ip = new_ip()
    attacker = browser(alpha, ip=ip)
    for n in range(LIMIT):  # a different (unknown) e-mail each time: no single account reaches its limit
        assert BAD_LOGIN in login(attacker, f"guess{n}@example.test", WRONG).content.decode()

    colleague = browser(alpha, ip=ip)
    assert _lockout_minutes(login(colleague, "trader.office@example.test", PASSWORD)) == 15
    assert not signed_in(colleague)
    other = browser(alpha)
    assert login(other, "trader.office@example.test", PASSWORD).status_code == 302
    assert signed_in(other)


def test_nineteen_failures_do_not_lock_and_a_right_password_does_not_count_as_a_failure(db, tenants, browser):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.careful@example.test")
    client = browser(alpha)
    _fail(client, "trader.careful@example.test", LIMIT - 1)

    assert login(client, "trader.careful@example.test", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    # The success was not counted: one more failure makes 20, and only then the lock.
    _fail(client, "trader.careful@example.test", 1)
    assert _lockout_minutes(login(client, "trader.careful@example.test", PASSWORD)) == 15


def test_the_lock_lifts_after_fifteen_minutes_and_the_message_counts_down(db, tenants, browser, later):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.patient@example.test")
    client = browser(alpha)
    _fail(client, "trader.patient@example.test")

    later(14 * 60)
    assert _lockout_minutes(login(client, "trader.patient@example.test", PASSWORD)) == 1
    later(15 * 60 + 1)
    assert login(client, "trader.patient@example.test", PASSWORD).status_code == 302
    assert signed_in(client)


def _normalised(response, email: str) -> bytes:
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b'name="csrfmiddlewaretoken" value="-"',
                  response.content)
    return body.replace(email.encode(), b"<email>")


def test_an_unknown_email_gets_byte_identical_answers_and_the_same_lockout(db, tenants, browser):
    alpha = tenants["alpha"]
    known, unknown = "trader.known@example.test", "nobody.here@example.test"
    user_create(alpha, known)
    known_client, unknown_client = browser(alpha), browser(alpha)

    for attempt in range(LIMIT + 2):  # 20 ordinary refusals, then the lockout twice
        a = login(known_client, known, WRONG)
        b = login(unknown_client, unknown, WRONG)
        assert (a.status_code, sorted(a.cookies)) == (b.status_code, sorted(b.cookies)), attempt
        assert _normalised(a, known) == _normalised(b, unknown), f"attempt {attempt + 1} tells them apart"
        assert (BAD_LOGIN in a.content.decode()) is (attempt < LIMIT)
    assert _lockout_minutes(a) == _lockout_minutes(b) == 15


def test_a_lockout_at_alpha_does_not_lock_the_same_email_at_beta(db, tenants, new_ip, browser):
    alpha, beta = tenants["alpha"], tenants["beta"]
    for brokerage in (alpha, beta):
        user_create(brokerage, "twin@example.test")
    ip = new_ip()
    _fail(browser(alpha, ip=ip), "twin@example.test")

    at_beta = browser(beta, ip=ip)  # same e-mail, same IP, other brokerage
    assert login(at_beta, "twin@example.test", PASSWORD).status_code == 302
    assert signed_in(at_beta)
    assert _lockout_minutes(login(browser(alpha, ip=ip), "twin@example.test", PASSWORD)) == 15


def test_failures_at_a_brokerages_other_domain_count_towards_the_same_lock(db, tenants, browser):
    from django.test import Client

    alpha = tenants["alpha"]
    Domain.objects.create(domain="trade.alpha-markets.localhost", tenant=alpha, is_primary=False)
    user_create(alpha, "trader.domains@example.test")
    _fail(browser(alpha), "trader.domains@example.test", LIMIT // 2)
    other_domain = Client(HTTP_HOST="trade.alpha-markets.localhost", REMOTE_ADDR="198.51.100.250")
    _fail(other_domain, "trader.domains@example.test", LIMIT // 2)

    assert _lockout_minutes(login(browser(alpha), "trader.domains@example.test", PASSWORD)) == 15


def test_a_password_reset_through_the_emailed_link_unlocks_the_account(db, tenants, browser, mailoutbox):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.forgetful@example.test")
    client = browser(alpha)
    _fail(client, "trader.forgetful@example.test")

    assert client.post("/accounts/password/reset/", {"email": "trader.forgetful@example.test"}).status_code == 302
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mailoutbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    new_password = "a-new-pass-2026!"
    done = client.post(form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
                       {"password1": new_password, "password2": new_password})
    assert done.status_code == 302, done.content[:500]

    assert login(browser(alpha), "trader.forgetful@example.test", new_password).status_code == 302
