"""Bank wire deposits on alpha and beta, through HTTP: the client gets the brokerage's bank details and a checksummed
reference; Finance imports the bank statement (or types a wire in); a clean wire credits the deposit exactly once
(however often the statement is imported); everything else waits in Finance's queue — unmatched, payer name
differs (matched only with a second person's approval), amount differs — or is returned / ignored with a note."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenant_apps.audit.models import AuditEntry
from tenant_apps.ledger.selectors import entries_for_object
from tenant_apps.payments.adapters.bank_wire import (
    REFERENCE_ALPHABET,
    wire_reference_find,
    wire_reference_new,
    wire_reference_valid,
)
from tenant_apps.payments.models import BankStatementImport, Deposit, IncomingWire
from tests.conftest import PASSWORD, mfa_enrol
from tests.payments.money.conftest import make_client

SLUGS = ["alpha", "beta"]
HEADER = "bank_transaction_id,value_date,amount,currency,payer_name,payer_account,reference\n"
STAFF = ("support", "sales", "compliance", "finance", "manager")
BANK = {"alpha": ("Alpha Trading Ltd", "CY17002001280000001200527600", "BCYPCY2N"),
        "beta": ("Beta Markets Ltd", "DE89370400440532013000", "COBADEFFXXX")}


@pytest.fixture
def wires(db, tenants, tenant_client):
    """Per brokerage: a bank wire connection (EUR and USD accounts) with its deposit method, a verified client
    "Maria Garcia", and staff of every role that meets wires (two-factor enrolled)."""
    from tenant_apps.brokerage.models import LegalEntity, PaymentProviderConfig
    from tenant_apps.identity.services import staff_user_create
    from tenant_apps.payments.models import PaymentMethod
    from tenant_apps.payments.services._flow import money_rules

    made = {}
    for slug, brokerage in tenants.items():
        beneficiary, iban, bic = BANK[slug]
        with tenant_context(brokerage):
            rules = money_rules()
            rules.review_first_deposit = False
            rules.save()
            provider = PaymentProviderConfig.objects.create(
                code="bankwire", kind="bank_wire", display_name="Bank transfer",
                legal_entity=LegalEntity.objects.order_by("-is_default", "pk").first(), currencies=["EUR", "USD"],
                settings={"beneficiary": beneficiary, "iban": iban, "bic": bic, "bank_name": f"{slug} bank",
                          "processing_days": 2,
                          "accounts": {"USD": {"iban": "GB33BUKB20201555555555", "bic": "BUKBGB22",
                                               "bank_name": "USD correspondent"}}})
            PaymentMethod.objects.create(code="bank-wire", display_name="Bank transfer", provider=provider,
                                         currencies=["EUR", "USD"], min_amount=Decimal("50"),
                                         processing_time="1–3 business days", processing_minutes=2 * 24 * 60,
                                         direction="deposit")
            client = make_client(slug, full_name="María García")
            staff = {role: staff_user_create(email=f"{role}.wires@{slug}.test", password=PASSWORD,
                                             role_codes=[role])[0] for role in STAFF}
        for role in ("support", "compliance", "finance", "manager"):
            mfa_enrol(brokerage, staff[role].email)
        made[slug] = SimpleNamespace(
            slug=slug, brokerage=brokerage, client=client, staff=staff, iban=iban,
            http=tenant_client(brokerage, client.email),
            staff_http=lambda role, b=brokerage, s=staff: tenant_client(b, s[role].email))
    connection.set_schema_to_public()
    return made


@pytest.fixture(autouse=True)
def books_balance(request, tenants):
    """After each test alpha's and beta's books hold every ledger invariant."""
    if "wires" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")  # set up first, so torn down after this check
    yield
    from tenant_apps.ledger.selectors import ledger_integrity_problems

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for brokerage in tenants.values():
        with tenant_context(brokerage):
            assert ledger_integrity_problems() == []


def start(ctx, amount="1500.00", currency="EUR") -> Deposit:
    response = ctx.http.post("/money/deposit/", {"method": "bank-wire", "amount": amount, "currency": currency})
    assert response.status_code == 302, response.content[:600]
    with tenant_context(ctx.brokerage):
        deposit = Deposit.objects.filter(client=ctx.client).latest("pk")
    assert response["Location"] == f"/money/deposit/{deposit.pk}/"
    return deposit


def statement(*rows: tuple) -> bytes:
    return (HEADER + "".join(",".join(str(c) for c in row) + "\n" for row in rows)).encode()


def row(reference: str, amount="1500.00", *, payer="GARCIA MARIA", currency="EUR", txn=None, day=None):
    return (txn or f"TX{uuid.uuid4().hex[:10]}", (day or timezone.localdate()).isoformat(), amount, currency, payer,
            "ES9121000418450200051332", f"Deposit {reference}")


def upload(ctx, content: bytes, *, role="finance", name="statement.csv"):
    return ctx.staff_http(role).post("/backoffice/money/wires/import/", {
        "provider": "bankwire", "statement": SimpleUploadedFile(name, content, content_type="text/csv")})


def fresh(ctx, obj):
    with tenant_context(ctx.brokerage):
        return type(obj).objects.get(pk=obj.pk)


def wires_of(ctx) -> list[IncomingWire]:
    with tenant_context(ctx.brokerage):
        return list(IncomingWire.objects.order_by("pk"))


def credits(ctx, deposit) -> int:
    with tenant_context(ctx.brokerage):
        return len(entries_for_object(reference=deposit))


def wallet(ctx, currency="EUR") -> Decimal:
    from tenant_apps.payments.services._flow import wallet_of

    with tenant_context(ctx.brokerage):
        return wallet_of(client_id=ctx.client.pk, currency=currency).balance


def audited(ctx, action: str, wire) -> bool:
    with tenant_context(ctx.brokerage):
        return AuditEntry.objects.filter(action=action, object_id=str(wire.pk)).exists()


def loose(reference: str) -> str:
    """How clients really type it: lower case, spaces instead of dashes."""
    return reference.lower().replace("-", " ")


# --- the reference ---------------------------------------------------------------------------------------------

def test_the_reference_check_character_catches_every_single_typo_and_every_swap_of_neighbours():
    for _ in range(50):
        reference = wire_reference_new()
        assert wire_reference_valid(reference) and wire_reference_valid(loose(reference))
        assert not set(reference.replace("-", "")) & set("01OIL")  # nothing to confuse when typing
        compact = reference.replace("-", "")
        for i in range(2, len(compact)):
            for char in REFERENCE_ALPHABET:
                if char != compact[i]:
                    assert not wire_reference_valid(compact[:i] + char + compact[i + 1:]), (reference, i, char)
            if i + 1 < len(compact) and compact[i] != compact[i + 1]:
                swapped = compact[:i] + compact[i + 1] + compact[i] + compact[i + 2:]
                assert not wire_reference_valid(swapped), (reference, i)
        assert wire_reference_find(f"payment {loose(reference)} thx") == (reference, "")


# --- the client ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("slug", SLUGS)
def test_a_client_choosing_bank_wire_gets_the_brokerages_account_for_the_currency_and_a_reference(wires, slug):
    ctx = wires[slug]
    deposit = start(ctx)
    assert deposit.status == "pending_psp" and wire_reference_valid(deposit.reference)
    page = ctx.http.get(f"/money/deposit/{deposit.pk}/").content.decode()
    assert 'data-role="wire-instructions"' in page and ctx.iban in page and BANK[slug][0] in page
    assert deposit.reference in page and "€1,500.00" in page  # money in the reader's locale (themes/l10n.py)
    assert "Awaiting your bank transfer" in page and "payment provider" not in page
    usd = start(ctx, amount="200", currency="USD")
    page = ctx.http.get(f"/money/deposit/{usd.pk}/").content.decode()
    assert "GB33BUKB20201555555555" in page and ctx.iban not in page and usd.reference != deposit.reference


# --- clean match -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("slug", SLUGS)
def test_a_clean_wire_credits_the_deposit_once_even_when_the_statement_is_imported_twice(wires, slug):
    ctx = wires[slug]
    deposit = start(ctx)
    content = statement(row(loose(deposit.reference)), ("TXOUT1", timezone.localdate().isoformat(), "-250.00", "EUR",
                                                        "Our supplier", "", "invoice 7"))
    response = upload(ctx, content)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-role="summary"' in page and "1 new wires (1 matched" in page and "1 outgoing" in page
    [wire] = wires_of(ctx)
    assert wire.status == "matched" and wire.deposit_id == deposit.pk and wire.matched_by_id is None
    assert fresh(ctx, deposit).status == "credited" and credits(ctx, deposit) == 1
    assert wallet(ctx) == Decimal("1500.00") and audited(ctx, "wire.matched", wire)
    assert "Credited to your wallet" in ctx.http.get(f"/money/deposit/{deposit.pk}/").content.decode()

    again = upload(ctx, content, name="statement-again.csv")
    assert again.status_code == 200 and "0 new wires" in again.content.decode()
    assert "1 already imported" in again.content.decode()
    assert len(wires_of(ctx)) == 1 and credits(ctx, deposit) == 1 and wallet(ctx) == Decimal("1500.00")
    with tenant_context(ctx.brokerage):
        assert list(BankStatementImport.objects.values_list("rows_imported", "rows_duplicate", "rows_matched")
                    .order_by("pk")) == [(1, 0, 1), (0, 1, 0)]


def test_a_camt053_csv_export_with_decimal_commas_is_read_and_matched(wires):
    ctx = wires["alpha"]
    deposit = start(ctx, amount="1234.56")
    content = ("AcctSvcrRef;BookgDt;ValDt;Amt;Ccy;CdtDbtInd;DbtrNm;DbtrAcct;RmtInf\n"
               f"2026112200001;{timezone.localdate():%d.%m.%Y};{timezone.localdate():%d.%m.%Y};1.234,56;EUR;CRDT;"
               f"Maria Garcia Lopez;ES91 2100 0418 4502 0005 1332;/ROC/{deposit.reference}\n"
               f"2026112200002;{timezone.localdate():%d.%m.%Y};{timezone.localdate():%d.%m.%Y};99,00;EUR;DBIT;"
               f"Bank fee;;fees\n").encode()
    response = upload(ctx, content)
    assert response.status_code == 200, response.content.decode()[:2000]
    [wire] = wires_of(ctx)
    assert wire.status == "matched" and wire.amount == Decimal("1234.56") and wire.payer_account.startswith("ES91")
    assert fresh(ctx, deposit).status == "credited" and credits(ctx, deposit) == 1
    with tenant_context(ctx.brokerage):
        assert BankStatementImport.objects.get().format == "camt053"


# --- the queue ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("slug", SLUGS)
def test_a_missing_mistyped_or_unknown_reference_lands_in_the_unmatched_queue(wires, slug):
    ctx = wires[slug]
    deposit = start(ctx)
    compact = deposit.reference.replace("-", "")
    typo = compact[:-1] + next(c for c in REFERENCE_ALPHABET if c != compact[-1])
    unknown = wire_reference_new()
    response = upload(ctx, statement(row(typo), row(unknown), row("for my account")))
    assert response.status_code == 200
    found = wires_of(ctx)
    assert [w.status for w in found] == ["unmatched"] * 3
    assert "fails its check character" in found[0].reason
    assert f"No bank wire deposit has the reference {unknown}" in found[1].reason
    assert "No deposit reference" in found[2].reason
    assert fresh(ctx, deposit).status == "pending_psp" and credits(ctx, deposit) == 0
    queue = ctx.staff_http("support").get("/backoffice/money/wires/")
    assert queue.status_code == 200 and queue.content.decode().count('data-status="unmatched"') == 3
    # a later payment quoting an already credited deposit is a second payment: queued, never credited again
    upload(ctx, statement(row(deposit.reference)))
    assert fresh(ctx, deposit).status == "credited"
    upload(ctx, statement(row(deposit.reference)))
    last = wires_of(ctx)[-1]
    assert last.status == "unmatched" and "second payment" in last.reason and credits(ctx, deposit) == 1


@pytest.mark.parametrize("slug", SLUGS)
def test_a_payer_name_mismatch_is_matched_only_with_a_second_persons_approval(wires, slug):
    ctx = wires[slug]
    deposit = start(ctx)
    upload(ctx, statement(row(deposit.reference, payer="GARCIA TRADING LTD")))
    [wire] = wires_of(ctx)
    assert wire.status == "mismatched_name" and wire.deposit_id == deposit.pk and wire.name_score < 88
    assert fresh(ctx, deposit).status == "pending_psp"
    detail = ctx.staff_http("finance").get(f"/backoffice/money/wires/{wire.pk}/").content.decode()
    assert f'data-reference="{deposit.reference}"' in detail  # offered as a candidate

    manager = ctx.staff_http("manager")
    response = manager.post(f"/backoffice/money/wires/{wire.pk}/", {
        "action": "match", "deposit": deposit.reference, "note": "client's own company account, documents on file"})
    assert response.status_code == 302
    wire = fresh(ctx, wire)
    assert wire.proposed_deposit_id == deposit.pk and wire.status == "mismatched_name"
    assert fresh(ctx, deposit).status == "pending_psp" and credits(ctx, deposit) == 0
    assert audited(ctx, "wire.match_proposed", wire)
    # the proposer cannot approve; Finance holds no approval right at all
    refused = manager.post(f"/backoffice/money/wires/{wire.pk}/approve/", {"action": "approve"})
    assert refused.status_code == 409 and "another person" in refused.content.decode()
    assert ctx.staff_http("finance").post(f"/backoffice/money/wires/{wire.pk}/approve/",
                                          {"action": "approve"}).status_code == 403
    assert credits(ctx, deposit) == 0

    approved = ctx.staff_http("compliance").post(f"/backoffice/money/wires/{wire.pk}/approve/",
                                                 {"action": "approve", "note": "checked the company register"})
    assert approved.status_code == 302
    wire = fresh(ctx, wire)
    assert wire.status == "matched" and wire.approved_by_id == ctx.staff["compliance"].pk
    assert wire.matched_by_id == ctx.staff["manager"].pk
    assert fresh(ctx, deposit).status == "credited" and credits(ctx, deposit) == 1
    assert audited(ctx, "wire.match_approved", wire)
    again = ctx.staff_http("compliance").post(f"/backoffice/money/wires/{wire.pk}/approve/", {"action": "approve"})
    assert again.status_code == 409 and credits(ctx, deposit) == 1


def test_a_declined_proposal_leaves_the_wire_in_the_queue(wires):
    ctx = wires["alpha"]
    deposit = start(ctx)
    upload(ctx, statement(row(deposit.reference, payer="John Smith")))
    [wire] = wires_of(ctx)
    ctx.staff_http("finance").post(f"/backoffice/money/wires/{wire.pk}/", {
        "action": "match", "deposit": deposit.reference, "note": "client says it is her husband"})
    compliance = ctx.staff_http("compliance")
    assert compliance.post(f"/backoffice/money/wires/{wire.pk}/approve/", {"action": "decline"}).status_code == 409
    assert compliance.post(f"/backoffice/money/wires/{wire.pk}/approve/",
                           {"action": "decline", "note": "third-party payment: return it"}).status_code == 302
    wire = fresh(ctx, wire)
    assert wire.status == "mismatched_name" and wire.proposed_deposit_id is None and credits(ctx, deposit) == 0
    assert audited(ctx, "wire.match_declined", wire)


@pytest.mark.parametrize("slug", SLUGS)
def test_an_amount_mismatch_is_queued_and_finance_credits_what_actually_arrived(wires, slug):
    ctx = wires[slug]
    deposit = start(ctx)
    upload(ctx, statement(row(deposit.reference, amount="1480.00")))  # the payer's bank took a fee
    [wire] = wires_of(ctx)
    assert wire.status == "amount_mismatch" and "Received 1480.00 EUR" in wire.reason
    assert fresh(ctx, deposit).status == "pending_psp"
    finance = ctx.staff_http("finance")
    assert finance.post(f"/backoffice/money/wires/{wire.pk}/", {
        "action": "match", "deposit": deposit.reference, "note": ""}).status_code == 409  # a note is required
    assert finance.post(f"/backoffice/money/wires/{wire.pk}/", {
        "action": "match", "deposit": loose(deposit.reference), "note": "sender's bank charges (OUR)"}).status_code == 302
    deposit = fresh(ctx, deposit)
    assert fresh(ctx, wire).status == "matched" and deposit.status == "credited"
    assert deposit.amount == Decimal("1480.00") and wallet(ctx) == Decimal("1480.00") and credits(ctx, deposit) == 1
    assert "€1,480.00" in ctx.http.get(f"/money/deposit/{deposit.pk}/").content.decode()


@pytest.mark.parametrize("slug", SLUGS)
def test_a_wire_is_returned_to_sender_or_ignored_only_with_a_note_and_moves_no_money(wires, slug):
    ctx = wires[slug]
    deposit = start(ctx)
    upload(ctx, statement(row("no reference at all", amount="75.00"), row("interest", amount="0.42")))
    returned, ignored = wires_of(ctx)
    finance = ctx.staff_http("finance")
    assert finance.post(f"/backoffice/money/wires/{returned.pk}/", {"action": "return"}).status_code == 409
    assert finance.post(f"/backoffice/money/wires/{returned.pk}/", {
        "action": "return", "note": "unknown payer; returned, bank ref RTN-118"}).status_code == 302
    assert finance.post(f"/backoffice/money/wires/{ignored.pk}/", {
        "action": "ignore", "note": "account interest, not a client payment"}).status_code == 302
    returned, ignored = fresh(ctx, returned), fresh(ctx, ignored)
    assert (returned.status, ignored.status) == ("returned", "ignored")
    assert returned.decided_by_id == ctx.staff["finance"].pk and "RTN-118" in returned.note
    assert audited(ctx, "wire.returned", returned) and audited(ctx, "wire.ignored", ignored)
    closed = finance.post(f"/backoffice/money/wires/{returned.pk}/", {
        "action": "match", "deposit": deposit.reference, "note": "oops"})
    assert closed.status_code == 409 and "returned to sender already" in closed.content.decode().lower()
    assert credits(ctx, deposit) == 0 and wallet(ctx) == Decimal("0")


def test_finance_enters_a_wire_by_hand_and_it_is_matched_like_an_imported_one(wires):
    ctx = wires["alpha"]
    deposit = start(ctx, amount="300")
    finance = ctx.staff_http("finance")
    bad = finance.post("/backoffice/money/wires/import/", {
        "action": "enter", "provider": "bankwire", "value_date": timezone.localdate().isoformat(), "amount": "300",
        "currency": "EUR", "payer_name": "Maria Garcia", "payer_account": "DE89370400440532013001",
        "bank_reference": deposit.reference})
    assert bad.status_code == 400 and "not a valid IBAN" in bad.content.decode() and wires_of(ctx) == []
    good = finance.post("/backoffice/money/wires/import/", {
        "action": "enter", "provider": "bankwire", "value_date": timezone.localdate().isoformat(), "amount": "300",
        "currency": "eur", "payer_name": "Maria Garcia", "payer_account": "DE89 3704 0044 0532 0130 00",
        "bank_reference": loose(deposit.reference), "bank_transaction_id": "PHONE-1"})
    [wire] = wires_of(ctx)
    assert good.status_code == 302 and good["Location"] == f"/backoffice/money/wires/{wire.pk}/"
    assert wire.source == "manual" and wire.status == "matched" and credits(ctx, deposit) == 1
    dup = finance.post("/backoffice/money/wires/import/", {
        "action": "enter", "provider": "bankwire", "value_date": timezone.localdate().isoformat(), "amount": "300",
        "currency": "EUR", "payer_name": "Maria Garcia", "bank_transaction_id": "PHONE-1"})
    assert dup.status_code == 400 and "recorded already" in dup.content.decode() and len(wires_of(ctx)) == 1


# --- bad files ----------------------------------------------------------------------------------------------------

def test_every_bad_statement_row_is_reported_and_nothing_is_imported(wires):
    ctx = wires["alpha"]
    deposit = start(ctx)
    today = timezone.localdate().isoformat()
    content = statement(
        row(deposit.reference),                                                        # line 2: fine
        ("TX-BAD-DATE", "22/11/2026", "10.00", "EUR", "A", "", "x"),                   # line 3
        ("TX-BAD-AMOUNT", today, "ten", "EUR", "A", "", "x"),                          # line 4
        ("TX-BAD-CCY", today, "10.00", "EURO", "A", "", "x"),                          # line 5
        ("TX-BAD-IBAN", today, "10.00", "EUR", "A", "DE00370400440532013000", "x"),    # line 6
        ("", today, "10.005", "EUR", "A", "", "x"),                                    # line 7
    ) + b"TX-SHORT,2026-11-01\n"                                                       # line 8
    response = upload(ctx, content)
    assert response.status_code == 400
    page = response.content.decode()
    assert "nothing was imported" in page
    for line, text in ((3, "22/11/2026"), (4, "&#x27;ten&#x27; is not a number"), (5, "EURO"), (6, "not a valid IBAN"),
                       (7, "bank transaction id is empty"), (7, "more decimal places"), (8, "2 columns")):
        assert f'data-line="{line}"' in page and text in page, (line, text)
    assert 'data-line="2"' not in page
    assert wires_of(ctx) == [] and fresh(ctx, deposit).status == "pending_psp"
    with tenant_context(ctx.brokerage):
        assert not BankStatementImport.objects.exists()
    for content, message in ((b"date;sum;who\n2026-11-01;10;x\n", "not a known statement format"),
                             (b"\xff\xfe\x00garbage", "not UTF-8"), (b"", "empty"), (HEADER.encode(), "no rows")):
        refused = upload(ctx, content)
        assert refused.status_code == 400 and message in refused.content.decode(), message
    assert wires_of(ctx) == []


# --- two brokerages, permissions, the queue page ----------------------------------------------------------------------

def test_each_brokerage_sees_and_matches_only_its_own_wires(wires):
    alpha, beta = wires["alpha"], wires["beta"]
    deposit = start(alpha)
    upload(beta, statement(row(deposit.reference)))  # alpha's client's reference on beta's statement
    [at_beta] = wires_of(beta)
    assert at_beta.status == "unmatched" and "No bank wire deposit" in at_beta.reason
    assert fresh(alpha, deposit).status == "pending_psp" and wires_of(alpha) == []
    upload(alpha, statement(row(deposit.reference)))
    [at_alpha] = wires_of(alpha)
    assert at_alpha.status == "matched" and credits(alpha, deposit) == 1
    beta_queue = beta.staff_http("finance").get("/backoffice/money/wires/?status=all").content.decode()
    assert beta_queue.count("<tr data-sla=") == 1 and 'data-status="matched"' not in beta_queue
    other = at_alpha.pk if at_alpha.pk != at_beta.pk else at_alpha.pk + 1000
    with tenant_context(beta.brokerage):
        assert not IncomingWire.objects.filter(pk=other).exists()
    assert beta.staff_http("finance").get(f"/backoffice/money/wires/{other}/").status_code == 404


def test_support_reads_the_queue_finance_works_it_and_sales_is_refused(wires):
    ctx = wires["alpha"]
    upload(ctx, statement(row("nothing")))
    [wire] = wires_of(ctx)
    support, sales = ctx.staff_http("support"), ctx.staff_http("sales")
    assert support.get("/backoffice/money/wires/").status_code == 200
    page = support.get(f"/backoffice/money/wires/{wire.pk}/")
    assert page.status_code == 200 and "Returned to sender" not in page.content.decode()  # no buttons to press
    assert support.get("/backoffice/money/wires/import/").status_code == 403
    assert support.post(f"/backoffice/money/wires/{wire.pk}/", {"action": "ignore", "note": "x"}).status_code == 403
    assert upload(ctx, statement(row("x")), role="support").status_code == 403
    for path in ("/backoffice/money/wires/", f"/backoffice/money/wires/{wire.pk}/"):
        assert sales.get(path).status_code == 403
    assert ctx.staff_http("compliance").post(f"/backoffice/money/wires/{wire.pk}/", {
        "action": "ignore", "note": "x"}).status_code == 403
    assert fresh(ctx, wire).status == "unmatched"


def test_the_queue_shows_sla_age_and_filters_with_a_bounded_number_of_queries(wires, django_assert_max_num_queries):
    ctx = wires["alpha"]
    deposit = start(ctx)
    upload(ctx, statement(*[row(f"unknown {i}", amount=f"{100 + i}.00") for i in range(25)],
                          row(deposit.reference, payer="Someone Else")))
    with tenant_context(ctx.brokerage):
        first, second = IncomingWire.objects.order_by("pk")[:2]
        IncomingWire.objects.filter(pk=first.pk).update(received_at=timezone.now() - timedelta(hours=80))
        IncomingWire.objects.filter(pk=second.pk).update(received_at=timezone.now() - timedelta(hours=30))
    finance = ctx.staff_http("finance")
    finance.get("/backoffice/money/wires/")  # warm the session and permission caches
    with django_assert_max_num_queries(12):
        page = finance.get("/backoffice/money/wires/").content.decode()
    assert page.count("<tr data-sla=") == 26
    assert page.count('data-sla="breach"') == 1 and page.count('data-sla="warn"') == 1
    old = finance.get("/backoffice/money/wires/?age=72").content.decode()
    assert old.count("<tr data-sla=") == 1
    names = finance.get("/backoffice/money/wires/?status=mismatched_name").content.decode()
    assert names.count("<tr data-sla=") == 1 and "Someone Else" in names


def test_the_demo_seeds_a_wire_method_and_three_wires_waiting_in_the_queue_once(wires):
    import random

    from provisioning.demo import seed_demo_bank_wires

    ctx = wires["alpha"]
    with tenant_context(ctx.brokerage):
        make_client("alpha", full_name="James Rossi")  # the demo needs two clients
        for _ in range(2):  # idempotent: `make run` twice adds nothing
            seed_demo_bank_wires(finance=ctx.staff["finance"], beneficiary="Alpha Trading Ltd", rng=random.Random(1))
        statuses = sorted(IncomingWire.objects.values_list("status", flat=True))
        waiting = Deposit.objects.filter(method__code="bank-wire", status="pending_psp").count()
    assert statuses == ["amount_mismatch", "mismatched_name", "unmatched"] and waiting == 2
    assert ctx.staff_http("finance").get("/backoffice/money/wires/").content.decode().count("<tr data-sla=") == 3
