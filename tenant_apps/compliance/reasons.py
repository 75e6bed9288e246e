"""Structured review outcomes: the reasons a reviewer picks from, what the client is told and what to do next."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    label: str          # what the reviewer picks
    client_text: str    # what the client reads (never staff notes)
    next_step: str      # what the client should do about it


REASONS: dict[str, Reason] = {r.code: r for r in [
    Reason("unreadable", "Document unreadable",
           "We could not read your document: the picture is blurred, cut off or too dark.",
           "Upload a new, sharp photo or scan of the whole document, in good light, with all four corners visible."),
    Reason("expired", "Document expired", "Your identity document has expired.",
           "Upload a valid identity document that has not expired."),
    Reason("address_too_old", "Proof of address too old", "Your proof of address is older than we can accept.",
           "Upload a utility bill or bank statement issued within the last 3 months."),
    Reason("name_mismatch", "Name does not match the profile",
           "The name on your document does not match the name in your profile.",
           "Check the full name in your profile, or upload a document in the name you registered with."),
    Reason("wrong_document", "Wrong document type", "This document is not one we can accept for this step.",
           "Upload a passport, national ID card or driving licence, or a recent bill or bank statement for "
           "your address."),
    Reason("incomplete", "Pages or sides missing", "Part of your document is missing.",
           "Upload both sides of your ID card, or every page of your statement."),
    Reason("compliance_decision", "Compliance decision (no detail to the client)",
           "We are unable to offer you an account.", "Contact support if you have questions."),
]}
REASON_CHOICES = [(r.code, r.label) for r in REASONS.values()]
