"""Puts the current context's theme into every template."""
from django.conf import settings

from themes.selectors import theme_current


def theme(request):
    resolved = theme_current()
    tenant = getattr(request, "tenant", None)
    return {
        "theme": resolved,
        "brokerage": tenant if getattr(tenant, "kind", None) == "brokerage" else None,
        "platform_domain": settings.PLATFORM_DOMAIN,
    }
