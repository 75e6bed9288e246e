"""Each brokerage's pages carry its own stylesheet, name and language direction, and never another's."""
import pytest

from tests.themes.conftest import ADMIN, COLOURS, PORTAL_NAMES
from tests.themes.pages import Page, theme_version_linked


@pytest.mark.parametrize("slug, other", [("alpha", "beta"), ("beta", "alpha")])
def test_each_brokerages_theme_css_carries_its_own_colours_and_never_the_others(db, tenants, tenant_client, slug, other):
    client = tenant_client(tenants[slug])
    version = theme_version_linked(client.get("/"))

    response = client.get(f"/theme.css?v={version}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    css = response.content.decode().lower()
    primary, accent = COLOURS[slug]
    assert f"--brand-primary: {primary};" in css
    assert f"--brand-accent: {accent};" in css
    for colour in COLOURS[other]:
        assert colour not in css, f"{slug}'s stylesheet carries {other}'s colour {colour}"


PAGES = [("/", False), ("/accounts/login/", False), ("/accounts/signup/", False), ("/accounts/password/reset/", False),
         ("/backoffice/", True), ("/backoffice/branding/", True)]


@pytest.mark.parametrize("slug", ["alpha", "beta"])
@pytest.mark.parametrize("path, signed_in", PAGES)
def test_every_portal_page_links_the_tenants_theme_css_and_shows_its_portal_name(db, tenants, tenant_client, slug,
                                                                                 path, signed_in):
    client = tenant_client(tenants[slug], f"admin@{slug}.test" if signed_in else None)

    response = client.get(path)

    assert response.status_code == 200, path
    page = Page.of(response)
    assert any(href.startswith("/theme.css?v=") for href in page.stylesheets), page.stylesheets
    html = response.content.decode()
    assert PORTAL_NAMES[slug] in html
    other = "beta" if slug == "alpha" else "alpha"
    assert PORTAL_NAMES[other] not in html


def test_arabic_switches_the_page_to_right_to_left_with_bootstraps_rtl_stylesheet(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"])
    before = Page.of(client.get("/accounts/login/"))
    assert before.html_attrs.get("dir") == "ltr"

    switched = client.post("/i18n/setlang/", {"language": "ar", "next": "/accounts/login/"})
    assert switched.status_code == 302

    page = Page.of(client.get("/accounts/login/"))
    assert page.html_attrs.get("dir") == "rtl"
    assert page.html_attrs.get("lang") == "ar"
    assert any(href.endswith("bootstrap.rtl.min.css") for href in page.stylesheets), page.stylesheets
    assert not any(href.endswith("/bootstrap.min.css") for href in page.stylesheets)
    # Still the brokerage's own theme in Arabic.
    assert any(href.startswith("/theme.css?v=") for href in page.stylesheets)


def test_the_back_office_in_arabic_is_right_to_left_too(db, tenants, tenant_client):
    client = tenant_client(tenants["alpha"], ADMIN)
    client.post("/i18n/setlang/", {"language": "ar", "next": "/backoffice/"})

    page = Page.of(client.get("/backoffice/branding/"))

    assert page.html_attrs.get("dir") == "rtl"
    assert any(href.endswith("bootstrap.rtl.min.css") for href in page.stylesheets)
