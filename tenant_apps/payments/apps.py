from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "tenant_apps.payments"
    label = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Web and worker processes both load this: the inbox worker finds the money handlers by event type.
        from tenant_apps.payments.adapters.base import EventType
        from tenant_apps.payments.services import deposits, withdrawals
        from tenant_apps.payments.webhooks import register_handler

        register_handler(EventType.PAYMENT_SUCCEEDED, deposits.deposit_webhook_succeeded)
        register_handler(EventType.PAYMENT_FAILED, deposits.deposit_webhook_failed)
        register_handler(EventType.PAYMENT_DISPUTED, deposits.deposit_webhook_disputed)
        register_handler(EventType.PAYOUT_PAID, withdrawals.withdrawal_webhook_paid)
        register_handler(EventType.PAYOUT_FAILED, withdrawals.withdrawal_webhook_failed)
        # A credited deposit that names a trading account moves there through the transfer service.
        from tenant_apps.payments.services import trading_transfers

        deposits.register_deposit_credited_hook(trading_transfers.deposit_credited_hook)
