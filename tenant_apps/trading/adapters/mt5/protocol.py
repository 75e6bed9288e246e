"""MT5 Web API wire rules: the auth hashes, query escaping, retcodes and how each maps to our errors.

Facts from ../shared/PROTOCOLS.md §1 (the official auth test vectors are pinned in tests/trading).
"""
from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from tenant_apps.trading.adapters.base import (
    AuthFailed,
    NotFound,
    NotPermitted,
    Rejected,
    ServerNotAuthentic,
    TradingPlatformError,
    Unavailable,
)

# The lowest Web API protocol version the server accepts (`version=` of /api/auth/start).
WEBAPI_VERSION = 484
# `total` of get_page commands may not exceed this.
PAGE_LIMIT = 100
# Volume counts 1/10 000 lot.
VOLUME_PER_LOT = 10_000


# --- authentication -------------------------------------------------------------------------------------

def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def password_hash(password: str) -> bytes:
    """PH: MD5(raw MD5(password as UTF-16LE) + b"WebAPI"), 16 raw bytes."""
    return _md5(_md5(password.encode("utf-16-le")) + b"WebAPI")


def srv_rand_answer(ph: bytes, srv_rand_hex: str) -> str:
    """Our proof of the password: lowercase hex MD5(PH + the server's random bytes)."""
    return _md5(ph + bytes.fromhex(srv_rand_hex)).hex()


def cli_rand_answer(ph: bytes, cli_rand: bytes) -> str:
    """The server's proof of the password: lowercase hex MD5(PH + our random bytes)."""
    return _md5(ph + cli_rand).hex()


# --- query strings --------------------------------------------------------------------------------------

_MT5_ESCAPES = {"\\": "\\\\", "=": "\\=", "|": "\\|", "\n": "\\\n"}
# Left literal after the MT5 escaping: the escape character itself and the escaped characters (the server
# reads them back), list separators and mask wildcards. Everything else unsafe is percent-encoded, space
# as %20 (never "+").
_SAFE = "\\=|,*!"


def escape_query_value(value: Any) -> str:
    """One query value: MT5 backslash-escapes `\\ = |` and line feed, then URL percent-encoding."""
    text = "".join(_MT5_ESCAPES.get(ch, ch) for ch in str(value))
    return quote(text, safe=_SAFE)


def build_query(params: dict[str, Any]) -> str:
    return "&".join(f"{quote(str(k), safe='')}={escape_query_value(v)}" for k, v in params.items() if v is not None)


def login_list(logins) -> str:
    return ",".join(str(int(login)) for login in logins)


# --- retcodes -------------------------------------------------------------------------------------------

OK_RETCODES = frozenset({0, 1})  # 0 done, 1 OK with no data
# Authentication retcodes (MT_RET_AUTH_*): on an ordinary command they mean the session is not valid any more.
AUTH_RETCODES = range(1000, 1100)

# What each retcode means to the caller. Codes not listed: the 1000s are AuthFailed, everything else Rejected.
RETCODE_ERRORS: dict[int, type[TradingPlatformError]] = {
    2: Rejected,  # common error
    3: Rejected,  # invalid parameters
    4: Rejected,  # invalid data
    5: Unavailable,  # disk error (server side)
    6: Unavailable,  # memory error (server side)
    7: Unavailable,  # network error
    8: NotPermitted,  # not enough permissions (or a group outside the manager's reach)
    9: Unavailable,  # timeout
    10: Unavailable,  # no connection
    11: Unavailable,  # service not available
    12: Unavailable,  # too frequent requests
    13: NotFound,  # not found
    14: Rejected,  # partial data: never silently accepted
    15: Unavailable,  # server shutdown in progress
    16: Rejected,  # canceled
    17: Rejected,  # duplicate
    1001: AuthFailed,  # invalid account
    1002: AuthFailed,  # account disabled
    1008: ServerNotAuthentic,  # server not authenticated
    1012: AuthFailed,  # IP not allowed for this manager
    3004: Rejected,  # user exists
    3006: Rejected,  # invalid (too weak) password
    4005: Rejected,  # money limit
    10017: Rejected,  # trading disabled
    10019: Rejected,  # not enough money
    12001: Rejected,  # must run on the main server
}


def error_class_for(retcode: int) -> type[TradingPlatformError]:
    if retcode in RETCODE_ERRORS:
        return RETCODE_ERRORS[retcode]
    if retcode in AUTH_RETCODES:
        return AuthFailed
    return Rejected


def error_for(retcode: int, text: str, command: str) -> TradingPlatformError:
    cls = error_class_for(retcode)
    message = f"{command}: {text or 'error'}"
    if cls is Rejected:
        return Rejected(message, retcode=retcode)
    return cls(message, retcode=retcode)


class MalformedResponse(Unavailable):
    """The server answered something that is not a Web API response (a proxy's error page, truncated JSON)."""


def parse_retcode(payload: Any) -> tuple[int, str]:
    """`"0 Done"` → (0, "Done"); an integer is accepted too."""
    raw = payload.get("retcode") if isinstance(payload, dict) else None
    if isinstance(raw, int):
        return raw, ""
    if isinstance(raw, str):
        head, _, text = raw.strip().partition(" ")
        try:
            return int(head), text
        except ValueError:
            pass
    raise MalformedResponse(f"response without a valid retcode: {str(payload)[:200]!r}")


# --- scalars (the examples send every scalar as a string; accept numbers too) ---------------------------

def to_decimal(value: Any, default: Decimal = Decimal(0)) -> Decimal:
    if value is None or value == "":
        return default
    if isinstance(value, float):
        value = repr(value)
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MalformedResponse(f"not a number: {value!r}") from exc
    if not result.is_finite():
        raise MalformedResponse(f"not a finite number: {value!r}")
    return result


def to_int(value: Any, default: int = 0) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        # "100.0" style integers
        number = to_decimal(value)
        if number != number.to_integral_value():
            raise MalformedResponse(f"not an integer: {value!r}") from None
        return int(number)


def volume_to_lots(volume: Any) -> Decimal:
    return to_decimal(volume) / VOLUME_PER_LOT
