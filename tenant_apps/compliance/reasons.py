"""Structured review outcomes: the reasons a reviewer picks from, what the client is told and what to do next."""
from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop as N_


@dataclass(frozen=True)
class Reason:
    code: str
    label: str          # what the reviewer picks
    client_text: str    # what the client reads (never staff notes); English, stored, shown through the catalogue
    next_step: str      # what the client should do about it


REASONS: dict[str, Reason] = {r.code: r for r in [
    Reason("unreadable", _("Document unreadable"),
           N_("We could not read your document: the picture is blurred, cut off or too dark."),
           N_("Upload a new, sharp photo or scan of the whole document, in good light, with all four corners visible.")),
    Reason("expired", _("Document expired"), N_("Your identity document has expired."),
           N_("Upload a valid identity document that has not expired.")),
    Reason("address_too_old", _("Proof of address too old"), N_("Your proof of address is older than we can accept."),
           N_("Upload a utility bill or bank statement issued within the last 3 months.")),
    Reason("name_mismatch", _("Name does not match the profile"),
           N_("The name on your document does not match the name in your profile."),
           N_("Check the full name in your profile, or upload a document in the name you registered with.")),
    Reason("wrong_document", _("Wrong document type"), N_("This document is not one we can accept for this step."),
           N_("Upload a passport, national ID card or driving licence, or a recent bill or bank statement for "
           "your address.")),
    Reason("incomplete", _("Pages or sides missing"), N_("Part of your document is missing."),
           N_("Upload both sides of your ID card, or every page of your statement.")),
    Reason("compliance_decision", _("Compliance decision (no detail to the client)"),
           N_("We are unable to offer you an account."), N_("Contact support if you have questions.")),
]}
REASON_CHOICES = [(r.code, r.label) for r in REASONS.values()]
