"""Bank wires: incoming wires from an imported bank statement or typed by Finance, matched to pending wire deposits.

Automatic match: the deposit reference read from the remittance text (any case, spaces or dashes, its check
character valid) names a pending bank wire deposit of the same connection, with the same amount and currency,
paid by someone whose name matches the client's verified name (rapidfuzz token_set_ratio ≥ NAME_MATCH_MIN). Then
the deposit is settled through the deposit success path (deposits.deposit_payment_succeeded: ledger idempotency by
the deposit's reference, so money moves once however often a wire is seen). Anything else waits in Finance's
queue — unmatched (no, unknown or mistyped reference; the deposit already paid), mismatched_name, amount_mismatch —
where Finance matches it to a deposit with a note (a name that does not match needs Compliance or a Manager,
never the proposer, to approve), returns it to the sender, or ignores it with a reason. Every step is audited.

Statement CSV formats (the header row decides; comma, semicolon or tab separated; UTF-8, a BOM is fine):

* ``brokeros`` — ``bank_transaction_id, value_date, amount, currency, payer_name, payer_account, reference``;
  value_date ``YYYY-MM-DD``; amount with a decimal point, positive for money received (negative rows are
  outgoing payments and are skipped).
* ``camt053`` — a camt.053 statement exported as CSV with the ISO 20022 element names as headers:
  ``AcctSvcrRef`` (or ``NtryRef``), ``ValDt`` (or ``BookgDt``), ``Amt``, ``Ccy``, ``CdtDbtInd`` (``CRDT`` /
  ``DBIT``), ``DbtrNm``, ``DbtrAcct`` (IBAN), ``RmtInf`` (or ``Ustrd``). Dates ``YYYY-MM-DD`` or ``DD.MM.YYYY``;
  amounts may use a decimal comma (``1.234,56``). DBIT rows are skipped.

A file with any bad row is refused whole with every bad row named (nothing imported); a row whose bank transaction
id was imported before is counted as a duplicate and skipped, never imported twice (database constraint).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from rapidfuzz import fuzz
from stdnum import iban as iban_number

from tenancy.context import require_tenant
from tenant_apps.brokerage.models import PaymentProviderConfig
from tenant_apps.identity.permissions import permission_require
from tenant_apps.payments.adapters.bank_wire import wire_reference_find
from tenant_apps.payments.errors import PaymentsError
from tenant_apps.payments.models import (
    WIRE_OPEN,
    BankStatementImport,
    Deposit,
    IncomingWire,
    WireStatus,
)
from tenant_apps.payments.money import AmountError, currency_code, exponent, to_minor

NAME_MATCH_MIN = 88          # token_set_ratio (0–100) from which a payer name counts as the client's
WIRE_DEPOSIT_WAITING = ("initiated", "pending_psp")
MAX_STATEMENT_BYTES = 5 * 1024 * 1024
MAX_STATEMENT_ROWS = 5000


class WireRefused(PaymentsError):
    code = "wire_refused"


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self):
        return f"line {self.line}: {self.message}"


class StatementRejected(WireRefused):
    """The statement cannot be imported: nothing was written. `errors` names every bad row."""

    code = "statement_rejected"

    def __init__(self, message: str, *, errors: list[RowError] | None = None):
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True)
class StatementRow:
    line: int
    bank_transaction_id: str
    value_date: date
    amount: Decimal
    currency: str
    payer_name: str
    payer_account: str
    bank_reference: str


@dataclass
class ParsedStatement:
    format: str
    rows: list[StatementRow] = field(default_factory=list)
    skipped: list[RowError] = field(default_factory=list)   # outgoing payments: not ours to match
    errors: list[RowError] = field(default_factory=list)


# --- parsing ---------------------------------------------------------------------------------------------------

# Our column → the header names each format uses for it (lower case). The first column set found decides.
FORMATS = {
    "brokeros": {"bank_transaction_id": ("bank_transaction_id",), "value_date": ("value_date",),
                 "amount": ("amount",), "currency": ("currency",), "payer_name": ("payer_name",),
                 "payer_account": ("payer_account",), "bank_reference": ("reference",)},
    "camt053": {"bank_transaction_id": ("acctsvcrref", "ntryref"), "value_date": ("valdt", "bookgdt"),
                "amount": ("amt",), "currency": ("ccy",), "direction": ("cdtdbtind",), "payer_name": ("dbtrnm",),
                "payer_account": ("dbtracct", "dbtriban"), "bank_reference": ("rmtinf", "ustrd")},
}
REQUIRED = ("bank_transaction_id", "value_date", "amount", "currency")


def _decimal(raw: str, *, decimal_comma: bool) -> Decimal:
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    if decimal_comma and "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif "," in text:
        raise InvalidOperation
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation
    return value


def _date(raw: str) -> date:
    text = raw.strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def _payer_account_problem(account: str) -> str:
    """An IBAN-shaped payer account must pass its checksum (a typo in manual entry); others are kept as given."""
    compact = re.sub(r"\s+", "", account).upper()
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}", compact) and not iban_number.is_valid(compact):
        return f"payer IBAN {account} is not a valid IBAN (checksum or length)"
    return ""


def _row_of(values: dict[str, str], *, line: int, decimal_comma: bool, result: ParsedStatement) -> None:
    problems = []
    txn = values.get("bank_transaction_id", "").strip()
    if not txn:
        problems.append("the bank transaction id is empty")
    elif len(txn) > 100:
        problems.append("the bank transaction id is longer than 100 characters")
    try:
        value_date = _date(values.get("value_date", ""))
    except ValueError:
        value_date = None
        problems.append(f"value date {values.get('value_date', '')!r} is not YYYY-MM-DD (or DD.MM.YYYY)")
    try:
        amount = _decimal(values.get("amount", ""), decimal_comma=decimal_comma)
    except (InvalidOperation, ValueError):
        amount = None
        problems.append(f"amount {values.get('amount', '')!r} is not a number")
    try:
        currency = currency_code(values.get("currency", ""))
    except AmountError:
        currency = ""
        problems.append(f"currency {values.get('currency', '')!r} is not an ISO 4217 code")
    direction = values.get("direction", "").strip().upper()
    if direction and direction not in ("CRDT", "DBIT"):
        problems.append(f"CdtDbtInd {direction!r} is neither CRDT nor DBIT")
    if amount is not None and currency:
        try:
            to_minor(abs(amount), currency)
        except AmountError:
            problems.append(f"amount {amount} has more decimal places than {currency} allows")
    account_problem = _payer_account_problem(values.get("payer_account", ""))
    if account_problem:
        problems.append(account_problem)
    if problems:
        result.errors.append(RowError(line, "; ".join(problems)))
        return
    if direction == "DBIT" or amount <= 0:
        result.skipped.append(RowError(line, f"outgoing payment {txn} ({amount} {currency}): not a deposit"))
        return
    result.rows.append(StatementRow(
        line=line, bank_transaction_id=txn, value_date=value_date, amount=amount, currency=currency,
        payer_name=values.get("payer_name", "").strip()[:200],
        payer_account=re.sub(r"\s+", "", values.get("payer_account", "")).upper()[:64],
        bank_reference=values.get("bank_reference", "").strip()[:300]))


def statement_parse(*, content: bytes) -> ParsedStatement:
    """Read a statement CSV; every problem is collected (with its line number), nothing is written."""
    if not content.strip():
        raise StatementRejected("The file is empty.")
    if len(content) > MAX_STATEMENT_BYTES:
        raise StatementRejected(f"The file is larger than {MAX_STATEMENT_BYTES // (1024 * 1024)} MB.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementRejected(f"The file is not UTF-8 text (byte {exc.start}): export the statement as UTF-8 "
                                "CSV.") from exc
    first = text.splitlines()[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    chosen = None
    for name, columns in FORMATS.items():
        index = {}
        for ours, names in columns.items():
            found = next((header.index(n) for n in names if n in header), None)
            if found is not None:
                index[ours] = found
        if all(k in index for k in REQUIRED):
            chosen = (name, index)
            break
    if chosen is None:
        raise StatementRejected(
            "The header row is not a known statement format. Expected the BrokerOS columns "
            "(bank_transaction_id, value_date, amount, currency, payer_name, payer_account, reference) or a "
            "camt.053 CSV export (AcctSvcrRef, ValDt, Amt, Ccy, CdtDbtInd, DbtrNm, DbtrAcct, RmtInf); "
            f"found: {', '.join(header) or 'nothing'}.")
    name, index = chosen
    result = ParsedStatement(format=name)
    decimal_comma = delimiter == ";"
    count = 0
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if count > MAX_STATEMENT_ROWS:
            raise StatementRejected(f"The file has more than {MAX_STATEMENT_ROWS} rows: split it.")
        if len(cells) < len(header):
            result.errors.append(RowError(line, f"{len(cells)} columns where the header has {len(header)}"))
            continue
        _row_of({ours: cells[i] for ours, i in index.items()}, line=line, decimal_comma=decimal_comma, result=result)
    if not result.rows and not result.skipped and not result.errors:
        raise StatementRejected("The file has a header but no rows.")
    return result


# --- names ----------------------------------------------------------------------------------------------------

def _plain(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def name_score(payer: str, client_names: list[str]) -> int:
    """How well the payer's name matches the client (0–100, the best of the client's names).

    token_set_ratio forgives order, case, accents and extra words ("GARCIA MARIA J." for "María García"); when the
    two names share fewer than two words it is capped by token_sort_ratio, so a single common surname ("GARCIA
    TRADING LTD") is not enough.
    """
    a = _plain(payer)
    best = 0
    for candidate in client_names:
        b = _plain(candidate)
        if not a or not b:
            continue
        score = fuzz.token_set_ratio(a, b)
        shared = set(a.split()) & set(b.split())
        if len(shared) < min(2, len(a.split()), len(b.split())):
            score = min(score, fuzz.token_sort_ratio(a, b))
        best = max(best, round(score))
    return best


def _client_profile(client):
    from tenant_apps.compliance.models import ClientProfile

    return ClientProfile.objects.filter(client=client).first()


def _names_of(client) -> list[str]:
    profile = _client_profile(client)
    names = [profile.full_name] if profile is not None and profile.full_name else []
    if client.full_name and client.full_name not in names:
        names.append(client.full_name)
    return names


def _shown(amount: Decimal, currency: str) -> str:
    """An amount at its currency's precision, with the code: "1480.00 EUR" (the database keeps 8 places)."""
    return f"{amount.quantize(Decimal(1).scaleb(-exponent(currency)))} {currency}"


# --- writes ---------------------------------------------------------------------------------------------------

def _audit(action: str, wire: IncomingWire, *, actor=None, reason: str = "", changes=None, subject=None):
    from tenant_apps.audit.services import audit_record

    audit_record(action=action, obj=wire, actor=actor if actor is not None else "bank-wires", reason=reason[:300],
                 changes=changes or {}, subject=subject)


def _wire_provider(provider_code: str) -> PaymentProviderConfig:
    config = PaymentProviderConfig.objects.filter(code=provider_code, kind=PaymentProviderConfig.Kind.BANK_WIRE).first()
    if config is None:
        raise WireRefused(f"No bank wire connection '{provider_code}' in this brokerage.", code="unknown_bank_account")
    return config


def statement_import(*, provider_code: str, file_name: str, content: bytes, actor) -> BankStatementImport:
    """Import a bank statement: every row checked first (any bad row → StatementRejected, nothing written), new
    credits stored (a bank transaction id seen before is a duplicate, skipped), then each new wire matched."""
    from tenant_apps.audit.services import audit_lock, audit_record

    require_tenant()
    permission_require(actor, "payments.wires", "match")
    _wire_provider(provider_code)
    parsed = statement_parse(content=content)
    if parsed.errors:
        raise StatementRejected(f"{len(parsed.errors)} row(s) of the statement are not valid: nothing was imported.",
                                errors=parsed.errors)
    new_ids = []
    with transaction.atomic():
        audit_lock()
        record = BankStatementImport.objects.create(
            provider_code=provider_code, file_name=(file_name or "statement.csv")[:200],
            file_sha256=hashlib.sha256(content).hexdigest(), format=parsed.format, uploaded_by=actor,
            rows_total=len(parsed.rows) + len(parsed.skipped), rows_skipped=len(parsed.skipped))
        for row in parsed.rows:
            try:
                with transaction.atomic():  # a savepoint: a duplicate leaves the rest of the import alone
                    wire = IncomingWire.objects.create(
                        provider_code=provider_code, bank_transaction_id=row.bank_transaction_id,
                        value_date=row.value_date, amount=row.amount, currency=row.currency,
                        payer_name=row.payer_name, payer_account=row.payer_account, bank_reference=row.bank_reference,
                        source=IncomingWire.Source.STATEMENT, statement=record, entered_by=actor)
            except IntegrityError:
                record.rows_duplicate += 1
                continue
            new_ids.append(wire.pk)
        record.rows_imported = len(new_ids)
        record.save(update_fields=["rows_imported", "rows_duplicate"])
        audit_record(action="wire.statement_imported", obj=record, actor=actor,
                     reason=f"{record.file_name}: {record.rows_imported} new, {record.rows_duplicate} already "
                            f"imported, {record.rows_skipped} outgoing skipped",
                     changes={"sha256": [None, record.file_sha256], "format": [None, record.format]})
    matched = sum(1 for pk in new_ids if wire_auto_match(wire_id=pk).status == WireStatus.MATCHED)
    if matched:
        BankStatementImport.objects.filter(pk=record.pk).update(rows_matched=matched)
        record.rows_matched = matched
    return record


def wire_enter(*, actor, provider_code: str, value_date: date, amount: Decimal, currency: str, payer_name: str,
               payer_account: str = "", bank_reference: str = "", bank_transaction_id: str = "") -> IncomingWire:
    """Finance types in a wire the bank reported another way (a phone call, a PDF advice); then it is matched."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    permission_require(actor, "payments.wires", "match")
    _wire_provider(provider_code)
    try:
        code = currency_code(currency)
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise AmountError("The amount must be a positive number.")
        to_minor(amount, code)
    except AmountError as exc:
        raise WireRefused(str(exc), code="invalid_amount") from exc
    if not payer_name.strip():
        raise WireRefused("Enter the payer's name as the bank shows it.", code="payer_name_required")
    problem = _payer_account_problem(payer_account)
    if problem:
        raise WireRefused(problem[0].upper() + problem[1:] + ".", code="invalid_iban")
    if value_date > timezone.localdate():
        raise WireRefused("The value date is in the future.", code="invalid_value_date")
    txn = bank_transaction_id.strip()[:100]
    with transaction.atomic():
        audit_lock()
        if txn and IncomingWire.objects.filter(provider_code=provider_code, bank_transaction_id=txn).exists():
            raise WireRefused(f"A wire with bank transaction id {txn} is recorded already.", code="duplicate_wire")
        wire = IncomingWire.objects.create(
            provider_code=provider_code, bank_transaction_id=txn, value_date=value_date, amount=amount, currency=code,
            payer_name=payer_name.strip()[:200], payer_account=re.sub(r"\s+", "", payer_account).upper()[:64],
            bank_reference=bank_reference.strip()[:300], source=IncomingWire.Source.MANUAL, entered_by=actor)
        _audit("wire.entered", wire, actor=actor, changes={"amount": [None, str(amount)], "currency": [None, code]})
    return wire_auto_match(wire_id=wire.pk)


def _settle(wire: IncomingWire, deposit: Deposit, *, actor, note: str) -> None:
    """Credit the deposit through the deposit success path and mark the wire matched (caller holds both locks)."""
    from tenant_apps.payments.services.deposits import deposit_payment_succeeded

    wire.status = WireStatus.MATCHED
    wire.deposit = deposit
    wire.matched_by = actor
    wire.note = note or wire.note
    wire.decided_at = timezone.now()
    wire.save(update_fields=["status", "deposit", "matched_by", "note", "decided_at", "approved_by", "reason",
                             "name_score", "reference_found"])
    deposit_payment_succeeded(provider_code=deposit.provider_code, reference=deposit.reference, amount=wire.amount,
                              currency=wire.currency, payer_name=wire.payer_name, source=f"wire:{wire.pk}",
                              name_checked=True)


def _queue(wire: IncomingWire, status: str, reason: str, *, deposit: Deposit | None = None) -> IncomingWire:
    wire.status, wire.reason, wire.deposit = status, reason[:300], deposit
    wire.save(update_fields=["status", "reason", "deposit", "name_score", "reference_found"])
    _audit("wire.queued", wire, reason=reason, subject=deposit.client_id if deposit else None,
           changes={"status": [None, status]})
    return wire


def wire_auto_match(*, wire_id: int) -> IncomingWire:
    """Match an open wire by the reference it carries, or put it in Finance's queue with the reason."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    with transaction.atomic():
        audit_lock()
        wire = IncomingWire.objects.select_for_update().get(pk=wire_id)
        if wire.status not in WIRE_OPEN or wire.proposed_deposit_id:
            return wire
        reference, why = wire_reference_find(wire.bank_reference)
        wire.reference_found = reference
        if not reference:
            return _queue(wire, WireStatus.UNMATCHED, why[0].upper() + why[1:])
        deposit = (Deposit.objects.select_for_update(of=("self",)).select_related("client", "method__provider")
                   .filter(reference=reference).first())
        if deposit is None or deposit.method.provider.kind != PaymentProviderConfig.Kind.BANK_WIRE:
            return _queue(wire, WireStatus.UNMATCHED, f"No bank wire deposit has the reference {reference}.")
        if deposit.provider_code != wire.provider_code:
            return _queue(wire, WireStatus.UNMATCHED, f"Deposit {reference} was to be paid into another bank account "
                                                      f"({deposit.provider_code}).", deposit=deposit)
        if deposit.status not in WIRE_DEPOSIT_WAITING:
            paid = deposit.wires.filter(status=WireStatus.MATCHED).exclude(pk=wire.pk).first()
            return _queue(wire, WireStatus.UNMATCHED,
                          f"Deposit {reference} is {deposit.status} already"
                          + (f" (paid by wire #{paid.pk}): a second payment?" if paid else "."), deposit=deposit)
        if wire.amount != deposit.amount or wire.currency != deposit.currency:
            return _queue(wire, WireStatus.AMOUNT_MISMATCH,
                          f"Received {_shown(wire.amount, wire.currency)}; deposit {reference} is for "
                          f"{_shown(deposit.amount, deposit.currency)}.", deposit=deposit)
        wire.name_score = name_score(wire.payer_name, _names_of(deposit.client))
        if wire.name_score < NAME_MATCH_MIN:
            return _queue(wire, WireStatus.MISMATCHED_NAME,
                          f"Payer '{wire.payer_name or '(none)'}' does not match the client's verified name "
                          f"(score {wire.name_score} < {NAME_MATCH_MIN}).", deposit=deposit)
        wire.reason = f"Matched automatically by reference {reference} (name score {wire.name_score})."
        _settle(wire, deposit, actor=None, note="")
        _audit("wire.matched", wire, reason=wire.reason, subject=deposit.client_id,
               changes={"status": [None, WireStatus.MATCHED], "deposit": [None, deposit.reference]})
        return wire


def _locked_open(wire: IncomingWire) -> IncomingWire:
    wire = IncomingWire.objects.select_for_update().get(pk=wire.pk)
    if wire.status not in WIRE_OPEN:
        raise WireRefused(f"This wire is {wire.get_status_display().lower()} already.", code="wire_closed")
    return wire


def _note_required(note: str, what: str) -> str:
    note = (note or "").strip()
    if not note:
        raise WireRefused(f"{what} needs a note saying why.", code="note_required")
    return note


def wire_match(*, wire: IncomingWire, deposit: Deposit, actor, note: str) -> IncomingWire:
    """Finance matches a queued wire to a deposit. Same currency only; a different amount is credited as received
    (the deposit's amount becomes the wire's, recorded). A payer name that does not match the client makes this a
    proposal that Compliance or a Manager — not the proposer — must approve (wire_match_approve)."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    permission_require(actor, "payments.wires", "match")
    note = _note_required(note, "Matching a wire by hand")
    with transaction.atomic():
        audit_lock()
        wire = _locked_open(wire)
        if wire.proposed_deposit_id:
            raise WireRefused("A match of this wire is waiting for approval already.", code="proposal_pending")
        deposit = _locked_waiting_deposit(wire, deposit.pk)
        wire.name_score = name_score(wire.payer_name, _names_of(deposit.client))
        if wire.name_score < NAME_MATCH_MIN:
            wire.proposed_deposit, wire.proposed_by, wire.proposed_at = deposit, actor, timezone.now()
            wire.proposal_note = note
            wire.save(update_fields=["proposed_deposit", "proposed_by", "proposed_at", "proposal_note", "name_score"])
            _audit("wire.match_proposed", wire, actor=actor, subject=deposit.client_id,
                   reason=f"{note} (payer name score {wire.name_score}: needs Compliance or Manager approval)",
                   changes={"proposed_deposit": [None, deposit.reference]})
            return wire
        changes = _take_wire_amount(deposit, wire, actor=actor)
        wire.reason = f"Matched by hand to {deposit.reference}."
        _settle(wire, deposit, actor=actor, note=note)
        _audit("wire.matched", wire, actor=actor, reason=note, subject=deposit.client_id,
               changes={"status": [None, WireStatus.MATCHED], "deposit": [None, deposit.reference], **changes})
        return wire


def _locked_waiting_deposit(wire: IncomingWire, deposit_pk: int) -> Deposit:
    deposit = (Deposit.objects.select_for_update(of=("self",)).select_related("client", "method__provider")
               .filter(pk=deposit_pk).first())
    if deposit is None or deposit.method.provider.kind != PaymentProviderConfig.Kind.BANK_WIRE:
        raise WireRefused("Choose a bank wire deposit.", code="not_a_wire_deposit")
    if deposit.status not in WIRE_DEPOSIT_WAITING:
        raise WireRefused(f"Deposit {deposit.reference} is {deposit.status}: it is not waiting for money.",
                          code="deposit_not_waiting")
    if deposit.currency != wire.currency:
        raise WireRefused(f"The wire is in {wire.currency} and deposit {deposit.reference} in {deposit.currency}: "
                          "return the wire or ask the client to start a deposit in that currency.",
                          code="currency_mismatch")
    if deposit.provider_code != wire.provider_code:
        raise WireRefused(f"Deposit {deposit.reference} is for another bank account ({deposit.provider_code}).",
                          code="other_bank_account")
    return deposit


def _take_wire_amount(deposit: Deposit, wire: IncomingWire, *, actor) -> dict:
    """The client is credited what actually arrived: the deposit's amount (and fee) follow the wire's."""
    from tenant_apps.payments.models import MoneyEvent
    from tenant_apps.payments.services._flow import method_fee

    if deposit.amount == wire.amount:
        return {}
    before = deposit.amount
    deposit.amount, deposit.fee = wire.amount, method_fee(deposit.method, wire.amount)
    deposit.save(update_fields=["amount", "fee"])
    MoneyEvent.objects.create(deposit=deposit, from_status=deposit.status, to_status=deposit.status,
                              actor=actor, source=f"wire:{wire.pk}",
                              client_text=f"Your bank transfer brought {_shown(wire.amount, wire.currency)} "
                                          f"(not {_shown(before, wire.currency)}): that amount is credited",
                              staff_note=f"amount {before} → {wire.amount} from wire #{wire.pk}")
    return {"deposit_amount": [str(before), str(wire.amount)]}


def wire_match_approve(*, wire: IncomingWire, actor, note: str = "") -> IncomingWire:
    """Compliance or a Manager (never the proposer) approves a proposed match: then the money moves."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    permission_require(actor, "payments.wires", "approve")
    with transaction.atomic():
        audit_lock()
        wire = _locked_open(wire)
        if not wire.proposed_deposit_id:
            raise WireRefused("No match of this wire is waiting for approval.", code="no_proposal")
        if wire.proposed_by_id == actor.pk:
            raise WireRefused("You proposed this match: another person must approve it.", code="maker_is_checker")
        deposit = _locked_waiting_deposit(wire, wire.proposed_deposit_id)
        changes = _take_wire_amount(deposit, wire, actor=actor)
        wire.approved_by = actor
        wire.reason = (f"Matched by hand to {deposit.reference} despite the payer name (score {wire.name_score}), "
                       f"approved.")
        proposal_note = wire.proposal_note
        _settle(wire, deposit, actor=wire.proposed_by, note=f"{proposal_note}\nApproved: {note}".strip())
        _audit("wire.match_approved", wire, actor=actor, reason=note or proposal_note, subject=deposit.client_id,
               changes={"status": [None, WireStatus.MATCHED], "deposit": [None, deposit.reference],
                        "proposed_by": [None, wire.proposed_by_id], **changes})
        return wire


def wire_match_decline(*, wire: IncomingWire, actor, note: str) -> IncomingWire:
    """The approver refuses a proposed match: the wire stays in the queue, the proposal is cleared."""
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    permission_require(actor, "payments.wires", "approve")
    note = _note_required(note, "Declining a proposed match")
    with transaction.atomic():
        audit_lock()
        wire = _locked_open(wire)
        if not wire.proposed_deposit_id:
            raise WireRefused("No match of this wire is waiting for approval.", code="no_proposal")
        declined = wire.proposed_deposit.reference
        wire.proposed_deposit = wire.proposed_by = wire.proposed_at = None
        wire.proposal_note = ""
        wire.save(update_fields=["proposed_deposit", "proposed_by", "proposed_at", "proposal_note"])
        _audit("wire.match_declined", wire, actor=actor, reason=note, changes={"proposed_deposit": [declined, None]})
        return wire


def _close(wire: IncomingWire, *, actor, note: str, status: str, action: str, what: str) -> IncomingWire:
    from tenant_apps.audit.services import audit_lock

    require_tenant()
    permission_require(actor, "payments.wires", "match")
    note = _note_required(note, what)
    with transaction.atomic():
        audit_lock()
        wire = _locked_open(wire)
        before = wire.status
        wire.status, wire.note, wire.decided_by, wire.decided_at = status, note, actor, timezone.now()
        wire.proposed_deposit = wire.proposed_by = wire.proposed_at = None
        wire.save(update_fields=["status", "note", "decided_by", "decided_at", "proposed_deposit", "proposed_by",
                                 "proposed_at"])
        _audit(action, wire, actor=actor, reason=note, changes={"status": [before, status]})
        return wire


def wire_return(*, wire: IncomingWire, actor, note: str) -> IncomingWire:
    """Finance sends the money back to the payer (outside BrokerOS, by the bank); nothing was credited."""
    return _close(wire, actor=actor, note=note, status=WireStatus.RETURNED, action="wire.returned",
                  what="Returning a wire")


def wire_ignore(*, wire: IncomingWire, actor, note: str) -> IncomingWire:
    """Not a client payment (interest, an internal transfer, a bank fee refund): closed with the reason."""
    return _close(wire, actor=actor, note=note, status=WireStatus.IGNORED, action="wire.ignored",
                  what="Ignoring a wire")

