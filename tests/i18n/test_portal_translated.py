"""Issue 9 must-show: no untranslated string on any Trader's Room page in Spanish or Arabic. Every portal page the
access matrix knows (so a new page is walked automatically) is fetched in es and in ar — signed in as a client with
realistic data, or anonymous for sign-in / sign-up / password reset — and its visible text is compared with the
English source strings of the catalogues (ours and allauth's)."""
from __future__ import annotations

import json
import os
import re

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from tests.i18n.pages import english_sources, portal_pages, untranslated_on, visible_texts
from tests.i18n.portal_data import portal_data_make


@pytest.fixture
def portal(db, tenants, request):
    """Alpha and a client whose saved language is the one walked (their notifications were written in it)."""
    alpha = tenants["alpha"]
    callspec = getattr(request.node, "callspec", None)
    language = callspec.params.get("language", "en") if callspec else "en"
    with tenant_context(alpha):
        data = portal_data_make("alpha", language=language)
    return alpha, data


def _browser(tenant_client, brokerage, who, data, language):
    browser = tenant_client(brokerage, data.client.email if who == "client" else None)
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return browser


def test_the_walk_covers_every_kind_of_portal_page(portal):
    """The page list comes from the URLconf's matrix rows: the Trader's Room core must be in it."""
    _, data = portal
    paths = {path for _, path in portal_pages(data)}
    for must in ("/", "/money/", "/money/deposit/", "/money/withdraw/", "/money/transfer/", "/money/statement/",
                 "/verify/", "/verify/profile/", "/verify/documents/", "/trading/", "/notifications/",
                 "/referrals/", "/partner/", "/partner/links/", "/partner/commissions/", "/accounts/login/",
                 "/accounts/signup/", "/accounts/password/reset/", f"/money/deposit/{data.deposit.pk}/",
                 f"/money/withdrawals/{data.withdrawal.pk}/"):
        assert must in paths, must


@pytest.mark.parametrize("language", ["es", "ar"])
def test_no_english_source_string_shows_on_any_portal_page(portal, tenant_client, language):
    alpha, data = portal
    sources = english_sources(language)
    assert len(sources) > 500  # the catalogues were read (ours and allauth's)
    leftovers, walked = {}, 0
    for who, path in portal_pages(data):
        response = _browser(tenant_client, alpha, who, data, language).get(path)
        assert response.status_code == 200, (who, path, response.status_code)
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        walked += 1
        html = response.content.decode()
        if "<html" in html:
            assert re.search(rf'<html lang="{language}"', html), (path, html[:200])
        texts = visible_texts(html)
        found = untranslated_on(texts, sources)
        if os.environ.get("I18N_REPORT"):  # a translator's aid: every text node with Latin words, per page
            with open(os.environ["I18N_REPORT"], "a") as report:
                latin = [t for t in texts if re.search(r"[A-Za-z]{3}", t)]
                report.write(json.dumps({"lang": language, "page": path, "latin": latin}, ensure_ascii=False) + "\n")
        if found:
            leftovers[f"{who} {path}"] = sorted(found)
    assert walked >= 20, walked
    assert not leftovers, "untranslated on:\n" + "\n".join(f"{page}: {found}" for page, found in leftovers.items())


def test_the_check_catches_an_english_string_it_was_not_told_about(portal):
    """The comparison can fail: English text of a catalogue entry on a Spanish page is found."""
    sources = english_sources("es")
    texts = visible_texts("<main><h2>Saldo</h2><p>Transfer between your accounts</p>"
                          "<p>Only the first 500 lines are shown: choose a shorter period.</p></main>")
    assert {"Transfer between your accounts"} <= untranslated_on(texts, sources)
    assert "Only the first %(n)s lines are shown: choose a shorter period." in untranslated_on(texts, sources)
    assert not untranslated_on(visible_texts("<p>Saldo</p><p>Lucía Fernández</p>"), sources)
