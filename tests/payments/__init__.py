"""Payments tests: Stripe signatures, decline texts, the webhook inbox, processing, the sandbox PSP."""
