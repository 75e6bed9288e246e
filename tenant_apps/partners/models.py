"""Introducing brokers (IBs): who they are, their referral links, and the effective-dated relationships
client → IB (ClientAssignment) and IB → parent IB (PartnerLink). Relationships are half-open intervals
[valid_from, valid_to) that never overlap (database exclusion constraints) and are never deleted."""
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _


class TsTzRange(Func):
    """tstzrange(valid_from, valid_to, '[)'); a NULL upper bound is unbounded (open-ended interval)."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()

    def __init__(self, lower, upper):
        super().__init__(lower, upper, models.Value("[)"))


class Partner(models.Model):
    """An introducing broker. A client becomes one by applying in the portal; staff approve."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        REJECTED = "rejected", _("Rejected")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="partner")
    code = models.SlugField(max_length=32, unique=True, help_text="Default referral code (?ref=CODE).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.APPLIED)
    company_name = models.CharField(max_length=200, blank=True)
    website = models.URLField(blank=True)
    application_note = models.TextField(blank=True, help_text="What the applicant told us about their audience.")
    decision_note = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    # The IB whose sub-IB link the applicant came with: on approval the new IB starts under it.
    sponsor = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"])]

    def __str__(self):
        return f"IB {self.code} ({self.status})"


class PartnerLink(models.Model):
    """IB → parent IB for [valid_from, valid_to)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="parent_links")
    parent = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="child_links")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    request = models.ForeignKey("partners.ReassignmentRequest", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="partner_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="partners_link_no_overlap",
                expressions=[("partner", RangeOperators.EQUAL),
                             (TsTzRange(F("valid_from"), F("valid_to")), RangeOperators.OVERLAPS)],
            ),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="partners_link_valid_interval"),
            models.CheckConstraint(condition=~Q(partner=F("parent")), name="partners_link_not_self"),
        ]
        indexes = [models.Index(fields=["parent", "valid_from"])]

    def __str__(self):
        return f"IB {self.partner_id} under {self.parent_id} [{self.valid_from:%Y-%m-%d %H:%M}, {self.valid_to or '∞'})"


class ClientAssignment(models.Model):
    """Client → IB for [valid_from, valid_to)."""

    class Source(models.TextChoices):
        REGISTRATION = "registration", "Registered with the IB's referral code"
        REASSIGNMENT = "reassignment", "Approved reassignment"
        STAFF = "staff", "Assigned by staff"
        DEMO = "demo", "Demo data"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ib_assignments")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="client_assignments")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    referral_link = models.ForeignKey("partners.ReferralLink", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="assignments")
    request = models.ForeignKey("partners.ReassignmentRequest", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            ExclusionConstraint(
                name="partners_assignment_no_overlap",
                expressions=[("client", RangeOperators.EQUAL),
                             (TsTzRange(F("valid_from"), F("valid_to")), RangeOperators.OVERLAPS)],
            ),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="partners_assignment_valid_interval"),
        ]
        indexes = [models.Index(fields=["partner", "valid_from"])]

    def __str__(self):
        return (f"client {self.client_id} → IB {self.partner_id} "
                f"[{self.valid_from:%Y-%m-%d %H:%M}, {self.valid_to or '∞'})")


class ReassignmentRequest(models.Model):
    """A request to move a client to another IB (or an IB to another parent IB) from an effective moment.
    Maker (requested_by) ≠ checker (decided_by); workflow in states.py."""

    class Kind(models.TextChoices):
        CLIENT = "client", "Client → IB"
        PARENT = "parent", "IB → parent IB"

    class Mode(models.TextChoices):
        FUTURE_ONLY = "future_only", "Future commissions only"
        RECALCULATE = "recalculate", "Recalculate from the effective date"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CLIENT)
    # kind=client: client moves from from_partner to to_partner.
    client = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="ib_reassignment_requests")
    # kind=parent: subject_partner moves from parent from_partner to parent to_partner.
    subject_partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="parent_change_requests")
    from_partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    effective_at = models.DateTimeField(help_text="UTC; entered in the brokerage's timezone.")
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.FUTURE_ONLY)
    reason = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="client", client__isnull=False, subject_partner__isnull=True)
                           | Q(kind="parent", client__isnull=True, subject_partner__isnull=False)),
                name="partners_request_subject"),
            models.CheckConstraint(condition=Q(status="pending") | Q(decided_by__isnull=False),
                                   name="partners_request_decided_by"),
            models.CheckConstraint(condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                                   name="partners_request_maker_checker"),
        ]
        indexes = [models.Index(fields=["status", "requested_at"]), models.Index(fields=["client"])]

    def __str__(self):
        subject = f"client {self.client_id}" if self.kind == "client" else f"IB {self.subject_partner_id}"
        return f"reassign {subject} → {self.to_partner_id} at {self.effective_at:%Y-%m-%d %H:%M} ({self.status})"


class ReferralLink(models.Model):
    """A campaign-specific referral link of an IB: /<landing_path>?ref=<code>. kind=sub_ib links recruit sub-IBs."""

    class Kind(models.TextChoices):
        CLIENT = "client", _("Client registration")
        SUB_IB = "sub_ib", _("Sub-IB recruitment")

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="referral_links")
    code = models.SlugField(max_length=32, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CLIENT)
    campaign = models.CharField(max_length=100, blank=True)
    landing_path = models.CharField(max_length=200, default="/accounts/signup/",
                                    help_text="Path on the brokerage's domain the link lands on.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.code} ({self.kind}, {self.campaign or 'default'})"


class PartnerPolicy(models.Model):
    """The brokerage's IB programme settings (one row)."""

    singleton = models.BooleanField(default=True, unique=True)
    backdate_limit_days = models.PositiveIntegerField(
        default=31, help_text="How far back a reassignment's effective moment may be set.")
    show_client_contacts = models.BooleanField(
        default=False, help_text="IBs may see their referred clients' email and phone in the partner portal.")
    applications_open = models.BooleanField(default=True, help_text="Clients may apply to become IBs.")
    # Benchmarks of the IB performance report (percent of an IB's referrals; blank = no benchmark).
    min_activation_rate = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Flag IBs whose share of active referrals (percent) is below this.")
    min_funding_rate = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Flag IBs whose share of funded referrals (percent) is below this.")

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(singleton=True), name="partners_policy_single_row")]

    def __str__(self):
        return f"IB policy (back-date ≤ {self.backdate_limit_days} days)"


class MarketingMaterial(models.Model):
    """A banner, logo or presentation the brokerage gives its IBs (partner portal → Marketing materials). Stored
    re-encoded under the brokerage's private storage with a name we made — the same checks as KYC documents."""

    title = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    language = models.CharField(max_length=8, blank=True, help_text="Blank: for every language.")
    file = models.FileField(max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True, help_text="Pixels, for an image.")
    height = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True, help_text="Shown to IBs.")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(
            condition=Q(content_type__in=["image/jpeg", "image/png", "application/pdf"]),
            name="partners_material_content_type_safe")]

    def __str__(self):
        return f"{self.title} ({self.content_type})"

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
