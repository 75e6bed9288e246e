"""Template helpers of the account pages: a person-readable browser name and the user's known devices."""
from django import template

from tenant_apps.identity.devices import user_agent_summary
from tenant_apps.identity.selectors import devices_of

register = template.Library()


@register.filter
def device_summary(user_agent: str) -> str:
    return user_agent_summary(user_agent or "")


@register.simple_tag
def known_devices(user):
    return devices_of(user) if getattr(user, "is_authenticated", False) else []
