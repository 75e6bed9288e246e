"""`{% can "capability" "action" as name %}`: templates ask the same permission matrix as views and the API."""
from django import template

from tenant_apps.identity.permissions import has_perm

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, capability: str, action: str) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    return bool(user is not None and getattr(user, "is_authenticated", False) and has_perm(user, capability, action))
