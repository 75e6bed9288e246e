"""The commission engine: a period's expected commissions computed set-based in SQL from the synced deals, then
written as accruals (new deals) or as adjustments (differences against what is already accrued).

One statement builds the period's expected set (temp table `cm_expected`): every closing deal of the period
(entry OUT, INOUT or OUT_BY of a BUY/SELL deal — PROTOCOLS.md, imtdeal_enum), its client through
TradingAccount(server, login), the client's IB at the deal time (partners_clientassignment), and — a
recursive CTE over partners_partnerlink at the deal time — every upline level. Each level is paid by the
plan version its own IB is on at the deal time (commissions_planassignment ∩ commissions_planversion);
level 0 earns the rebate per lot and the revenue share, level n ≥ 1 the override of its version for level n
(percent of the child's amount, or fixed per lot). All intervals are half-open: valid_from <= t < valid_to.

Amounts are rounded to the cent per row (ROUND half away from zero, as Python's ROUND_HALF_UP); an override
in percent takes the child's rounded amount. `reference.py` is the per-deal Python statement of the same rules.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection

# Closing deals: BUY/SELL (Action 0/1) with Entry OUT (1), INOUT (2) or OUT_BY (3).
CLOSING_ACTIONS = (0, 1)
CLOSING_ENTRIES = (1, 2, 3)
MAX_LEVELS = 16  # a guard against a cycle in bad data; real trees are a few levels deep


def tenant_zone() -> ZoneInfo:
    tenant = getattr(connection, "tenant", None)
    try:
        return ZoneInfo(getattr(tenant, "timezone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def period_of(moment: datetime, zone: ZoneInfo | None = None) -> date:
    """The period (first day of the month, in the brokerage's timezone) a moment belongs to."""
    local = moment.astimezone(zone or tenant_zone())
    return date(local.year, local.month, 1)


def period_bounds(period: date, zone: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) of the period as aware datetimes: midnight of the 1st to midnight of the next 1st, local."""
    zone = zone or tenant_zone()
    start = datetime(period.year, period.month, 1, tzinfo=zone)
    end = datetime(period.year + (period.month == 12), period.month % 12 + 1, 1, tzinfo=zone)
    return start, end


def period_next(period: date) -> date:
    return date(period.year + (period.month == 12), period.month % 12 + 1, 1)


@dataclass(frozen=True)
class Scope:
    """What a computation covers: the period, optionally only deals from `since`, only some clients."""

    period: date
    start: datetime
    end: datetime
    since: datetime | None = None
    client_ids: tuple[int, ...] | None = None

    @property
    def from_(self) -> datetime:
        return max(self.start, self.since) if self.since else self.start


def scope_for(*, period: date, since: datetime | None = None, client_ids=None) -> Scope:
    start, end = period_bounds(period)
    return Scope(period=period, start=start, end=end, since=since,
                 client_ids=tuple(sorted(set(client_ids))) if client_ids is not None else None)


_TERMS = """
    SELECT pa.partner_id, v.id AS version_id, p.currency, v.exclude_own_trades, v.min_hold_seconds,
           v.hedged_pairs_once, v.include_swap_in_revenue, v.cap_per_period,
           GREATEST(pa.valid_from, v.valid_from) AS t_from,
           LEAST(COALESCE(pa.valid_to, 'infinity'), COALESCE(v.valid_to, 'infinity')) AS t_to
    FROM commissions_planassignment pa
    JOIN commissions_commissionplan p ON p.id = pa.plan_id
    JOIN commissions_planversion v ON v.plan_id = pa.plan_id
    WHERE GREATEST(pa.valid_from, v.valid_from) < LEAST(COALESCE(pa.valid_to, 'infinity'),
                                                          COALESCE(v.valid_to, 'infinity'))
      AND GREATEST(pa.valid_from, v.valid_from) < %(end)s
      AND LEAST(COALESCE(pa.valid_to, 'infinity'), COALESCE(v.valid_to, 'infinity')) > %(start)s
"""


def _terms_flags(scope: Scope) -> tuple[bool, bool, bool]:
    """(any version in the period checks hold time, any caps the period, any pays a CPA): the parts of the
    computation nobody needs are left out of the statement."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(bool_or(t.min_hold_seconds > 0), false), "
                       f"COALESCE(bool_or(t.cap_per_period IS NOT NULL), false), "
                       f"COALESCE(bool_or(v.cpa_amount > 0), false) "
                       f"FROM ({_TERMS}) t JOIN commissions_planversion v ON v.id = t.version_id",
                       {"start": scope.start, "end": scope.end})
        return cursor.fetchone()


def _expected_select(scope: Scope) -> tuple[str, dict, bool, bool]:
    """The SELECT of the scope's expected deal accruals (CPA apart), its parameters, and whether a cap and a
    CPA are in play. With a cap the whole period is selected (a cap depends on the IB's running total)."""
    hold_check, capped, cpa = _terms_flags(scope)
    params = {"start": scope.start, "end": scope.end, "from": scope.start if capped else scope.from_,
              "clients": list(scope.client_ids) if (scope.client_ids is not None and not capped) else None,
              "actions": list(CLOSING_ACTIONS), "entries": list(CLOSING_ENTRIES), "max_levels": MAX_LEVELS}
    if hold_check:
        open_col = "o.open_time"
        open_join = """LEFT JOIN (SELECT server_id, login, position_id, MIN(time) AS open_time FROM trading_deal
                                  WHERE entry = 0 AND position_id <> 0 AND time < %(end)s
                                  GROUP BY server_id, login, position_id) o
                       ON o.server_id = d.server_id AND o.login = d.login AND o.position_id = d.position_id"""
    else:
        open_col, open_join = "NULL::timestamptz", ""
    client_filter = "AND ta.client_id = ANY(%(clients)s)" if params["clients"] is not None else ""
    if capped:
        final = """
        , capped AS (
            SELECT r.*, t.cap_per_period AS cap,
                   SUM(r.amount) OVER (PARTITION BY r.partner_id ORDER BY r.deal_time, r.server_id, r.ticket,
                                       r.level, r.kind ROWS UNBOUNDED PRECEDING) AS running
            FROM rows_ r LEFT JOIN commissions_planversion t ON t.id = r.plan_version_id
        )
        SELECT kind, server_id, ticket, level, partner_id, plan_version_id, client_id, login, deal_time, symbol,
               volume, rate, currency,
               CASE WHEN cap IS NULL THEN amount ELSE LEAST(amount, GREATEST(cap - (running - amount), 0)) END AS amount
        FROM capped"""
    else:
        final = """
        SELECT kind, server_id, ticket, level, partner_id, plan_version_id, client_id, login, deal_time, symbol,
               volume, rate, currency, amount FROM rows_"""
    sql = f"""
    WITH RECURSIVE
    deal AS (
        SELECT d.server_id, d.ticket, d.login, d.time, d.symbol, d.side, d.entry, d.volume_lots AS volume,
               CASE WHEN d.symbol IN (SELECT symbol FROM named) THEN d.symbol ELSE '*' END AS rate_symbol,
               d.commission, d.swap, ta.client_id, ta.account_type_id, ta.currency AS account_currency, ca.partner_id,
               {open_col} AS open_time
        FROM trading_deal d
        JOIN trading_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login
        JOIN partners_clientassignment ca ON ca.client_id = ta.client_id AND ca.valid_from <= d.time
             AND (ca.valid_to IS NULL OR d.time < ca.valid_to)
        {open_join}
        WHERE d.time >= %(from)s AND d.time < %(end)s AND d.action = ANY(%(actions)s) AND d.entry = ANY(%(entries)s)
              {client_filter}
    ),
    terms AS MATERIALIZED ({_TERMS}),
    -- Rates are resolved per symbol a rule names, and once for every other symbol ('*': only rules naming no
    -- symbol apply to it) — not per symbol traded, which would need the deals read twice.
    named AS MATERIALIZED (SELECT DISTINCT unnest(symbols) AS symbol FROM commissions_commissionrule),
    symbols AS (SELECT symbol FROM named UNION SELECT '*'),
    -- The most specific rule per (version, level, kind, symbol, account type): symbols+type > symbols > type > any.
    rule AS (
        SELECT DISTINCT ON (r.version_id, r.level, r.kind, s.symbol, at.id)
               r.version_id, r.level, r.kind, s.symbol, at.id AS account_type_id, r.per_lot, r.percent
        FROM commissions_commissionrule r
        CROSS JOIN symbols s
        CROSS JOIN brokerage_accounttype at
        WHERE r.version_id IN (SELECT version_id FROM terms)
          AND (cardinality(r.symbols) = 0 OR s.symbol = ANY(r.symbols))
          AND (r.account_type_id IS NULL OR r.account_type_id = at.id)
        ORDER BY r.version_id, r.level, r.kind, s.symbol, at.id,
                 (cardinality(r.symbols) > 0) DESC, (r.account_type_id IS NOT NULL) DESC, r.id
    ),
    rates AS MATERIALIZED (
        SELECT version_id, level, symbol, account_type_id,
               COALESCE(MAX(per_lot) FILTER (WHERE kind = 'rebate'), 0) AS rebate_per_lot,
               COALESCE(MAX(percent) FILTER (WHERE kind = 'revenue_share'), 0) AS share_pct,
               COALESCE(MAX(percent) FILTER (WHERE kind = 'override'), 0) AS ovr_pct,
               COALESCE(MAX(per_lot) FILTER (WHERE kind = 'override'), 0) AS ovr_per_lot
        FROM rule GROUP BY version_id, level, symbol, account_type_id
    ),
    level0 AS (
        SELECT d.*, t.version_id, t.currency, COALESCE(x.rebate_per_lot, 0) AS rebate_rate,
               COALESCE(x.share_pct, 0) AS share_rate,
               COALESCE(t.version_id IS NULL
                        OR (t.exclude_own_trades AND d.client_id = p.user_id)
                        OR (t.min_hold_seconds > 0 AND d.open_time IS NOT NULL
                            AND d.time - d.open_time < make_interval(secs => t.min_hold_seconds))
                        OR (t.hedged_pairs_once AND d.entry = 3 AND d.side = 'sell'), true) AS excluded,
               -- the broker's revenue on the deal, in the account's currency: shared only when that is the plan's
               -- currency (no exchange rate is invented; such deals still earn the per-lot rebate)
               CASE WHEN d.account_currency = t.currency
                    THEN GREATEST(-(d.commission + CASE WHEN t.include_swap_in_revenue THEN d.swap ELSE 0 END), 0)
                    ELSE 0 END AS revenue
        FROM deal d
        JOIN partners_partner p ON p.id = d.partner_id
        LEFT JOIN terms t ON t.partner_id = d.partner_id AND t.t_from <= d.time AND d.time < t.t_to
        LEFT JOIN rates x ON x.version_id = t.version_id AND x.level = 0 AND x.symbol = d.rate_symbol
                          AND x.account_type_id = d.account_type_id
    ),
    chain AS (
        SELECT 0 AS level, server_id, ticket, login, time, symbol, rate_symbol, side, entry, volume, client_id,
               account_type_id,
               open_time, partner_id, version_id, currency, rebate_rate, share_rate, 0::numeric AS ovr_rate,
               CASE WHEN excluded THEN 0 ELSE ROUND(volume * rebate_rate, 2) END AS rebate_amt,
               CASE WHEN excluded THEN 0 ELSE ROUND(revenue * share_rate / 100, 2) END AS share_amt,
               0::numeric AS ovr_amt,
               CASE WHEN excluded THEN 0
                    ELSE ROUND(volume * rebate_rate, 2) + ROUND(revenue * share_rate / 100, 2) END AS total
        FROM level0
        UNION ALL
        SELECT c.level + 1, c.server_id, c.ticket, c.login, c.time, c.symbol, c.rate_symbol, c.side, c.entry, c.volume,
               c.client_id,
               c.account_type_id, c.open_time, pl.parent_id, t.version_id, t.currency, 0, 0,
               CASE WHEN COALESCE(x.ovr_pct, 0) > 0 THEN x.ovr_pct ELSE COALESCE(x.ovr_per_lot, 0) END,
               0, 0, o.amt, o.amt
        FROM chain c
        JOIN partners_partnerlink pl ON pl.partner_id = c.partner_id AND pl.valid_from <= c.time
             AND (pl.valid_to IS NULL OR c.time < pl.valid_to)
        JOIN partners_partner p ON p.id = pl.parent_id
        LEFT JOIN terms t ON t.partner_id = pl.parent_id AND t.t_from <= c.time AND c.time < t.t_to
        LEFT JOIN rates x ON x.version_id = t.version_id AND x.level = c.level + 1 AND x.symbol = c.rate_symbol
                          AND x.account_type_id = c.account_type_id
        CROSS JOIN LATERAL (SELECT CASE
            WHEN t.version_id IS NULL OR x.version_id IS NULL
                 OR (t.exclude_own_trades AND c.client_id = p.user_id)
                 OR (t.min_hold_seconds > 0 AND c.open_time IS NOT NULL
                     AND c.time - c.open_time < make_interval(secs => t.min_hold_seconds))
                 OR (t.hedged_pairs_once AND c.entry = 3 AND c.side = 'sell') THEN 0::numeric
            ELSE ROUND(c.total * x.ovr_pct / 100 + c.volume * x.ovr_per_lot, 2) END AS amt) o
        WHERE c.level < %(max_levels)s
    ),
    -- One pass over the chain: each level's row unfolds into its non-zero kinds (rebate and revenue share at
    -- level 0, the override above it).
    rows_ AS (
        SELECT k.kind, c.server_id, c.ticket, c.level, c.partner_id, c.version_id AS plan_version_id, c.client_id,
               c.login, c.time AS deal_time, c.symbol, c.volume, k.rate, c.currency, k.amount
        FROM chain c
        CROSS JOIN LATERAL (VALUES ('rebate', c.rebate_rate, c.rebate_amt), ('revenue_share', c.share_rate, c.share_amt),
                                   ('override', c.ovr_rate, c.ovr_amt)) k(kind, rate, amount)
        WHERE k.amount <> 0 AND (k.kind = 'override') = (c.level > 0)
    )
    {final}
    """
    return sql, params, capped, cpa


def expected_build(scope: Scope) -> int:
    """Fill the temp table cm_expected (dropped at commit) with the scope's expected accruals; returns its size.
    Caller holds a transaction. `since` / `client_ids` narrow the set (after a cap was applied to the period)."""
    sql, params, capped, cpa = _expected_select(scope)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS cm_expected")
        cursor.execute(f"CREATE TEMP TABLE cm_expected ON COMMIT DROP AS {sql}", params)
        if capped:
            # The cap needed the whole period; keep only what the caller asked about.
            cursor.execute("DELETE FROM cm_expected WHERE amount = 0 OR deal_time < %(from)s"
                           + (" OR NOT (client_id = ANY(%(clients)s))" if scope.client_ids is not None else ""),
                           {"from": scope.from_, "clients": list(scope.client_ids or ())})
        if cpa:
            _cpa_add(cursor, scope)
        cursor.execute("ANALYZE cm_expected")  # a temp table has no statistics until asked: plans need them
        cursor.execute("SELECT count(*) FROM cm_expected")
        return cursor.fetchone()[0]


def _cpa_add(cursor, scope: Scope) -> None:
    """CPA rows: once per client, to the IB it is assigned to when it qualifies (first credited deposit at least
    the version's minimum, or closed volume reaching N lots within M days of registration), at the terms that
    IB is on at that moment."""
    cursor.execute(f"""
    INSERT INTO cm_expected (kind, server_id, ticket, level, partner_id, plan_version_id, client_id, login,
                             deal_time, symbol, volume, rate, currency, amount)
    WITH terms AS MATERIALIZED ({_TERMS}),
    cpa_terms AS (
        SELECT t.*, v.cpa_amount, v.cpa_min_first_deposit, v.cpa_min_lots, v.cpa_within_days
        FROM terms t JOIN commissions_planversion v ON v.id = t.version_id WHERE v.cpa_amount > 0
    ),
    first_deposit AS (
        SELECT DISTINCT ON (dp.client_id) dp.client_id, dp.amount, e.created_at AS at
        FROM payments_deposit dp JOIN ledger_journalentry e ON e.id = dp.credit_entry_id
        WHERE dp.status IN ('credited', 'reconciled')
        ORDER BY dp.client_id, e.created_at, dp.id
    ),
    volume_run AS (
        SELECT ta.client_id, d.time, u.date_joined,
               SUM(d.volume_lots) OVER (PARTITION BY ta.client_id ORDER BY d.time, d.server_id, d.ticket
                                        ROWS UNBOUNDED PRECEDING) AS lots
        FROM trading_deal d
        JOIN trading_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login
        JOIN identity_user u ON u.id = ta.client_id
        WHERE d.time < %(end)s AND d.action = ANY(%(actions)s) AND d.entry = ANY(%(entries)s)
          AND ta.client_id IN (SELECT client_id FROM partners_clientassignment)
    ),
    candidates AS (
        SELECT fd.client_id, fd.at, 'deposit' AS how, fd.amount AS measure FROM first_deposit fd
        UNION ALL
        SELECT client_id, time, 'volume', lots FROM volume_run
    ),
    qualified AS (
        SELECT DISTINCT ON (c.client_id) c.client_id, c.at, ca.partner_id, t.version_id, t.currency, t.cpa_amount
        FROM candidates c
        JOIN partners_clientassignment ca ON ca.client_id = c.client_id AND ca.valid_from <= c.at
             AND (ca.valid_to IS NULL OR c.at < ca.valid_to)
        JOIN cpa_terms t ON t.partner_id = ca.partner_id AND t.t_from <= c.at AND c.at < t.t_to
        JOIN identity_user u ON u.id = c.client_id
        WHERE (c.how = 'deposit' AND t.cpa_min_first_deposit IS NOT NULL AND c.measure >= t.cpa_min_first_deposit)
           OR (c.how = 'volume' AND t.cpa_min_lots IS NOT NULL AND c.measure >= t.cpa_min_lots
               AND (t.cpa_within_days IS NULL OR c.at < u.date_joined + make_interval(days => t.cpa_within_days)))
        ORDER BY c.client_id, c.at
    )
    SELECT 'cpa', NULL, 0, 0, q.partner_id, q.version_id, q.client_id, 0, q.at, '', 0, q.cpa_amount, q.currency,
           q.cpa_amount
    FROM qualified q
    WHERE q.at >= %(from)s AND q.at < %(end)s {"AND q.client_id = ANY(%(clients)s)" if scope.client_ids is not None else ""}
    """, {"start": scope.start, "end": scope.end, "from": scope.from_, "actions": list(CLOSING_ACTIONS),
          "entries": list(CLOSING_ENTRIES), "clients": list(scope.client_ids or ())})


_ACCRUAL_COLUMNS = ("kind, server_id, ticket, level, partner_id, plan_version_id, client_id, login, deal_time, "
                    "symbol, volume, rate, amount, currency, period, status, is_adjustment, run_id, created_at")


def accrue_new(*, scope: Scope, run_id: int) -> int:
    """Write the expected rows of deals (and CPAs) not accrued yet at this level and kind. Idempotent: an
    existing row for (server, ticket, level, kind) — or a client's CPA — is left as it is. (An anti-join rather
    than ON CONFLICT: computations of a period are serialised by period_lock, and the unique indexes still
    refuse a duplicate.)"""
    with connection.cursor() as cursor:
        # The keys already accrued, copied first: an anti-join against the table being inserted into could probe
        # (through an index) every row this very statement has added — quadratic on a million-deal month.
        cursor.execute("DROP TABLE IF EXISTS cm_existing")
        cursor.execute("""CREATE TEMP TABLE cm_existing ON COMMIT DROP AS
                          SELECT server_id, ticket, level, kind FROM commissions_commissionaccrual
                          WHERE period = %(period)s AND NOT is_adjustment AND kind <> 'cpa'""", {"period": scope.period})
        cursor.execute("ANALYZE cm_existing")
        cursor.execute(f"""
            INSERT INTO commissions_commissionaccrual ({_ACCRUAL_COLUMNS})
            SELECT kind, server_id, ticket, level, partner_id, plan_version_id, client_id, login, deal_time, symbol,
                   volume, rate, amount, currency, %(period)s, 'accrued', false, %(run)s, now()
            FROM cm_expected e
            WHERE e.kind <> 'cpa' AND NOT EXISTS (
                SELECT 1 FROM cm_existing o WHERE o.server_id = e.server_id AND o.ticket = e.ticket
                AND o.level = e.level AND o.kind = e.kind)
            UNION ALL
            SELECT kind, server_id, ticket, level, partner_id, plan_version_id, client_id, login, deal_time, symbol,
                   volume, rate, amount, currency, %(period)s, 'accrued', false, %(run)s, now()
            FROM cm_expected e
            WHERE e.kind = 'cpa' AND NOT EXISTS (
                SELECT 1 FROM commissions_commissionaccrual o WHERE o.client_id = e.client_id AND o.level = e.level
                AND o.kind = 'cpa' AND NOT o.is_adjustment)
            """, {"period": scope.period, "run": run_id})
        return cursor.rowcount


def adjust_differences(*, scope: Scope, run_id: int) -> tuple[int, int, object]:
    """Compare the expected set with everything accrued for the scope (originals + earlier adjustments, any
    status) per (deal, level, kind, IB) and write one row per difference: an original row when the deal has
    none at that level and kind yet, else an adjustment. Returns (originals, adjustments, adjustments' sum)."""
    filters, params = ["a.period = %(period)s", "a.deal_time >= %(from)s", "a.deal_time < %(end)s"], {
        "period": scope.period, "from": scope.from_, "end": scope.end, "run": run_id,
        "clients": list(scope.client_ids or ())}
    if scope.client_ids is not None:
        filters.append("a.client_id = ANY(%(clients)s)")
    with connection.cursor() as cursor:
        cursor.execute(f"""
        WITH exp AS (
            SELECT kind, COALESCE(server_id, 0) AS srv, ticket, level, partner_id, client_id, SUM(amount) AS amount,
                   MAX(plan_version_id) AS plan_version_id, MAX(server_id) AS server_id, MAX(login) AS login,
                   MAX(deal_time) AS deal_time, MAX(symbol) AS symbol, MAX(volume) AS volume, MAX(rate) AS rate,
                   MAX(currency) AS currency
            FROM cm_expected GROUP BY 1, 2, 3, 4, 5, 6
        ),
        cur AS (
            SELECT kind, COALESCE(server_id, 0) AS srv, ticket, level, partner_id, client_id, SUM(amount) AS amount,
                   MAX(plan_version_id) AS plan_version_id, MAX(server_id) AS server_id, MAX(login) AS login,
                   MAX(deal_time) AS deal_time, MAX(symbol) AS symbol, MAX(volume) AS volume, MAX(rate) AS rate,
                   MAX(currency) AS currency
            FROM commissions_commissionaccrual a WHERE {' AND '.join(filters)}
            GROUP BY 1, 2, 3, 4, 5, 6
        ),
        diff AS (
            SELECT COALESCE(e.kind, c.kind) AS kind, COALESCE(e.server_id, c.server_id) AS server_id,
                   COALESCE(e.ticket, c.ticket) AS ticket, COALESCE(e.level, c.level) AS level,
                   COALESCE(e.partner_id, c.partner_id) AS partner_id,
                   COALESCE(e.plan_version_id, c.plan_version_id) AS plan_version_id,
                   COALESCE(e.client_id, c.client_id) AS client_id, COALESCE(e.login, c.login) AS login,
                   COALESCE(e.deal_time, c.deal_time) AS deal_time, COALESCE(e.symbol, c.symbol) AS symbol,
                   COALESCE(e.volume, c.volume) AS volume, COALESCE(e.rate, c.rate) AS rate,
                   COALESCE(e.currency, c.currency) AS currency,
                   COALESCE(e.amount, 0) - COALESCE(c.amount, 0) AS amount
            FROM exp e FULL JOIN cur c ON c.kind = e.kind AND c.srv = e.srv AND c.ticket = e.ticket
                 AND c.level = e.level AND c.partner_id = e.partner_id AND c.client_id = e.client_id
            WHERE COALESCE(e.amount, 0) <> COALESCE(c.amount, 0)
        ),
        written AS (
            INSERT INTO commissions_commissionaccrual ({_ACCRUAL_COLUMNS})
            SELECT d.kind, d.server_id, d.ticket, d.level, d.partner_id, d.plan_version_id, d.client_id, d.login,
                   d.deal_time, d.symbol, d.volume, d.rate, d.amount, d.currency, %(period)s, 'accrued',
                   CASE WHEN d.kind = 'cpa'
                        THEN EXISTS (SELECT 1 FROM commissions_commissionaccrual o WHERE o.client_id = d.client_id
                                     AND o.level = d.level AND o.kind = 'cpa' AND NOT o.is_adjustment)
                        ELSE EXISTS (SELECT 1 FROM commissions_commissionaccrual o WHERE o.server_id = d.server_id
                                     AND o.ticket = d.ticket AND o.level = d.level AND o.kind = d.kind
                                     AND NOT o.is_adjustment) END,
                   %(run)s, now()
            FROM diff d ORDER BY d.deal_time, d.ticket, d.level
            RETURNING is_adjustment, amount
        )
        SELECT COUNT(*) FILTER (WHERE NOT is_adjustment), COUNT(*) FILTER (WHERE is_adjustment),
               COALESCE(SUM(amount) FILTER (WHERE is_adjustment), 0)
        FROM written""", params)
        return cursor.fetchone()


def session_tune() -> None:
    """For the rest of the transaction: no JIT (compiling the engine's ~170 expression functions costs more than it
    saves — measured in bench/commissions.py) and room for the sorts and hashes of a month in memory."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")


def period_lock(period: date) -> None:
    """Serialise computations and approvals of one brokerage's period (held until the transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                       [f"commissions:{connection.schema_name}:{period:%Y-%m}"])


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, int((time.perf_counter() - started) * 1000)
