"""Brokerages (tenants), their domains and the platform's own audit trail. SHARED: public schema."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django_tenants.models import DomainMixin, TenantMixin


class BrokerageKind(models.TextChoices):
    PLATFORM = "platform", "Platform (public schema)"
    TEMPLATE = "template", "Template schema"
    SPARE = "spare", "Spare schema (provisioning pool)"
    BROKERAGE = "brokerage", "Brokerage"


class BrokerageStatus(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    ARCHIVED = "archived", "Archived"


class BrokerageQuerySet(models.QuerySet):
    def brokerages(self):
        """Real brokerages only: not the public row, the template or spare schemas."""
        return self.filter(kind=BrokerageKind.BROKERAGE)

    def active(self):
        return self.brokerages().filter(status=BrokerageStatus.ACTIVE)


class Brokerage(TenantMixin):
    """One tenant. The template and spare schemas are rows too, so `migrate_schemas` keeps them current."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=16, choices=BrokerageKind.choices, default=BrokerageKind.BROKERAGE)
    status = models.CharField(max_length=16, choices=BrokerageStatus.choices, default=BrokerageStatus.PROVISIONING)
    timezone = models.CharField(max_length=64, default="UTC")
    default_language = models.CharField(max_length=8, default="en")
    status_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    # Schemas are created by provisioning (pool claim, blueprint replay or migrations), never on save.
    auto_create_schema = False
    auto_drop_schema = False

    objects = BrokerageQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("slug"), name="brokerage_slug_ci_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in BrokerageKind]), name="brokerage_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in BrokerageStatus]), name="brokerage_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.slug})"

    @property
    def is_brokerage(self) -> bool:
        return self.kind == BrokerageKind.BROKERAGE

    @property
    def is_serving(self) -> bool:
        """Portals and workers run only for active brokerages."""
        return self.is_brokerage and self.status == BrokerageStatus.ACTIVE

    def primary_host(self) -> str | None:
        domain = self.get_primary_domain()
        return domain.domain if domain else None

    def portal_url(self, path: str = "/") -> str:
        host = self.primary_host() or ""
        port = settings.PLATFORM_PORT
        suffix = f":{port}" if port not in ("80", "443", "") else ""
        return f"{settings.PLATFORM_SCHEME}://{host}{suffix}{path}"


class Domain(DomainMixin):
    """A host name a brokerage answers on: its platform subdomain or a custom domain."""

    is_custom = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # One primary domain per brokerage, enforced by the database.
            models.UniqueConstraint(fields=["tenant"], condition=Q(is_primary=True), name="domain_one_primary"),
        ]

    def __str__(self):
        return self.domain


class PlatformAuditEvent(models.Model):
    """Who did what to which brokerage, old → new, why, from where. Append-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="e-mail of the operator, or 'system'/'cli'")
    action = models.CharField(max_length=64)
    brokerage = models.ForeignKey(Brokerage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    brokerage_slug = models.CharField(max_length=40, blank=True)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.brokerage_slug}"
