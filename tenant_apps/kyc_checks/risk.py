"""The risk score: factors with points, as data. Any factor above zero makes the client at least "flagged"
for a person unless the total stays low; screening hits, PEP and restricted countries always need a person.

Device/IP country mismatch is NOT scored: the platform has no GeoIP source (no MaxMind database or
service is configured), so the country of the client's last IP (identity.Device.last_ip) cannot be known.
The assessment records it under `skipped` so Compliance sees it was not evaluated.
"""
from __future__ import annotations

# FATF "high-risk jurisdictions subject to a call for action" (black list).
FATF_CALL_FOR_ACTION = frozenset({"KP", "IR", "MM"})
# FATF "jurisdictions under increased monitoring" (grey list, 2024).
FATF_INCREASED_MONITORING = frozenset({
    "BG", "BF", "CM", "CD", "HR", "HT", "KE", "ML", "MC", "MZ", "NA", "NG", "PH", "SN", "ZA", "SS", "SY", "TZ",
    "VE", "VN", "YE",
})
HIGH_RISK_FUNDS = frozenset({"crypto", "cryptocurrency", "gambling", "cash", "loan", "other"})

POINTS = {
    "country_call_for_action": 45,
    "country_restricted": 45,
    "country_increased_monitoring": 25,  # enhanced due diligence: alone it reaches "medium"
    "screening_hit": 60,
    "screening_unscreenable": 30,
    "screening_unavailable": 30,
    "pep": 40,
    "source_of_funds_missing": 10,
    "source_of_funds_high_risk": 20,
    "name_mismatch": 30,
}
# A factor that alone sends the case to a person, whatever the total.
ALWAYS_REVIEW = frozenset({"country_call_for_action", "country_restricted", "screening_hit",
                           "screening_unscreenable", "screening_unavailable", "pep", "name_mismatch"})
MEDIUM_FROM, HIGH_FROM = 25, 50


def level_for(score: int) -> str:
    return "high" if score >= HIGH_FROM else "medium" if score >= MEDIUM_FROM else "low"
