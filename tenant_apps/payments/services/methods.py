"""Payment methods: the tenant's rules of who sees which method (legal entity, country, currency, KYC state, risk
level, amount), sorted by speed; and the back office's create/edit of a method, validated and audited."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import transaction

from tenancy.context import require_tenant
from tenant_apps.brokerage.models import LegalEntity, PaymentProviderConfig
from tenant_apps.identity.permissions import permission_require
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import PaymentMethod

RISK_LEVELS = ("low", "medium", "high")
# The fields the editor writes, in the order the audit entry lists them.
EDITABLE = ("code", "display_name", "provider", "direction", "countries", "currencies", "kyc_states", "risk_levels",
            "legal_entities", "min_amount", "max_amount", "fee_percent", "fee_fixed", "processing_time",
            "processing_minutes", "is_enabled")
MAX_FEE_PERCENT = Decimal("20")  # a card scheme's worst plus margin; anything above is a typo (2.5 → 25)


class MethodRulesInvalid(PaymentsError):
    """A method's rules were refused: `fields` names every problem (field → [messages]); nothing was written."""

    code = "invalid_input"

    def __init__(self, fields: dict[str, list[str]]):
        super().__init__("The payment method was not saved: fix the fields below.")
        self.fields = fields


def client_risk_level(user) -> str:
    """The client's current risk level: the newest risk assessment, else the KYC case's level (low by default,
    as a case starts)."""
    from tenant_apps.compliance.models import KycCase, RiskLevel
    from tenant_apps.kyc_checks.models import RiskAssessment

    level = RiskAssessment.objects.filter(client_id=user.pk).values_list("level", flat=True).first()
    if level:
        return level
    return KycCase.objects.filter(client_id=user.pk).values_list("risk_level", flat=True).first() or RiskLevel.LOW


def methods_for_client(*, user, direction: str, country: str = "", currency: str = "",
                       amount: Decimal | None = None) -> list[PaymentMethod]:
    """The enabled methods valid for this client (legal entity, country, currency, KYC state, risk level, amount),
    fastest first."""
    from tenant_apps.compliance.selectors import client_legal_entity, kyc_state

    require_tenant()
    state = kyc_state(user)
    risk = client_risk_level(user)
    entity = client_legal_entity(user)
    country, currency = (country or "").upper(), (currency or "").upper()
    found = []
    for method in (PaymentMethod.objects.filter(is_enabled=True, provider__is_enabled=True,
                                                direction__in=[direction, PaymentMethod.Direction.BOTH])
                   .select_related("provider").prefetch_related("legal_entities")
                   .order_by("processing_minutes", "display_name")):
        entities = {e.pk for e in method.legal_entities.all()}
        if entities and (entity is None or entity.pk not in entities):
            continue
        if method.countries and country not in method.countries:
            continue
        if currency and currency not in method.currencies:
            continue
        if method.kyc_states and state not in method.kyc_states:
            continue
        if method.risk_levels and risk not in method.risk_levels:
            continue
        if amount is not None and (amount < method.min_amount or (method.max_amount and amount > method.max_amount)):
            continue
        found.append(method)
    return found


# --- the back office's editor -----------------------------------------------------------------------------

def _codes(raw) -> list[str]:
    """A list from a list or a comma/space separated string, upper-cased, de-duplicated, order kept."""
    items = raw if isinstance(raw, list | tuple) else str(raw or "").replace(";", ",").replace(" ", ",").split(",")
    seen: list[str] = []
    for item in items:
        code = str(item).strip().upper()
        if code and code not in seen:
            seen.append(code)
    return seen


def _decimal(raw, *, field: str, errors: dict, required: bool = True) -> Decimal | None:
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            errors.setdefault(field, []).append("Enter an amount.")
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors.setdefault(field, []).append(f"{text!r} is not a number.")
        return None
    if not value.is_finite():
        errors.setdefault(field, []).append("Enter a finite number.")
        return None
    if value < 0:
        errors.setdefault(field, []).append("Cannot be negative.")
        return None
    if value != value.quantize(Decimal("1e-8")) or abs(value) >= Decimal("1e12"):
        errors.setdefault(field, []).append("At most 12 digits before and 8 after the decimal point.")
        return None
    return value


def payment_method_clean(data: dict, *, method: PaymentMethod | None = None) -> dict:
    """Every field checked, every problem named at once: ISO country and currency codes (the currencies the
    ledger books), KYC states and risk levels that exist, min ≤ max, fee ranges. Returns the clean values or
    raises MethodRulesInvalid."""
    from tenant_apps.compliance.states import KycState
    from tenant_apps.crm.phones import country_choices
    from tenant_apps.ledger.currencies import DECIMAL_PLACES

    errors: dict[str, list[str]] = {}
    clean: dict = {}

    code = str(data.get("code", "") or "").strip().lower()
    if not code or len(code) > 40 or not all(c.isalnum() or c in "-_" for c in code) or not code.isascii():
        errors["code"] = ["Use 1–40 letters, digits, hyphens or underscores."]
    elif PaymentMethod.objects.filter(code=code).exclude(pk=getattr(method, "pk", None)).exists():
        errors["code"] = [f"Another method already has the code {code!r}."]
    clean["code"] = code

    name = str(data.get("display_name", "") or "").strip()
    if not name or len(name) > 80:
        errors["display_name"] = ["Enter the name clients see (at most 80 characters)."]
    clean["display_name"] = name

    provider_id = str(data.get("provider", "") or "").strip()
    provider = (PaymentProviderConfig.objects.filter(pk=int(provider_id)).first() if provider_id.isdigit() else None)
    if provider is None:
        errors["provider"] = ["Choose one of the brokerage's payment provider connections."]
    clean["provider"] = provider

    direction = str(data.get("direction", "") or "")
    if direction not in PaymentMethod.Direction.values:
        errors["direction"] = [f"Choose one of: {', '.join(PaymentMethod.Direction.values)}."]
    clean["direction"] = direction

    known_countries = {c for c, _ in country_choices("en")}
    countries = _codes(data.get("countries"))
    if unknown := [c for c in countries if c not in known_countries]:
        errors["countries"] = [f"Unknown ISO 3166 country code(s): {', '.join(unknown[:10])}."]
    clean["countries"] = countries

    currencies = _codes(data.get("currencies"))
    if not currencies:
        errors["currencies"] = ["Enter at least one ISO 4217 currency code."]
    elif unknown := [c for c in currencies if c not in DECIMAL_PLACES]:
        errors["currencies"] = [f"Currency code(s) the ledger does not book: {', '.join(unknown[:10])}."]
    clean["currencies"] = currencies

    states = [s.lower() for s in _codes(data.get("kyc_states"))]
    known_states = [value for value, _ in KycState.CHOICES]
    if unknown := [s for s in states if s not in known_states]:
        errors["kyc_states"] = [f"Unknown KYC state(s): {', '.join(unknown)}; one of {', '.join(known_states)}."]
    clean["kyc_states"] = states

    levels = [s.lower() for s in _codes(data.get("risk_levels"))]
    if unknown := [s for s in levels if s not in RISK_LEVELS]:
        errors["risk_levels"] = [f"Unknown risk level(s): {', '.join(unknown)}; one of {', '.join(RISK_LEVELS)}."]
    clean["risk_levels"] = levels

    raw_entities = data.get("legal_entities") or []
    if isinstance(raw_entities, str):
        raw_entities = raw_entities.split(",")
    entity_ids = [str(e).strip() for e in raw_entities if str(e).strip()]
    entities = list(LegalEntity.objects.filter(pk__in=[int(e) for e in entity_ids if e.isdigit()]).order_by("pk"))
    if len(entities) != len(set(entity_ids)):
        errors["legal_entities"] = ["Choose legal entities of this brokerage."]
    clean["legal_entities"] = entities

    clean["min_amount"] = _decimal(data.get("min_amount"), field="min_amount", errors=errors)
    clean["max_amount"] = _decimal(data.get("max_amount"), field="max_amount", errors=errors, required=False)
    if clean["max_amount"] is not None and clean["min_amount"] is not None and clean["max_amount"] < clean["min_amount"]:
        errors.setdefault("max_amount", []).append(
            f"The maximum ({clean['max_amount']}) is below the minimum ({clean['min_amount']}).")
    if clean["max_amount"] is not None and clean["max_amount"] == 0:
        errors.setdefault("max_amount", []).append("A maximum of 0 takes nothing: leave it empty for no maximum.")

    fee_percent = _decimal(data.get("fee_percent") or "0", field="fee_percent", errors=errors)
    if fee_percent is not None and (fee_percent > MAX_FEE_PERCENT or fee_percent != fee_percent.quantize(Decimal("0.001"))):
        errors.setdefault("fee_percent", []).append(
            f"A percentage between 0 and {MAX_FEE_PERCENT} with at most 3 decimal places.")
    clean["fee_percent"] = fee_percent
    clean["fee_fixed"] = _decimal(data.get("fee_fixed") or "0", field="fee_fixed", errors=errors)

    processing_time = str(data.get("processing_time", "") or "").strip()
    if not processing_time or len(processing_time) > 80:
        errors["processing_time"] = ['Enter what the client reads, e.g. "Instant" (at most 80 characters).']
    clean["processing_time"] = processing_time
    minutes = str(data.get("processing_minutes", "") or "0").strip()
    if not minutes.isdigit() or int(minutes) > 60 * 24 * 60:
        errors["processing_minutes"] = ["Whole minutes between 0 and 86400 (60 days)."]
        clean["processing_minutes"] = None
    else:
        clean["processing_minutes"] = int(minutes)

    enabled = data.get("is_enabled", False)
    clean["is_enabled"] = enabled in (True, "on", "true", "1", 1)

    if errors:
        raise MethodRulesInvalid(errors)
    return clean


def _snapshot(method: PaymentMethod | None) -> dict:
    if method is None or method.pk is None:
        return {}
    values = {}
    for field in EDITABLE:
        if field == "legal_entities":
            values[field] = sorted(method.legal_entities.values_list("pk", flat=True))
        elif field == "provider":
            values[field] = method.provider_id
        else:
            value = getattr(method, field)
            # plain digits: 5000.00000000 as stored and 5000 as typed are the same value, not a change
            values[field] = format(value.normalize(), "f") if isinstance(value, Decimal) else value
    return values


def payment_method_save(*, actor, data: dict, method: PaymentMethod | None = None) -> PaymentMethod:
    """Create (method=None) or edit a payment method; the audit entry lists every changed field old → new."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    permission_require(actor, "payments", "configure")
    clean = payment_method_clean(data, method=method)
    with transaction.atomic():
        audit_lock()
        if method is not None:
            method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        before = _snapshot(method)
        target = method or PaymentMethod()
        for field, value in clean.items():
            if field != "legal_entities":
                setattr(target, field, value)
        target.save()
        target.legal_entities.set(clean["legal_entities"])
        target.refresh_from_db()
        after = _snapshot(target)
        changes = {field: [before.get(field), after[field]] for field in EDITABLE
                   if before.get(field) != after[field]}
        if changes:
            audit_record(action="payment_method.created" if not before else "payment_method.changed", obj=target,
                         actor=actor, changes=changes)
        return target


@transaction.atomic
def payment_methods_create_defaults() -> list[PaymentMethod]:
    """A card method on the sandbox PSP (and bank wire when connected): idempotent, for provisioning and demos."""
    require_tenant()
    made = []
    sandbox = PaymentProviderConfig.objects.filter(kind=PaymentProviderConfig.Kind.SANDBOX).first()
    if sandbox is not None:
        method, _ = PaymentMethod.objects.get_or_create(code="card", defaults={
            "display_name": "Card", "provider": sandbox, "currencies": sandbox.currencies or ["USD", "EUR"],
            "min_amount": Decimal("10"), "max_amount": Decimal("50000"), "processing_time": "Instant",
            "processing_minutes": 0})
        made.append(method)
    return made
