"""IB commission plans (versioned, effective-dated), which plan each IB is on (effective-dated), and the
accruals the engine writes from synced deals. Accruals are never edited: a recompute adds adjustment rows."""
from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, RangeOperators
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import F, Func, Q


class TsTzRange(Func):
    """tstzrange(valid_from, valid_to, '[)'); a NULL upper bound is open-ended. (Our own copy, so this app's
    migrations do not depend on another app's module layout.)"""

    function = "TSTZRANGE"
    output_field = models.DateTimeField()

    def __init__(self, lower, upper):
        super().__init__(lower, upper, models.Value("[)"))


MONEY = {"max_digits": 20, "decimal_places": 2}
RATE = {"max_digits": 20, "decimal_places": 6}


class CommissionPlan(models.Model):
    name = models.CharField(max_length=120, unique=True)
    currency = models.CharField(max_length=3, default="USD")
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"),
                                              name="commissions_plan_currency_code")]

    def __str__(self):
        return f"{self.name} ({self.currency})"


class PlanVersion(models.Model):
    """The plan's terms for [valid_from, valid_to). A change of terms is a new version; deals are paid by the
    version active at their time."""

    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="versions")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    # Exclusions, each configurable per version.
    exclude_own_trades = models.BooleanField(default=True, help_text="No commission on the IB's own trades.")
    min_hold_seconds = models.PositiveIntegerField(
        default=0, help_text="No commission on positions closed sooner than this after opening (0: off).")
    hedged_pairs_once = models.BooleanField(
        default=True, help_text="A close-by (hedged pair) counts once: only the buy side's OUT_BY deal pays.")
    include_swap_in_revenue = models.BooleanField(
        default=False, help_text="Revenue share also covers the swap charged on the closing deal.")
    cap_per_period = models.DecimalField(**MONEY, null=True, blank=True,
                                         help_text="Most an IB earns in one period under this version (blank: no cap).")
    # CPA: paid once per client, to its IB at the moment the client qualifies.
    cpa_amount = models.DecimalField(**MONEY, default=0)
    cpa_min_first_deposit = models.DecimalField(**MONEY, null=True, blank=True,
                                                help_text="Qualifies when the first deposit is at least this.")
    cpa_min_lots = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True,
                                       help_text="…or when closed volume reaches this many lots…")
    cpa_within_days = models.PositiveIntegerField(null=True, blank=True,
                                                  help_text="…within this many days of registration.")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "valid_from"]
        constraints = [
            ExclusionConstraint(
                name="commissions_version_no_overlap",
                expressions=[("plan", RangeOperators.EQUAL),
                             (TsTzRange(F("valid_from"), F("valid_to")), RangeOperators.OVERLAPS)],
            ),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="commissions_version_valid_interval"),
            models.CheckConstraint(condition=Q(cap_per_period__isnull=True) | Q(cap_per_period__gte=0),
                                   name="commissions_version_cap_not_negative"),
            models.CheckConstraint(condition=Q(cpa_amount__gte=0), name="commissions_version_cpa_not_negative"),
        ]

    def __str__(self):
        return f"{self.plan.name} from {self.valid_from:%Y-%m-%d %H:%M}"


class RuleKind(models.TextChoices):
    REBATE = "rebate", "Rebate per lot (direct IB)"
    REVENUE_SHARE = "revenue_share", "Revenue share % of the deal's commission (direct IB)"
    OVERRIDE = "override", "Override for an upline level (% of the child's commission or fixed per lot)"


class CommissionRule(models.Model):
    """One line of a version's terms. Among rules of the same kind and level, the most specific match wins
    (symbols and account type > symbols > account type > catch-all)."""

    version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=16, choices=RuleKind.choices)
    # 0 = the client's own IB; 1 = its parent IB; 2 = the parent's parent …
    level = models.PositiveSmallIntegerField(default=0)
    symbol_group = models.CharField(max_length=60, blank=True, help_text="Label shown on statements, e.g. FX majors.")
    symbols = ArrayField(models.CharField(max_length=32), default=list, blank=True,
                         help_text="Symbols this rule covers; empty: every symbol.")
    account_type = models.ForeignKey("brokerage.AccountType", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="Only deals on this account type; empty: any.")
    per_lot = models.DecimalField(**RATE, default=0)
    percent = models.DecimalField(max_digits=9, decimal_places=4, default=0)

    class Meta:
        ordering = ["version", "kind", "level", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=RuleKind.values), name="commissions_rule_kind_valid"),
            models.CheckConstraint(condition=Q(per_lot__gte=0) & Q(percent__gte=0) & Q(percent__lte=100),
                                   name="commissions_rule_rates_valid"),
            models.CheckConstraint(
                condition=(Q(kind="rebate", level=0, percent=0) | Q(kind="revenue_share", level=0, per_lot=0)
                           | (Q(kind="override", level__gte=1) & (Q(per_lot=0) | Q(percent=0)))),
                name="commissions_rule_shape"),
        ]

    def __str__(self):
        what = f"{self.percent}%" if self.percent else f"{self.per_lot}/lot"
        return f"{self.kind} L{self.level} {self.symbol_group or 'all symbols'}: {what}"


class PlanAssignment(models.Model):
    """IB → plan for [valid_from, valid_to). A mid-month change splits the month by deal time."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="plan_assignments")
    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="assignments")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner", "valid_from"]
        constraints = [
            ExclusionConstraint(
                name="commissions_plan_assignment_no_overlap",
                expressions=[("partner", RangeOperators.EQUAL),
                             (TsTzRange(F("valid_from"), F("valid_to")), RangeOperators.OVERLAPS)],
            ),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                                   name="commissions_plan_assignment_valid_interval"),
        ]

    def __str__(self):
        return f"IB {self.partner_id} on plan {self.plan_id} from {self.valid_from:%Y-%m-%d %H:%M}"


class AccrualKind(models.TextChoices):
    REBATE = "rebate", "Rebate"
    REVENUE_SHARE = "revenue_share", "Revenue share"
    OVERRIDE = "override", "Override"
    CPA = "cpa", "CPA"


class AccrualStatus(models.TextChoices):
    ACCRUED = "accrued", "Accrued"
    APPROVED = "approved", "Approved"
    PAID = "paid", "Paid"


class CommissionRun(models.Model):
    """One computation of a period (accrue or recompute): what it wrote, who asked, why."""

    class Mode(models.TextChoices):
        ACCRUE = "accrue", "Accrue new deals"
        RECOMPUTE = "recompute", "Recompute (adjust differences)"

    period = models.DateField(help_text="First day of the month, in the brokerage's timezone.")
    mode = models.CharField(max_length=10, choices=Mode.choices)
    since = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    accruals_written = models.PositiveIntegerField(default=0)
    adjustments_written = models.PositiveIntegerField(default=0)
    adjustments_total = models.DecimalField(**MONEY, default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.mode} {self.period:%Y-%m} (+{self.accruals_written}, ±{self.adjustments_written})"


class CommissionApproval(models.Model):
    """Staff approved a period's accrued rows: one ledger entry moved them to the IBs' commissions payable."""

    period = models.DateField()
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rows = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict, blank=True, help_text="Net amount per currency.")
    carried_forward = models.JSONField(default=list, blank=True,
                                       help_text="IBs whose negative net exceeded their payable (left accrued).")
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"approval of {self.period:%Y-%m} ({self.rows} rows)"


class CommissionPayout(models.Model):
    """Approved commission moved from the IB's commissions payable to its wallet."""

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="commission_payouts")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    rows = models.PositiveIntegerField(default=0)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="commissions_payout_positive")]

    def __str__(self):
        return f"payout {self.amount} {self.currency} to IB {self.partner_id}"


class CommissionAccrual(models.Model):
    """One IB's commission on one deal at one level (or a CPA). Written by the engine only, never updated
    except for its status; a difference found later is a new row with is_adjustment=True."""

    kind = models.CharField(max_length=16, choices=AccrualKind.choices)
    # The engine writes millions of these per month set-based, and every column it fills comes from rows it has just
    # joined in the same statement (deal → account → client, assignment → IB, plan version, run), so no foreign key
    # is re-checked per row in the database: Django's deferred FK checks on the IB and the client alone cost ~40 %
    # of a month's computation (2 checks per row, fired at commit; measured in bench/commissions.py). Deleting an
    # IB or a client that has accruals is still refused (on_delete=PROTECT is enforced by Django's collector), and
    # the only indexes are the ones queries use (below).
    server = models.ForeignKey("brokerage.TradingServerConfig", null=True, blank=True, on_delete=models.DO_NOTHING,
                               related_name="+", db_index=False, db_constraint=False)
    ticket = models.BigIntegerField(default=0, help_text="The deal ticket (0 for a CPA).")
    level = models.PositiveSmallIntegerField()
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="accruals", db_index=False,
                                db_constraint=False)
    plan_version = models.ForeignKey(PlanVersion, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
                                     db_index=False, db_constraint=False)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", db_index=False, db_constraint=False)
    login = models.BigIntegerField(default=0)
    deal_time = models.DateTimeField()
    symbol = models.CharField(max_length=32, blank=True)
    volume = models.DecimalField(max_digits=18, decimal_places=4, default=0)
    rate = models.DecimalField(**RATE, default=0)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    period = models.DateField()
    status = models.CharField(max_length=10, choices=AccrualStatus.choices, default=AccrualStatus.ACCRUED)
    is_adjustment = models.BooleanField(default=False)
    run = models.ForeignKey(CommissionRun, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="accruals",
                            db_index=False, db_constraint=False)
    approval = models.ForeignKey(CommissionApproval, null=True, blank=True, on_delete=models.DO_NOTHING,
                                 related_name="accruals", db_index=False, db_constraint=False)
    payout = models.ForeignKey(CommissionPayout, null=True, blank=True, on_delete=models.DO_NOTHING,
                               related_name="accruals", db_index=False, db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deal_time", "ticket", "level", "id"]
        constraints = [
            # Idempotency of the engine: one original row per deal, level and kind (adjustments are extra rows).
            models.UniqueConstraint(fields=["server", "ticket", "level", "kind"], condition=Q(is_adjustment=False),
                                    name="commissions_accrual_once_per_deal_level_kind"),
            models.UniqueConstraint(fields=["client", "level"], condition=Q(is_adjustment=False, kind="cpa"),
                                    name="commissions_accrual_cpa_once_per_client"),
            models.CheckConstraint(condition=Q(status__in=AccrualStatus.values), name="commissions_accrual_status"),
            models.CheckConstraint(condition=Q(kind="cpa") | Q(server__isnull=False),
                                   name="commissions_accrual_deal_has_server"),
        ]
        indexes = [
            # A block-range index: a period's rows are written together (appended), so a few bytes per 128 pages
            # find them; a B-tree here cost ~9 s of a million-deal month's 40 s of writing (bench/commissions.py).
            BrinIndex(fields=["period"], name="commissions_accrual_period_brin"),
            models.Index(fields=["partner", "period"], name="commissions_accrual_partner"),
        ]

    def __str__(self):
        return f"{self.kind} L{self.level} {self.amount} {self.currency} to IB {self.partner_id} (deal {self.ticket})"
