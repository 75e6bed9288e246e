"""The database keeps the books honest whatever code (or person with the app's login) writes to them.

(a) journal entries and lines are append-only: UPDATE, DELETE and TRUNCATE are refused;
(b) every entry balances to zero per currency and has at least two lines: checked at commit by deferred
    constraint triggers (so the lines of one entry can be inserted one by one inside its transaction);
(c) a line's (account, currency, precision) is a foreign key to the account's — a line in another currency
    than its account cannot exist; holds likewise;
(d) amounts are non-zero and carry no digits below the currency's precision (CHECKs from 0001, and the line
    trigger says so first with a clear message);
(e) a client account's available balance (balance − active holds) is never below zero at commit: a deferred
    constraint trigger re-reads the account if any change in the transaction left it negative.
Balances, line counts and held amounts are kept by triggers from lines and holds, and an account refuses any
other change to them (pg_trigger_depth() is 1 for a direct UPDATE and 2 inside our own triggers), so an
account's cached balance is the sum of its lines by construction; each line gets its number in the account
(account_seq) and the balance after it under the account's row lock, so statements are consistent even for
concurrent raw inserts.

Written to come out identical on every build path (migrations, blueprint replay, spare-pool rename):
- names are unqualified: migrations run with the search path set to the tenant's schema, so functions and
  triggers land there, and pg_dump qualifies them itself when the blueprint is rendered;
- function bodies never name a schema: they reach the tables through TG_TABLE_SCHEMA with format('%I'),
  so they work after a schema rename and can never touch another brokerage's rows whatever the search path;
- bodies have no blank or comment lines (the blueprint rewrite drops such lines, which would change them).
Errors are SQLSTATE class 23 (integrity constraint violation, Django's IntegrityError) and name the rule
in their CONSTRAINT field.
"""
from django.db import migrations

# Kept in step with models.NON_NEGATIVE_KINDS by tests/ledger/test_database_guards.py.
NON_NEGATIVE_KINDS_RE = "^(client_trading_mirror|client_wallet|ib_commissions_payable)$"

REFUSE_CHANGE = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only: % on %.% refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_append_only',
              HINT = 'Post a new journal entry that corrects the earlier one.';
END;
$$
"""

ACCOUNT_GUARD = """
CREATE OR REPLACE FUNCTION ledger_account_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger accounts are never deleted: DELETE on %.% refused', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_append_only';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.balance <> 0 OR NEW.held <> 0 OR NEW.line_count <> 0 THEN
            RAISE EXCEPTION 'a ledger account opens with a zero balance, no lines and nothing held'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_account_opens_empty';
        END IF;
        RETURN NEW;
    END IF;
    IF (to_jsonb(NEW) - ARRAY['balance', 'held', 'line_count'])
       IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['balance', 'held', 'line_count']) THEN
        RAISE EXCEPTION 'ledger account %: kind, owner, currency and precision never change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_account_identity_fixed';
    END IF;
    IF pg_trigger_depth() < 2
       AND (NEW.balance IS DISTINCT FROM OLD.balance OR NEW.held IS DISTINCT FROM OLD.held
            OR NEW.line_count IS DISTINCT FROM OLD.line_count) THEN
        RAISE EXCEPTION 'ledger account %: balance and held amount change only through journal lines and holds', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_balance_from_lines_only';
    END IF;
    RETURN NEW;
END;
$$
"""

LINE_APPLY = """
CREATE OR REPLACE FUNCTION ledger_line_apply() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    new_balance numeric;
    new_seq bigint;
BEGIN
    IF NEW.amount = 0 OR NEW.amount <> round(NEW.amount, NEW.decimal_places) THEN
        RAISE EXCEPTION 'ledger line amount % is zero or finer than % decimal places', NEW.amount, NEW.decimal_places
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_line_amount_scale';
    END IF;
    EXECUTE format('UPDATE %I.ledger_ledgeraccount SET balance = balance + $1, line_count = line_count + 1 '
                   'WHERE id = $2 AND currency = $3 AND decimal_places = $4 RETURNING balance, line_count',
                   TG_TABLE_SCHEMA)
        INTO new_balance, new_seq USING NEW.amount, NEW.account_id, NEW.currency, NEW.decimal_places;
    IF new_balance IS NULL THEN
        RAISE EXCEPTION 'ledger line in % (% decimal places) does not match account %',
                        NEW.currency, NEW.decimal_places, NEW.account_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_line_account_currency';
    END IF;
    NEW.balance_after := new_balance;
    NEW.account_seq := new_seq;
    RETURN NEW;
END;
$$
"""

ENTRY_BALANCED = """
CREATE OR REPLACE FUNCTION ledger_entry_balanced_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    bad_currency text;
    bad_total numeric;
BEGIN
    EXECUTE format('SELECT currency, sum(amount) FROM %I.ledger_journalline WHERE entry_id = $1 '
                   'GROUP BY currency HAVING sum(amount) <> 0 ORDER BY currency LIMIT 1', TG_TABLE_SCHEMA)
        INTO bad_currency, bad_total USING NEW.entry_id;
    IF bad_currency IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance in %: its lines sum to %', NEW.entry_id, bad_currency, bad_total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_balanced';
    END IF;
    RETURN NULL;
END;
$$
"""

ENTRY_HAS_LINES = """
CREATE OR REPLACE FUNCTION ledger_entry_lines_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    line_count bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %I.ledger_journalline WHERE entry_id = $1', TG_TABLE_SCHEMA)
        INTO line_count USING NEW.id;
    IF line_count < 2 THEN
        RAISE EXCEPTION 'journal entry % has % line(s); an entry moves money between at least two accounts', NEW.id, line_count
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_entry_has_lines';
    END IF;
    RETURN NULL;
END;
$$
"""

AVAILABLE_CHECK = """
CREATE OR REPLACE FUNCTION ledger_available_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    cur_balance numeric;
    cur_held numeric;
BEGIN
    EXECUTE format('SELECT balance, held FROM %I.ledger_ledgeraccount WHERE id = $1', TG_TABLE_SCHEMA)
        INTO cur_balance, cur_held USING NEW.id;
    IF cur_balance < cur_held THEN
        RAISE EXCEPTION 'client account % would end with balance % and % held: available balance below zero',
                        NEW.id, cur_balance, cur_held
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_client_available_not_negative';
    END IF;
    RETURN NULL;
END;
$$
"""

HOLD_GUARD = """
CREATE OR REPLACE FUNCTION ledger_hold_guard() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'holds are never deleted (release or capture them): DELETE on %.% refused', TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_append_only';
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'active' THEN
            RAISE EXCEPTION 'a hold is placed active, not %', NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_hold_transition';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.status <> 'active' THEN
        RAISE EXCEPTION 'hold % is already %; a closed hold never changes', OLD.id, OLD.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_hold_transition';
    END IF;
    IF (to_jsonb(NEW) - ARRAY['status', 'closed_at', 'captured_amount', 'capture_entry_id'])
       IS DISTINCT FROM (to_jsonb(OLD) - ARRAY['status', 'closed_at', 'captured_amount', 'capture_entry_id']) THEN
        RAISE EXCEPTION 'hold %: only its closing (status, closed_at, capture) can change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_hold_transition';
    END IF;
    RETURN NEW;
END;
$$
"""

HOLD_APPLY = """
CREATE OR REPLACE FUNCTION ledger_hold_apply() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    delta numeric;
    new_held numeric;
BEGIN
    IF TG_OP = 'INSERT' THEN
        delta := NEW.amount;
    ELSIF OLD.status = 'active' AND NEW.status <> 'active' THEN
        delta := -OLD.amount;
    ELSE
        RETURN NULL;
    END IF;
    EXECUTE format('UPDATE %I.ledger_ledgeraccount SET held = held + $1 '
                   'WHERE id = $2 AND currency = $3 AND decimal_places = $4 RETURNING held', TG_TABLE_SCHEMA)
        INTO new_held USING delta, NEW.account_id, NEW.currency, NEW.decimal_places;
    IF new_held IS NULL THEN
        RAISE EXCEPTION 'hold in % (% decimal places) does not match account %', NEW.currency, NEW.decimal_places, NEW.account_id
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_hold_account_currency';
    END IF;
    RETURN NULL;
END;
$$
"""

COMPOSITE_KEYS = [
    "ALTER TABLE ledger_journalline ADD CONSTRAINT ledger_line_account_currency "
    "FOREIGN KEY (account_id, currency, decimal_places) REFERENCES ledger_ledgeraccount (id, currency, decimal_places)",
    "ALTER TABLE ledger_hold ADD CONSTRAINT ledger_hold_account_currency "
    "FOREIGN KEY (account_id, currency, decimal_places) REFERENCES ledger_ledgeraccount (id, currency, decimal_places)",
]

TRIGGERS = [
    # (a) append-only entries and lines
    "CREATE TRIGGER ledger_journalentry_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry "
    "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER ledger_journalentry_no_truncate BEFORE TRUNCATE ON ledger_journalentry "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER ledger_journalline_append_only BEFORE UPDATE OR DELETE ON ledger_journalline "
    "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER ledger_journalline_no_truncate BEFORE TRUNCATE ON ledger_journalline "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    # balances follow lines; (d) checked with a clear message before the account moves
    "CREATE TRIGGER ledger_journalline_apply BEFORE INSERT ON ledger_journalline "
    "FOR EACH ROW EXECUTE FUNCTION ledger_line_apply()",
    # (b) balanced per currency, at least two lines, at commit
    "CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_journalline "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced_check()",
    "CREATE CONSTRAINT TRIGGER ledger_entry_has_lines AFTER INSERT ON ledger_journalentry "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_lines_check()",
    # accounts: opened empty, identity fixed, balances only from lines and holds, never deleted
    "CREATE TRIGGER ledger_ledgeraccount_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_ledgeraccount "
    "FOR EACH ROW EXECUTE FUNCTION ledger_account_guard()",
    "CREATE TRIGGER ledger_ledgeraccount_no_truncate BEFORE TRUNCATE ON ledger_ledgeraccount "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    # (e) queued only when an update leaves a client account's available balance negative; re-read at commit
    "CREATE CONSTRAINT TRIGGER ledger_client_available_not_negative AFTER UPDATE ON ledger_ledgeraccount "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    f"WHEN (NEW.kind ~ '{NON_NEGATIVE_KINDS_RE}' AND NEW.balance < NEW.held) "
    "EXECUTE FUNCTION ledger_available_check()",
    # holds: born active, closed once, never deleted; the account's held amount follows them
    "CREATE TRIGGER ledger_hold_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_hold "
    "FOR EACH ROW EXECUTE FUNCTION ledger_hold_guard()",
    "CREATE TRIGGER ledger_hold_apply AFTER INSERT OR UPDATE ON ledger_hold "
    "FOR EACH ROW EXECUTE FUNCTION ledger_hold_apply()",
    "CREATE TRIGGER ledger_hold_no_truncate BEFORE TRUNCATE ON ledger_hold "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
]

FUNCTIONS = {
    "ledger_refuse_change": REFUSE_CHANGE,
    "ledger_account_guard": ACCOUNT_GUARD,
    "ledger_line_apply": LINE_APPLY,
    "ledger_entry_balanced_check": ENTRY_BALANCED,
    "ledger_entry_lines_check": ENTRY_HAS_LINES,
    "ledger_available_check": AVAILABLE_CHECK,
    "ledger_hold_guard": HOLD_GUARD,
    "ledger_hold_apply": HOLD_APPLY,
}


def _trigger_drop(sql: str) -> str:
    words = sql.split()
    name = words[3] if words[1] == "CONSTRAINT" else words[2]
    table = words[words.index("ON") + 1]
    return f"DROP TRIGGER IF EXISTS {name} ON {table}"


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=[*FUNCTIONS.values(), *COMPOSITE_KEYS, *TRIGGERS],
            reverse_sql=[
                *[_trigger_drop(sql) for sql in reversed(TRIGGERS)],
                "ALTER TABLE ledger_hold DROP CONSTRAINT IF EXISTS ledger_hold_account_currency",
                "ALTER TABLE ledger_journalline DROP CONSTRAINT IF EXISTS ledger_line_account_currency",
                *[f"DROP FUNCTION IF EXISTS {name}()" for name in reversed(FUNCTIONS)],
            ],
        ),
    ]
