"""Payments: PSP adapters (and the bundled sandbox PSP), PSP credentials, the durable webhook inbox."""
