"""Services that change branding and staff write their audit entries: who, old → new, and nothing when refused."""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context
from PIL import Image

from tenant_apps.audit.models import AuditEntry
from tenant_apps.identity.models import User
from tests.audit.conftest import ADMIN, head_seq, staff
from themes.models import Theme
from themes.services import theme_clear_image, theme_reset_to_preset, theme_set_image, theme_update


def new_entries(start: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__gt=start).order_by("seq"))


@pytest.fixture
def admin(in_alpha):
    return User.objects.get(email=ADMIN)


@pytest.fixture
def forget_themes(tenants):
    from themes.selectors import theme_invalidate

    yield
    for brokerage in tenants.values():
        with tenant_context(brokerage):
            theme_invalidate()


def test_a_branding_change_is_recorded_with_old_and_new_values_of_the_changed_fields_only(admin):
    theme = Theme.objects.get()
    start = head_seq()
    theme_update(actor=admin, primary_colour="#7A1F5C", portal_name=theme.portal_name, support_phone="+357 22 000000")
    (entry,) = new_entries(start)
    assert (entry.action, entry.object_type, entry.object_id) == ("theme.updated", "themes.theme", str(theme.pk))
    assert entry.changes == {"primary_colour": [theme.primary_colour, "#7a1f5c"],
                             "support_phone": [theme.support_phone, "+357 22 000000"]}
    assert (entry.actor_type, entry.actor_id, entry.actor_label, entry.actor_roles) == (
        "user", admin.pk, ADMIN, ["super_admin"])


def test_a_branding_save_that_changes_nothing_records_nothing(admin):
    theme = Theme.objects.get()
    start = head_seq()
    theme_update(actor=admin, portal_name=theme.portal_name, font=theme.font)
    assert new_entries(start) == []


def test_a_refused_branding_change_records_nothing(admin):
    start = head_seq()
    with pytest.raises(ValidationError):
        theme_update(actor=admin, primary_colour="#ffffff")  # unreadable on white
    with pytest.raises(PermissionDenied):
        theme_update(actor=staff("sales"), portal_name="Hijacked")
    assert [e.action for e in new_entries(start)] == ["staff.created"]  # the sales user, nothing else


def test_resetting_to_a_preset_records_each_colour_and_font_that_moved(admin):
    before = Theme.objects.get()
    start = head_seq()
    after = theme_reset_to_preset(actor=admin, preset="ocean")
    (entry,) = new_entries(start)
    assert entry.action == "theme.preset_applied" and entry.actor_id == admin.pk
    assert entry.changes["preset"] == ["midnight", "ocean"]
    assert entry.changes["primary_colour"] == [before.primary_colour, after.primary_colour]
    assert "portal_name" not in entry.changes


def test_uploading_and_removing_a_logo_records_the_stored_file_names(admin):
    out = io.BytesIO()
    Image.new("RGB", (120, 40), "#336699").save(out, format="PNG")
    start = head_seq()
    try:
        theme = theme_set_image(actor=admin, kind="logo", uploaded=SimpleUploadedFile("logo.png", out.getvalue()))
        stored = theme.logo.name
        theme_clear_image(actor=admin, kind="logo")
    finally:
        shutil.rmtree(Path(settings.MEDIA_ROOT) / "alpha" / "branding", ignore_errors=True)
    uploaded, removed = new_entries(start)
    assert (uploaded.action, uploaded.changes) == ("theme.image_uploaded", {"logo": [None, stored]})
    assert (removed.action, removed.changes) == ("theme.image_removed", {"logo": [stored, None]})
    assert stored.startswith("branding/logo-") and "logo.png" not in stored


def test_creating_staff_is_recorded_as_the_acting_user_or_as_the_platform(admin):
    from tenant_apps.identity.services import staff_user_create

    start = head_seq()
    hire, created = staff_user_create(email="Hire@Alpha.test", role_codes=["support"], actor=admin)
    assert created
    staff_user_create(email="hire@alpha.test", role_codes=["support", "finance"], actor=admin)
    staff_user_create(email="hire@alpha.test", role_codes=["finance"], actor=admin)  # nothing new
    by_platform, _ = staff_user_create(email="scripted@alpha.test", role_codes=["sales"], password="x" * 12)

    made, roles_changed, platform = new_entries(start)
    assert (made.action, made.object_type, made.object_id, made.subject_id) == (
        "staff.created", "identity.user", str(hire.pk), hire.pk)
    assert made.actor_label == ADMIN and made.changes["email"] == [None, "hire@alpha.test"]
    assert made.changes["roles"] == [[], ["support"]] and made.changes["password"] == [None, "invite pending"]
    assert (roles_changed.action, roles_changed.changes) == ("staff.roles_changed",
                                                             {"roles": [["support"], ["finance", "support"]]})
    assert (platform.action, platform.actor_type, platform.actor_label, platform.object_id) == (
        "staff.created", "system", "system:platform", str(by_platform.pk))
    assert "x" * 12 not in str(platform.changes)


def test_a_change_made_through_the_branding_page_carries_the_browsers_ip_and_user_agent(
        db, tenants, tenant_client, settings, forget_themes):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tenant_apps.audit.middleware.AuditOriginMiddleware"]
    alpha = tenants["alpha"]
    with tenant_context(alpha):
        theme = Theme.objects.get()
        start = head_seq()
    client = tenant_client(alpha, ADMIN)
    response = client.post("/backoffice/branding/", {"portal_name": "Alpha Trading Ltd"},
                           REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux) Firefox/140.0")
    assert response.status_code == 302
    with tenant_context(alpha):
        (entry,) = new_entries(start)
    assert entry.changes == {"portal_name": [theme.portal_name, "Alpha Trading Ltd"]}
    assert (entry.ip, entry.user_agent, entry.actor_label) == ("203.0.113.7", "Mozilla/5.0 (X11; Linux) Firefox/140.0",
                                                               ADMIN)
