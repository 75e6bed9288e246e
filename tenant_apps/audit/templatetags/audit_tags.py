"""Showing audit entries: a changed value as text, and the link to an object's timeline (when it has one)."""
import json

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()


@register.filter
def audit_value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ", ".join(map(str, value)) or "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


@register.simple_tag
def audit_object_url(entry) -> str:
    if not entry.object_id:
        return ""
    try:
        return reverse("backoffice_audit_object", kwargs={"object_type": entry.object_type, "object_id": entry.object_id})
    except NoReverseMatch:  # an id with a slash in it, say: shown, just not linked
        return ""
