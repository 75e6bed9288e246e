"""KYC data: the client's case (state, reason, risk, reviewer), profile and uploaded documents."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tenant_apps.compliance.states import KycState


class RiskLevel:
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CHOICES = [(LOW, "Low"), (MEDIUM, "Medium"), (HIGH, "High")]


class KycCase(models.Model):
    client = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kyc_case")
    state = models.CharField(max_length=24, choices=KycState.CHOICES, default=KycState.NOT_STARTED)
    # What the client is told (e.g. "Your proof of address is older than 3 months."); staff-only notes elsewhere.
    client_reason = models.CharField(max_length=300, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Set by the screening/risk assessment; "high" needs two different approvers (four-eyes).
    risk_level = models.CharField(max_length=8, choices=RiskLevel.CHOICES, default=RiskLevel.LOW)
    # The reviewer who claimed the case (the queue's assignee filter).
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    # Four-eyes: the first approval of a high-risk case waits here until a DIFFERENT approver completes it.
    first_approval_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+")
    first_approval_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(state__regex=r"^(not_started|pending_review|resubmission_needed|approved|rejected)$"),
                                   name="kyc_case_state_valid"),
        ]

    def __str__(self):
        return f"KYC of user {self.client_id}: {self.state}"


class ClientProfile(models.Model):
    """The client's own statements: identity, address, tax, employment, money, and appropriateness answers."""

    class Employment(models.TextChoices):
        EMPLOYED = "employed", _("Employed")
        SELF_EMPLOYED = "self_employed", _("Self-employed")
        UNEMPLOYED = "unemployed", _("Unemployed")
        RETIRED = "retired", _("Retired")
        STUDENT = "student", _("Student")

    class SourceOfFunds(models.TextChoices):
        SALARY = "salary", _("Salary")
        BUSINESS = "business", _("Business income")
        SAVINGS = "savings", _("Savings")
        INVESTMENTS = "investments", _("Investments")
        INHERITANCE = "inheritance", _("Inheritance")
        PENSION = "pension", _("Pension")

    class DepositBand(models.TextChoices):
        UNDER_1K = "lt_1k", _("Under 1,000 USD")
        UP_TO_10K = "1k_10k", _("1,000 – 10,000 USD")
        UP_TO_50K = "10k_50k", _("10,000 – 50,000 USD")
        OVER_50K = "gt_50k", _("Over 50,000 USD")

    client = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kyc_profile")
    full_name = models.CharField(max_length=200, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True)
    nationality = models.CharField(max_length=2, blank=True)
    tax_residence = models.CharField(max_length=2, blank=True)
    employment_status = models.CharField(max_length=16, choices=Employment.choices, blank=True)
    source_of_funds = models.CharField(max_length=16, choices=SourceOfFunds.choices, blank=True)
    expected_deposit = models.CharField(max_length=8, choices=DepositBand.choices, blank=True)
    # {question code: answer code} for the jurisdiction's question set (compliance/profile.py).
    appropriateness_answers = models.JSONField(default=dict, blank=True)
    appropriateness_score = models.PositiveSmallIntegerField(null=True, blank=True)
    appropriateness_passed = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"profile of user {self.client_id}"


class DocumentType:
    PASSPORT = "passport"
    ID_CARD = "id_card"
    DRIVING_LICENCE = "driving_licence"
    PROOF_OF_ADDRESS = "proof_of_address"
    SELFIE = "selfie"
    SOURCE_OF_FUNDS = "source_of_funds"
    CORPORATE = "corporate"
    CHOICES = [
        (PASSPORT, _("Passport")), (ID_CARD, _("National ID card")), (DRIVING_LICENCE, _("Driving licence")),
        (PROOF_OF_ADDRESS, _("Proof of address")), (SELFIE, _("Selfie")), (SOURCE_OF_FUNDS, _("Source-of-funds evidence")),
        (CORPORATE, _("Corporate document")),
    ]
    IDENTITY = frozenset({PASSPORT, ID_CARD, DRIVING_LICENCE})


class DocumentState:
    PENDING_REVIEW = "pending_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CHOICES = [(PENDING_REVIEW, _("Pending review")), (ACCEPTED, _("Accepted")), (REJECTED, _("Rejected"))]


class KycDocument(models.Model):
    """One uploaded document: stored re-encoded under the brokerage's private storage with a name we made."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kyc_documents")
    doc_type = models.CharField(max_length=20, choices=DocumentType.CHOICES)
    file = models.FileField(max_length=200)
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    issue_date = models.DateField(null=True, blank=True)
    expiry_date = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=DocumentState.CHOICES, default=DocumentState.PENDING_REVIEW)
    # Reason code (compliance/reasons.py) and the client-facing text of a rejection.
    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [models.Index(fields=["client", "doc_type"])]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=["pending_review", "accepted", "rejected"]),
                                   name="kyc_document_state_valid"),
            models.CheckConstraint(condition=Q(content_type__in=["image/jpeg", "image/png", "application/pdf"]),
                                   name="kyc_document_content_type_safe"),
        ]

    def __str__(self):
        return f"{self.doc_type} of user {self.client_id} ({self.state})"
