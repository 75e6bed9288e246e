"""{% support_help "withdrawal" %}: the help-centre links of a Trader's Room pain point (deposit, withdrawal,
account_opening), in the reader's language or English; nothing at all when the brokerage has no such articles."""
from django import template
from django.utils import translation

register = template.Library()


@register.inclusion_tag("support/portal/_help_links.html")
def support_help(point: str):
    from tenant_apps.support.selectors import help_links

    articles = help_links(point, translation.get_language() or "en")
    return {"articles": articles, "point": point}
