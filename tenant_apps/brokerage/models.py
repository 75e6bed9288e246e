"""The brokerage's own configuration: legal entities, account types, PSP and trading-server connections."""
from django.db import models
from django.db.models import Q


class LegalEntity(models.Model):
    name = models.CharField(max_length=200)
    jurisdiction = models.CharField(max_length=16, help_text="Preset code, e.g. cysec, fsa_sc.")
    regulator = models.CharField(max_length=200)
    license_number = models.CharField(max_length=80, blank=True)
    country = models.CharField(max_length=2)
    # The preset's rules, copied at creation so the brokerage can tighten them without touching the preset.
    rules = models.JSONField(default=dict)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_entity"),
            models.UniqueConstraint(fields=["name"], name="legal_entity_name_unique"),
        ]

    def __str__(self):
        return f"{self.name} ({self.regulator})"


class InstrumentClass(models.TextChoices):
    """What an account type mainly trades: the jurisdiction caps leverage per class (e.g. EU retail FX majors
    1:30, indices 1:20), and the cap of the account type's class is the account's cap."""

    FX_MAJOR = "fx_major", "FX majors"
    FX_MINOR = "fx_minor", "FX minors"
    GOLD = "gold", "gold"
    INDEX = "index", "indices"
    COMMODITY = "commodity", "commodities"
    STOCK = "stock", "stocks"
    CRYPTO = "crypto", "crypto"


class AccountType(models.Model):
    class Platform(models.TextChoices):
        MT5 = "mt5", "MetaTrader 5"

    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=80)
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="account_types")
    platform = models.CharField(max_length=8, choices=Platform.choices, default=Platform.MT5)
    is_demo = models.BooleanField(default=False)
    currency = models.CharField(max_length=3)
    default_leverage = models.PositiveIntegerField()
    platform_group = models.CharField(max_length=120, help_text="Group on the trading server, e.g. real\\standard-usd")
    min_first_deposit = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    commission_per_lot = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    instrument_class = models.CharField(
        max_length=16, choices=InstrumentClass.choices, default=InstrumentClass.FX_MAJOR,
        help_text="What the account mainly trades: the jurisdiction's leverage cap for this class applies.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["is_demo", "name"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "code"], name="account_type_code_unique"),
            models.CheckConstraint(condition=Q(default_leverage__gte=1), name="account_type_leverage_positive"),
        ]

    def __str__(self):
        return self.name


class PaymentProviderConfig(models.Model):
    """A PSP connection. Credentials are filled by the payments capability (encrypted at rest)."""

    class Kind(models.TextChoices):
        SANDBOX = "sandbox", "Bundled sandbox PSP"
        STRIPE = "stripe", "Stripe"
        BANK_WIRE = "bank_wire", "Bank wire"

    code = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    display_name = models.CharField(max_length=80)
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="payment_providers")
    currencies = models.JSONField(default=list)
    is_enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True, help_text="Non-secret settings (endpoint, mode).")

    def __str__(self):
        return self.display_name


class TradingServerConfig(models.Model):
    """A trading-server connection. Manager credentials are filled by the trading capability (encrypted)."""

    class Kind(models.TextChoices):
        MT5_SIMULATOR = "mt5_sim", "Bundled MT5 simulator"
        MT5 = "mt5", "MetaTrader 5 Web API"

    code = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    display_name = models.CharField(max_length=80)
    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="trading_servers")
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    verify_tls = models.BooleanField(default=True)
    is_enabled = models.BooleanField(default=True)
    use_tls = models.BooleanField(default=True)
    # Manager credentials (trading capability): the password is Fernet-encrypted (payments.crypto) and only
    # its hint is ever shown.
    manager_login = models.PositiveBigIntegerField(null=True, blank=True)
    manager_password_encrypted = models.TextField(blank=True)
    manager_password_hint = models.CharField(max_length=16, blank=True)
    # Terminal download links the Trader's Room shows: {"windows": url, "mac": url, "web": url, ...}.
    download_links = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return self.display_name
