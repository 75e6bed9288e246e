"""Known devices: a signed, host-only cookie recognises a returning browser; a new one is recorded, e-mailed about
and raises the "recent device change" risk signal."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.identity.devices import DEVICE_COOKIE
from tenant_apps.identity.models import Device, User
from tenant_apps.identity.selectors import recent_device_change
from tests.identity.conftest import CHROME_MAC, FIREFOX_WINDOWS, login, user_create


@pytest.fixture
def sign_in_from(django_capture_on_commit_callbacks):
    """sign_in_from(client, email) → the sign-in response, with after-commit work (the e-mail) really run."""

    def go(client, email: str):
        with django_capture_on_commit_callbacks(execute=True):
            response = login(client, email)
        assert response.status_code == 302, response.content[:300]
        return response

    return go


def _user(brokerage, email: str) -> User:
    with tenant_context(brokerage):
        return User.objects.get(email=email)


def _devices(brokerage, email: str) -> list[Device]:
    with tenant_context(brokerage):
        return list(Device.objects.filter(user__email=email).order_by("first_seen"))


def _risky(brokerage, email: str, **within) -> bool:
    with tenant_context(brokerage):
        return recent_device_change(_user(brokerage, email), **within)


def test_the_first_device_is_recorded_quietly(db, tenants, browser, sign_in_from, mailoutbox):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.first@example.test")

    response = sign_in_from(browser(alpha, user_agent=CHROME_MAC), "trader.first@example.test")

    [device] = _devices(alpha, "trader.first@example.test")
    assert device.user_agent == "Chrome on macOS" and device.last_ip
    assert mailoutbox == []
    assert not _risky(alpha, "trader.first@example.test")
    cookie = response.cookies[DEVICE_COOKIE]
    assert cookie["domain"] == "" and cookie["httponly"] is True and cookie["samesite"] == "Lax"
    assert device.device_id in cookie.value and cookie.value != device.device_id, "signed, not the bare id"


def test_a_new_device_is_recorded_emailed_about_once_and_raises_the_risk_signal(db, tenants, browser, new_ip,
                                                                                sign_in_from, mailoutbox):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.traveller@example.test")
    sign_in_from(browser(alpha, user_agent=CHROME_MAC), "trader.traveller@example.test")
    ip = new_ip()

    sign_in_from(browser(alpha, ip=ip, user_agent=FIREFOX_WINDOWS), "trader.traveller@example.test")

    devices = _devices(alpha, "trader.traveller@example.test")
    assert [d.user_agent for d in devices] == ["Chrome on macOS", "Firefox on Windows"]
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["trader.traveller@example.test"]
    assert "Alpha Trading" in mail.subject and "New sign-in" in mail.subject
    assert "Firefox on Windows" in mail.body and ip in mail.body
    assert "http://alpha.localhost/accounts/sessions/" in mail.body
    assert "(Asia/Nicosia)" in mail.body, "the time is told in the brokerage's zone"
    assert _risky(alpha, "trader.traveller@example.test")
    assert _user(alpha, "trader.traveller@example.test").last_device_change_at is not None


def test_the_same_browser_signing_in_again_sends_nothing_and_updates_last_seen(db, tenants, browser, new_ip,
                                                                               sign_in_from, mailoutbox):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.regular@example.test")
    sign_in_from(browser(alpha), "trader.regular@example.test")
    laptop = browser(alpha, user_agent=CHROME_MAC)
    sign_in_from(laptop, "trader.regular@example.test")
    mailoutbox.clear()
    first_seen = {d.device_id: d.last_seen for d in _devices(alpha, "trader.regular@example.test")}

    laptop.post("/accounts/logout/")
    later_ip = new_ip()
    laptop.defaults["REMOTE_ADDR"] = later_ip
    sign_in_from(laptop, "trader.regular@example.test")

    assert mailoutbox == []
    devices = _devices(alpha, "trader.regular@example.test")
    assert len(devices) == 2
    again = next(d for d in devices if d.user_agent == "Chrome on macOS")
    assert again.last_ip == later_ip and again.last_seen > first_seen[again.device_id]


def test_a_tampered_device_cookie_counts_as_a_new_device(db, tenants, browser, sign_in_from, mailoutbox):
    alpha = tenants["alpha"]
    user_create(alpha, "trader.forger@example.test")
    client = browser(alpha)
    sign_in_from(client, "trader.forger@example.test")
    client.post("/accounts/logout/")
    [device] = _devices(alpha, "trader.forger@example.test")
    client.cookies[DEVICE_COOKIE] = device.device_id  # the bare id, without the signature

    sign_in_from(client, "trader.forger@example.test")

    assert len(_devices(alpha, "trader.forger@example.test")) == 2
    assert len(mailoutbox) == 1


def test_the_risk_signal_fades_after_the_window(db, tenants):
    alpha = tenants["alpha"]
    user = user_create(alpha, "trader.settled@example.test")
    with tenant_context(alpha):
        User.objects.filter(pk=user.pk).update(last_device_change_at=timezone.now() - timedelta(days=8))
        assert not recent_device_change(user)
        assert recent_device_change(user, within=timedelta(days=9))
        User.objects.filter(pk=user.pk).update(last_device_change_at=None)
        assert not recent_device_change(user, within=timedelta(days=365))


@pytest.mark.parametrize("user_agent, summary", [
    (FIREFOX_WINDOWS, "Firefox on Windows"),
    (CHROME_MAC, "Chrome on macOS"),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
     "Chrome on Android"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 "
     "Edg/126.0", "Edge on Windows"),
    ("curl/8.5.0", "curl/8.5.0"),
    ("", "Unknown browser"),
])
def test_user_agents_are_summarised_for_people(user_agent, summary):
    from tenant_apps.identity.devices import user_agent_summary

    assert user_agent_summary(user_agent) == summary
