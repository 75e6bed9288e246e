"""The bundled sandbox PSP: a separate process that plays a card payment provider for development and tests.

A test peer, not product code: nothing in BrokerOS imports it (the adapter in payments/adapters/sandbox.py
speaks to it over HTTP, like to any PSP), and it imports nothing of BrokerOS. Standard library only.

    python manage.py run_sandbox_psp --port 8600        # or SandboxPSP(port=0).start() in a test

What it offers:
  * a REST API (Bearer <merchant API key>): payments, refunds, payouts, settlement reports, the merchant's
    webhook signing secret;
  * a hosted payment page whose test card numbers choose the outcome (cards.py);
  * webhooks to each payment's notify_url, signed like Stripe's (t=…,v1=HMAC-SHA256 of "t.body" with the
    whsec_ secret) and shaped like Stripe's events, retried with exponential backoff like a real PSP;
  * faults on request (/_control/faults): drop, delay, duplicate or reorder callbacks.
Its store is in memory: a restart forgets payments, never the merchant's signing secret (derived).
"""
from tenant_apps.payments.sandbox_psp.server import SandboxPSP

__all__ = ["SandboxPSP"]
