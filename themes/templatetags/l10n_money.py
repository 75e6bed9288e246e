"""Locale-aware money, numbers and dates for templates: `{% load l10n_money %}` then `{{ amount|money:currency }}`,
`{{ value|num:2 }}`, `{{ moment|localdate }}`, `{{ moment|localdatetime }}` (themes/l10n.py does the work)."""
from django import template

from themes import l10n

register = template.Library()


@register.filter
def money(amount, currency=""):
    return l10n.money(amount, currency or "")


@register.filter
def num(value, places=None):
    return l10n.number(value, None if places in (None, "") else int(places))


@register.filter
def localdate(value):
    return l10n.local_date(value)


@register.filter
def localdatetime(value):
    return l10n.local_datetime(value)
