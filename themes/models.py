"""A brokerage's branding (TENANT: one row in each brokerage's schema)."""
import re

from django.core.exceptions import ValidationError
from django.db import models

from themes.presets import FONT_STACKS, PRESETS

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def validate_hex_colour(value: str) -> None:
    if not HEX_COLOUR.match(value or ""):
        raise ValidationError(f"'{value}' is not a colour like #1b2a4a.", code="invalid_colour")


class Theme(models.Model):
    preset = models.CharField(max_length=16, choices=[(p.code, p.name) for p in PRESETS.values()], default="ocean")
    portal_name = models.CharField(max_length=80)
    primary_colour = models.CharField(max_length=7, validators=[validate_hex_colour])
    accent_colour = models.CharField(max_length=7, validators=[validate_hex_colour])
    font = models.CharField(max_length=16, choices=[(k, v[0]) for k, v in FONT_STACKS.items()], default="system")
    dark_header = models.BooleanField(default=True)
    logo = models.FileField(upload_to="branding/", blank=True)
    favicon = models.FileField(upload_to="branding/", blank=True)
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=40, blank=True)
    legal_footer = models.TextField(blank=True)
    # Bumped on every save: the stylesheet URL carries it, so browsers fetch new colours at once.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(primary_colour__regex=r"^#[0-9a-fA-F]{6}$"), name="theme_primary_hex"),
            models.CheckConstraint(condition=models.Q(accent_colour__regex=r"^#[0-9a-fA-F]{6}$"), name="theme_accent_hex"),
        ]

    def __str__(self):
        return f"{self.portal_name} theme v{self.version}"
