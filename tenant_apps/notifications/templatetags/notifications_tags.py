"""{% notifications_badge %}: the unread count next to the user menu, on a brokerage's own pages only."""
from django import template

register = template.Library()


@register.inclusion_tag("notifications/_badge.html", takes_context=True)
def notifications_badge(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    tenant = getattr(request, "tenant", None)
    if user is None or not user.is_authenticated or getattr(tenant, "kind", None) != "brokerage":
        return {"badge_url": ""}
    from tenant_apps.identity.models import UserKind
    from tenant_apps.notifications.selectors import unread_count_cached

    url = "/backoffice/notifications/" if user.kind == UserKind.STAFF else "/notifications/"
    return {"badge_url": url, "badge_unread": unread_count_cached(user=user)}
