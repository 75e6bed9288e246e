"""Sanctions lists as published (public schema, platform-wide): one row per imported version, its entries,
aliases and addresses. Versions are immutable once imported; exactly one per source is current."""
from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class ListSource(models.TextChoices):
    OFAC_SDN = "ofac_sdn", "OFAC Specially Designated Nationals (SDN)"


class ListStatus(models.TextChoices):
    # No "importing" or "failed" row is ever visible: an import writes everything in one transaction.
    CURRENT = "current", "Current"
    SUPERSEDED = "superseded", "Superseded"


class EntityType(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    ENTITY = "entity", "Entity"
    VESSEL = "vessel", "Vessel"
    AIRCRAFT = "aircraft", "Aircraft"


class AliasType(models.TextChoices):
    AKA = "aka", "also known as"
    FKA = "fka", "formerly known as"
    NKA = "nka", "now known as"


class SanctionsList(models.Model):
    source = models.CharField(max_length=32, choices=ListSource.choices)
    version = models.PositiveIntegerField(help_text="1, 2, 3, ... per source, in import order")
    published_on = models.DateField(null=True, blank=True, help_text="publication date, when the operator knows it")
    status = models.CharField(max_length=16, choices=ListStatus.choices)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.TextField(blank=True, help_text="operator e-mail, 'cli' or 'system'")
    source_location = models.TextField(blank=True, help_text="directory or URL the files came from")
    entry_count = models.PositiveIntegerField(default=0)
    alias_count = models.PositiveIntegerField(default=0, help_text="strong aliases (alt.csv)")
    weak_alias_count = models.PositiveIntegerField(default=0, help_text="weak aliases (a.k.a. '...' in remarks)")
    address_count = models.PositiveIntegerField(default=0)
    # {"sdn.csv": {"sha256": ..., "bytes": ..., "rows": ..., "encoding": ...}, ...}
    files = models.JSONField(default=dict)
    import_ms = models.PositiveIntegerField(default=0)
    # Set once every active brokerage has been sent its re-screening job for this version (see tasks.py).
    rescreen_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["source", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["source", "version"], name="sanctions_list_version_unique"),
            models.UniqueConstraint(fields=["source"], condition=Q(status=ListStatus.CURRENT),
                                    name="sanctions_list_one_current_per_source"),
        ]

    def __str__(self):
        return f"{self.source} v{self.version} ({self.status}, {self.entry_count} entries)"

    @property
    def checksums(self) -> dict[str, str]:
        return {name: meta.get("sha256", "") for name, meta in sorted(self.files.items())}


class SanctionsEntry(models.Model):
    sanctions_list = models.ForeignKey(SanctionsList, on_delete=models.CASCADE, related_name="entries")
    ent_num = models.PositiveIntegerField(help_text="the publisher's id; links alt.csv and add.csv rows")
    name = models.TextField(help_text="as published: 'LAST, First Middle' for individuals")
    entity_type = models.CharField(max_length=16, choices=EntityType.choices)
    programs = ArrayField(models.TextField(), default=list, blank=True)
    title = models.TextField(blank=True)
    call_sign = models.TextField(blank=True)
    vessel_type = models.TextField(blank=True)
    tonnage = models.TextField(blank=True)
    gross_registered_tonnage = models.TextField(blank=True)
    vessel_flag = models.TextField(blank=True)
    vessel_owner = models.TextField(blank=True)
    remarks = models.TextField(blank=True)
    # Parsed from remarks: [{"text": "circa 1960", "from": "1959-01-01", "to": "1961-12-31", "circa": true}, ...]
    dates_of_birth = models.JSONField(default=list, blank=True)
    nationalities = ArrayField(models.TextField(), default=list, blank=True,
                               help_text="as published ('nationality Iran', 'citizen Russia')")
    nationality_codes = ArrayField(models.CharField(max_length=2), default=list, blank=True,
                                   help_text="ISO 3166-1 alpha-2 of the nationalities and passport-issuing countries")

    class Meta:
        ordering = ["sanctions_list", "ent_num"]
        constraints = [
            models.UniqueConstraint(fields=["sanctions_list", "ent_num"], name="sanctions_entry_ent_num_unique"),
        ]
        verbose_name_plural = "sanctions entries"

    def __str__(self):
        return f"{self.ent_num} {self.name}"


class SanctionsAlias(models.Model):
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="aliases")
    alt_num = models.PositiveIntegerField(null=True, blank=True, help_text="alt.csv id; empty for weak aliases")
    alt_type = models.CharField(max_length=3, choices=AliasType.choices)
    name = models.TextField()
    remarks = models.TextField(blank=True)
    # OFAC: weak ("low quality") a.k.a.s are broad or generic and are published only in remarks as
    # a.k.a. 'NAME'; they alone are not a basis for a match, so they score lower.
    is_weak = models.BooleanField(default=False)

    class Meta:
        ordering = ["entry", "is_weak", "alt_num", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "alt_num"], name="sanctions_alias_alt_num_unique"),
        ]
        verbose_name_plural = "sanctions aliases"

    def __str__(self):
        return f"{self.alt_type}{' (weak)' if self.is_weak else ''} {self.name}"


class SanctionsAddress(models.Model):
    entry = models.ForeignKey(SanctionsEntry, on_delete=models.CASCADE, related_name="addresses")
    add_num = models.PositiveIntegerField()
    address = models.TextField(blank=True)
    city = models.TextField(blank=True, help_text="City/State/Province/Postal Code as published")
    country = models.TextField(blank=True)
    remarks = models.TextField(blank=True)

    class Meta:
        ordering = ["entry", "add_num"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "add_num"], name="sanctions_address_add_num_unique"),
        ]
        verbose_name_plural = "sanctions addresses"

    def __str__(self):
        return ", ".join(x for x in (self.address, self.city, self.country) if x) or f"address {self.add_num}"
