"""Writes on branding: apply a preset, update colours/contacts, set logo and favicon. Changes show without a restart."""
from __future__ import annotations

import uuid
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import F
from django_tenants.utils import schema_context

from tenancy.context import require_tenant
from tenant_apps.audit.services import audit_record, audit_snapshot, diff_fields
from themes.images import IMAGE_KINDS, image_normalise, read_upload
from themes.models import Theme, validate_hex_colour
from themes.presets import FONT_STACKS, PRESETS
from themes.selectors import MIN_CONTRAST, branding_can_edit, colour_contrast_checks, theme_invalidate

EDITABLE = {"portal_name", "primary_colour", "accent_colour", "font", "dark_header", "support_email",
            "support_phone", "legal_footer", "preset"}
COLOUR_LABELS = {"primary_colour": "Primary colour", "accent_colour": "Accent colour"}
PRESET_FIELDS = ("preset", "portal_name", "primary_colour", "accent_colour", "font", "dark_header", "support_email",
                 "support_phone", "legal_footer")

__all__ = ["MIN_CONTRAST", "theme_apply_preset", "theme_update", "theme_reset_to_preset", "theme_set_image",
           "theme_clear_image"]


def _require_editor(actor) -> None:
    if not branding_can_edit(actor):
        raise PermissionDenied("Only a Super Admin can change branding.")


def _after_commit_invalidate() -> None:
    # Bound to this schema now: the commit may run after the connection has moved on.
    transaction.on_commit(partial(theme_invalidate, schema_name=connection.schema_name))


def _delete_stored_file(*, schema_name: str, name: str) -> None:
    from django.core.files.storage import default_storage

    with schema_context(schema_name):  # the storage's folder is the schema's
        default_storage.delete(name)


def theme_apply_preset(*, preset: str, portal_name: str, support_email: str = "", support_phone: str = "",
                       legal_footer: str = "", actor=None) -> Theme:
    """Create or reset the brokerage's theme from a preset (idempotent: one theme row per brokerage).
    `actor` None: the platform (provisioning) did it."""
    require_tenant()
    if preset not in PRESETS:
        raise ValidationError({"preset": f"Unknown theme preset '{preset}'. Choose one of: {', '.join(PRESETS)}."})
    p = PRESETS[preset]
    with transaction.atomic():
        theme = Theme.objects.select_for_update().order_by("id").first() or Theme()
        before = audit_snapshot(theme, PRESET_FIELDS) if theme.pk else None
        theme.preset = p.code
        theme.portal_name = portal_name
        theme.primary_colour = p.primary
        theme.accent_colour = p.accent
        theme.font = p.font
        theme.dark_header = p.dark_header
        theme.support_email = support_email
        theme.support_phone = support_phone
        theme.legal_footer = legal_footer
        if theme.pk:
            theme.version = F("version") + 1
        theme.save()
        changes = diff_fields(before, theme, PRESET_FIELDS)
        if changes:
            audit_record(action="theme.preset_applied", obj=theme, changes=changes, actor=actor)
        _after_commit_invalidate()
    theme.refresh_from_db()
    return theme


def theme_reset_to_preset(*, actor, preset: str) -> Theme:
    """Back to a preset's colours, font and header; the portal name, contacts, footer and images stay."""
    require_tenant()
    _require_editor(actor)
    current = Theme.objects.order_by("id").first()
    if current is None:
        raise ValidationError("This brokerage has no theme yet; apply a preset first.")
    return theme_apply_preset(preset=preset, portal_name=current.portal_name, support_email=current.support_email,
                              support_phone=current.support_phone, legal_footer=current.legal_footer, actor=actor)


def _colour_errors(changes: dict) -> dict[str, str]:
    errors = {}
    for field, label in COLOUR_LABELS.items():
        if field not in changes:
            continue
        try:
            validate_hex_colour(changes[field])
        except ValidationError as exc:
            errors[field] = exc.messages[0]
            continue
        failing = [c for c in colour_contrast_checks(field=field, colour=changes[field].lower()) if not c.passes]
        if failing:
            c = failing[0]
            errors[field] = (
                f"{label} {changes[field]} is not readable enough: {c.where.lower()} would have contrast "
                f"{c.ratio_label} ({c.foreground} on {c.background}); at least {MIN_CONTRAST:g}:1 is needed."
            )
    return errors


def theme_update(*, actor, **changes) -> Theme:
    """Update branding fields; validates colours and their contrast before anything is written."""
    require_tenant()
    _require_editor(actor)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationError({k: "This field cannot be changed here." for k in unknown})
    errors = _colour_errors(changes)
    if "font" in changes and changes["font"] not in FONT_STACKS:
        errors["font"] = f"Unknown font '{changes['font']}'."
    if "portal_name" in changes and not str(changes["portal_name"]).strip():
        errors["portal_name"] = "The portal needs a name."
    if errors:
        raise ValidationError(errors)
    for field in COLOUR_LABELS:
        if field in changes:
            changes[field] = changes[field].lower()
    with transaction.atomic():
        theme = Theme.objects.select_for_update().order_by("id").first()
        if theme is None:
            raise ValidationError("This brokerage has no theme yet; apply a preset first.")
        before = audit_snapshot(theme, changes)
        for field, value in changes.items():
            setattr(theme, field, value)
        theme.full_clean(exclude=["logo", "favicon", "version"])
        theme.version = F("version") + 1
        theme.save()
        audited = diff_fields(before, theme, changes)
        if audited:
            audit_record(action="theme.updated", obj=theme, changes=audited, actor=actor)
        _after_commit_invalidate()
    theme.refresh_from_db()
    return theme


def _image_kind(kind: str):
    if kind not in IMAGE_KINDS:
        raise ValidationError({"kind": f"Unknown branding image '{kind}'. Choose one of: {', '.join(IMAGE_KINDS)}."})
    return IMAGE_KINDS[kind]


def theme_set_image(*, actor, kind: str, uploaded) -> Theme:
    """Store a new logo or favicon: checked by content, re-encoded to PNG under a name we choose, in the
    brokerage's own storage folder; the theme version moves so every page shows it at once."""
    require_tenant()
    _require_editor(actor)
    spec = _image_kind(kind)
    try:
        png = image_normalise(read_upload(uploaded, kind=spec), kind=spec)
    except ValidationError as exc:
        raise ValidationError({kind: exc}) from None
    schema_name = connection.schema_name
    new_name = None
    try:
        with transaction.atomic():
            theme = Theme.objects.select_for_update().order_by("id").first()
            if theme is None:
                raise ValidationError("This brokerage has no theme yet; apply a preset first.")
            field = getattr(theme, kind)
            old_name = field.name
            field.save(f"{kind}-{uuid.uuid4().hex}.png", ContentFile(png), save=False)
            new_name = field.name
            theme.version = F("version") + 1
            theme.save()
            audit_record(action="theme.image_uploaded", obj=theme, changes={kind: [old_name or None, new_name]},
                         actor=actor)
            _after_commit_invalidate()
            if old_name:
                transaction.on_commit(partial(_delete_stored_file, schema_name=schema_name, name=old_name))
    except Exception:
        if new_name:  # the row never pointed at it
            _delete_stored_file(schema_name=schema_name, name=new_name)
        raise
    theme.refresh_from_db()
    return theme


def theme_clear_image(*, actor, kind: str) -> Theme:
    """Remove the logo or favicon; the portal falls back to the brand mark / browser default."""
    require_tenant()
    _require_editor(actor)
    _image_kind(kind)
    schema_name = connection.schema_name
    with transaction.atomic():
        theme = Theme.objects.select_for_update().order_by("id").first()
        if theme is None:
            raise ValidationError("This brokerage has no theme yet; apply a preset first.")
        old_name = getattr(theme, kind).name
        if not old_name:
            return theme
        setattr(theme, kind, "")
        theme.version = F("version") + 1
        theme.save()
        audit_record(action="theme.image_removed", obj=theme, changes={kind: [old_name, None]}, actor=actor)
        _after_commit_invalidate()
        transaction.on_commit(partial(_delete_stored_file, schema_name=schema_name, name=old_name))
    theme.refresh_from_db()
    return theme
