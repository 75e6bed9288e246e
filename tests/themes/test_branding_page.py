"""The back-office branding page: who may change it, what is refused, and that a change shows at once."""
import pytest
from django.core.cache import cache
from django_tenants.utils import tenant_context

from tests.themes.conftest import ADMIN, COLOURS
from tests.themes.pages import Page, theme_version_linked
from themes.models import Theme
from themes.selectors import CACHE_KEY

BRANDING = "/backoffice/branding/"


def _theme(brokerage) -> Theme:
    with tenant_context(brokerage):
        return Theme.objects.get()


def _cached_theme(brokerage) -> dict | None:
    with tenant_context(brokerage):
        return cache.get(CACHE_KEY)


def _form(theme: Theme, **changes) -> dict:
    data = {"portal_name": theme.portal_name, "primary_colour": theme.primary_colour,
            "accent_colour": theme.accent_colour, "font": theme.font, "support_email": theme.support_email,
            "support_phone": theme.support_phone, "legal_footer": theme.legal_footer, "dark_header_shown": "1"}
    if theme.dark_header:
        data["dark_header"] = "on"
    data.update(changes)
    return data


def test_a_colour_change_bumps_the_version_and_the_very_next_page_load_shows_it(alpha_committed, tenants,
                                                                                tenant_client):
    alpha, beta = alpha_committed, tenants["beta"]
    visitor = tenant_client(alpha)
    old_version = theme_version_linked(visitor.get("/"))
    # The page load cached alpha's theme in Redis (under alpha's schema prefix).
    assert _cached_theme(alpha)["primary"] == COLOURS["alpha"][0]
    assert _cached_theme(alpha)["version"] == old_version
    beta_css_before = tenant_client(beta).get("/theme.css").content

    admin = tenant_client(alpha, ADMIN)
    response = admin.post(BRANDING, _form(_theme(alpha), primary_colour="#7a1f5c", accent_colour="#2e8b57"))

    assert response.status_code == 302, response.content.decode()[:2000]
    assert _theme(alpha).version == old_version + 1
    # The commit dropped the cached theme: nothing stale is left to serve.
    assert _cached_theme(alpha) is None

    new_version = theme_version_linked(visitor.get("/"))
    assert new_version == old_version + 1
    css = visitor.get(f"/theme.css?v={new_version}").content.decode()
    assert "--brand-primary: #7a1f5c;" in css and "--brand-accent: #2e8b57;" in css
    assert COLOURS["alpha"][0] not in css
    assert _cached_theme(alpha)["primary"] == "#7a1f5c"
    # Beta's theme and cache entry were not touched.
    assert tenant_client(beta).get("/theme.css").content == beta_css_before


def test_sales_staff_cannot_change_branding_and_see_the_form_disabled(db, tenants, tenant_client):
    from tenant_apps.identity.services import staff_user_create

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        staff_user_create(email="sales@alpha.test", password="sales-pass-2026!", role_codes=["sales"])
    before = _theme(alpha)
    sales = tenant_client(alpha, "sales@alpha.test")

    page_response = sales.get(BRANDING)
    assert page_response.status_code == 200
    page = Page.of(page_response)
    in_main = [c for c in page.visible_controls() if c.in_main]
    assert in_main, "the branding page shows the current settings"
    assert [c.name for c in in_main if not c.disabled] == []
    assert page.submit_buttons_in_main == []
    assert "Only a Super Admin can change branding" in page_response.content.decode()

    attempts = [
        (BRANDING, _form(before, primary_colour="#7a1f5c")),
        ("/backoffice/branding/reset/", {"preset": "crimson"}),
        ("/backoffice/branding/image/logo/", {"action": "remove"}),
    ]
    for path, data in attempts:
        assert sales.post(path, data).status_code == 403, path
    after = _theme(alpha)
    assert (after.primary_colour, after.preset, after.version) == (before.primary_colour, before.preset, before.version)


def test_a_client_is_not_let_into_the_branding_page(db, tenants, tenant_client):
    from tenant_apps.identity.models import User, UserKind

    alpha = tenants["alpha"]
    with tenant_context(alpha):
        User.objects.create_user(email="client@alpha.test", password="x-pass-2026!", kind=UserKind.CLIENT)
    client = tenant_client(alpha, "client@alpha.test")

    assert client.get(BRANDING).status_code == 403
    assert client.post(BRANDING, _form(_theme(alpha), primary_colour="#7a1f5c")).status_code == 403
    assert _theme(alpha).primary_colour == COLOURS["alpha"][0]


@pytest.mark.parametrize("field, colour, message", [
    ("primary_colour", "#ffff00", "Primary colour #ffff00 is not readable enough: links and outline buttons on "
                                  "the white page would have contrast 1.0:1"),
    ("primary_colour", "#f0f0f0", "Primary colour #f0f0f0 is not readable enough"),
])
def test_a_colour_with_too_little_contrast_is_refused_with_the_reason_and_nothing_changes(db, tenants, tenant_client,
                                                                                         field, colour, message):
    alpha = tenants["alpha"]
    before = _theme(alpha)
    admin = tenant_client(alpha, ADMIN)

    response = admin.post(BRANDING, _form(before, **{field: colour}))

    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "at least 3:1 is needed" in html
    # Shown at the field, and the readout marks the failing check.
    assert f'id="{field}-error"' in html
    assert 'data-passes="no"' in html
    after = _theme(alpha)
    assert (after.primary_colour, after.accent_colour, after.version) == (
        before.primary_colour, before.accent_colour, before.version)
    css = admin.get("/theme.css").content.decode()
    assert colour not in css and f"--brand-primary: {COLOURS['alpha'][0]};" in css


@pytest.mark.parametrize("field", ["primary_colour", "accent_colour"])
@pytest.mark.parametrize("bad", ["1b2a4a", "#12345", "#gggggg", "navy", "#1b2a4a;}body{display:none}"])
def test_an_invalid_hex_colour_is_refused(db, tenants, tenant_client, field, bad):
    alpha = tenants["alpha"]
    before = _theme(alpha)
    admin = tenant_client(alpha, ADMIN)

    response = admin.post(BRANDING, _form(before, **{field: bad}))

    assert response.status_code == 400
    assert "is not a colour like #1b2a4a." in response.content.decode()
    after = _theme(alpha)
    assert (getattr(after, field), after.version) == (getattr(before, field), before.version)


def test_the_branding_page_shows_a_contrast_readout_for_both_colours(db, tenants, tenant_client):
    admin = tenant_client(tenants["alpha"], ADMIN)

    html = admin.get(BRANDING).content.decode()

    # Midnight: white text on navy 14.2:1, navy links on white 14.2:1, near-black text on gold 7.8:1.
    assert 'data-field="primary_colour" data-passes="yes"' in html
    assert 'data-field="accent_colour" data-passes="yes"' in html
    assert "14.2:1" in html and "7.8:1" in html

    live = admin.get("/backoffice/branding/contrast/", {"primary_colour": "#ffff00", "accent_colour": "#334155"})
    assert live.status_code == 200
    assert 'data-field="primary_colour" data-passes="no"' in live.content.decode()
    assert "1.0:1" in live.content.decode()
    assert 'data-field="accent_colour" data-passes="yes"' in live.content.decode()


def test_reset_to_preset_puts_the_presets_look_back_and_keeps_the_name_and_contacts(db, tenants, tenant_client):
    alpha = tenants["alpha"]
    before = _theme(alpha)
    admin = tenant_client(alpha, ADMIN)
    admin.post(BRANDING, _form(before, primary_colour="#7a1f5c", support_phone="+357 22 000000"))

    response = admin.post("/backoffice/branding/reset/", {"preset": "crimson"})

    assert response.status_code == 302
    after = _theme(alpha)
    assert (after.preset, after.primary_colour, after.accent_colour, after.font) == (
        "crimson", "#a3172f", "#2d3142", "geometric")
    assert after.portal_name == before.portal_name and after.support_phone == "+357 22 000000"
    assert after.version == before.version + 2
    assert admin.post("/backoffice/branding/reset/", {"preset": "neon"}).status_code == 400


def test_the_branding_services_refuse_anyone_but_a_super_admin_even_when_called_directly(db, tenants):
    from django.core.exceptions import PermissionDenied
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tenant_apps.identity.models import User
    from tenant_apps.identity.services import staff_user_create
    from tests.themes.pages import image_bytes
    from themes.services import theme_clear_image, theme_reset_to_preset, theme_set_image, theme_update

    with tenant_context(tenants["alpha"]):
        sales, _ = staff_user_create(email="sales2@alpha.test", role_codes=["sales", "manager", "finance"])
        admin = User.objects.get(email=ADMIN)
        calls = [
            lambda actor: theme_update(actor=actor, primary_colour="#7a1f5c"),
            lambda actor: theme_reset_to_preset(actor=actor, preset="ocean"),
            lambda actor: theme_set_image(actor=actor, kind="logo",
                                          uploaded=SimpleUploadedFile("l.png", image_bytes("PNG"))),
            lambda actor: theme_clear_image(actor=actor, kind="logo"),
        ]
        for call in calls:
            with pytest.raises(PermissionDenied):
                call(sales)
        assert Theme.objects.get().primary_colour == COLOURS["alpha"][0]
        assert theme_update(actor=admin, primary_colour="#7a1f5c").primary_colour == "#7a1f5c"


def test_unticking_the_coloured_header_turns_it_off_and_a_partial_post_leaves_it_alone(db, tenants, tenant_client):
    alpha = tenants["alpha"]
    admin = tenant_client(alpha, ADMIN)
    assert _theme(alpha).dark_header is True  # midnight

    assert admin.post(BRANDING, {"portal_name": "Alpha Trading"}).status_code == 302
    assert _theme(alpha).dark_header is True

    form = _form(_theme(alpha))
    del form["dark_header"]
    assert admin.post(BRANDING, form).status_code == 302
    assert _theme(alpha).dark_header is False
