"""Jurisdiction presets: the regulator's rules a legal entity starts from (the brokerage edits them later).

Figures follow the published retail rules of each regulator: ESMA/CySEC and FCA cap retail leverage
by instrument class (30:1 major FX ... 2:1 crypto); ASIC applies the same caps since 2021; offshore
regulators (FSA Seychelles, VFSC Vanuatu) leave leverage to the broker.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class JurisdictionPreset:
    code: str
    name: str
    regulator: str
    country: str
    max_leverage: dict[str, int]
    # When the full profile (and KYC) must be complete: "first_deposit" (strict) or "first_withdrawal".
    profile_required_before: str
    kyc_refresh_months: int
    appropriateness_test: bool
    negative_balance_protection: bool
    restricted_countries: tuple[str, ...] = field(default=())
    base_currencies: tuple[str, ...] = ("USD", "EUR")


_SANCTIONED = ("KP", "IR", "SY", "CU", "RU", "BY", "MM")

PRESETS: dict[str, JurisdictionPreset] = {
    p.code: p
    for p in [
        JurisdictionPreset(
            code="cysec", name="Cyprus (EU, CySEC)", regulator="Cyprus Securities and Exchange Commission",
            country="CY",
            max_leverage={"fx_major": 30, "fx_minor": 20, "gold": 20, "index": 20, "commodity": 10,
                          "stock": 5, "crypto": 2},
            profile_required_before="first_deposit", kyc_refresh_months=24, appropriateness_test=True,
            negative_balance_protection=True, restricted_countries=_SANCTIONED + ("US", "CA", "BE"),
            base_currencies=("EUR", "USD", "GBP"),
        ),
        JurisdictionPreset(
            code="fca", name="United Kingdom (FCA)", regulator="Financial Conduct Authority", country="GB",
            max_leverage={"fx_major": 30, "fx_minor": 20, "gold": 20, "index": 20, "commodity": 10,
                          "stock": 5, "crypto": 2},
            profile_required_before="first_deposit", kyc_refresh_months=24, appropriateness_test=True,
            negative_balance_protection=True, restricted_countries=_SANCTIONED + ("US",),
            base_currencies=("GBP", "USD", "EUR"),
        ),
        JurisdictionPreset(
            code="asic", name="Australia (ASIC)", regulator="Australian Securities and Investments Commission",
            country="AU",
            max_leverage={"fx_major": 30, "fx_minor": 20, "gold": 20, "index": 20, "commodity": 10,
                          "stock": 5, "crypto": 2},
            profile_required_before="first_deposit", kyc_refresh_months=36, appropriateness_test=True,
            negative_balance_protection=True, restricted_countries=_SANCTIONED + ("US",),
            base_currencies=("AUD", "USD"),
        ),
        JurisdictionPreset(
            code="fsa_sc", name="Seychelles (FSA)", regulator="Financial Services Authority Seychelles",
            country="SC",
            max_leverage={"fx_major": 500, "fx_minor": 500, "gold": 200, "index": 200, "commodity": 100,
                          "stock": 20, "crypto": 20},
            profile_required_before="first_withdrawal", kyc_refresh_months=36, appropriateness_test=False,
            negative_balance_protection=True, restricted_countries=_SANCTIONED + ("US", "CA", "GB", "AU") + (
                "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
                "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
            base_currencies=("USD", "EUR"),
        ),
        JurisdictionPreset(
            code="vfsc", name="Vanuatu (VFSC)", regulator="Vanuatu Financial Services Commission", country="VU",
            max_leverage={"fx_major": 1000, "fx_minor": 500, "gold": 500, "index": 200, "commodity": 100,
                          "stock": 20, "crypto": 50},
            profile_required_before="first_withdrawal", kyc_refresh_months=36, appropriateness_test=False,
            negative_balance_protection=False, restricted_countries=_SANCTIONED + ("US", "CA"),
            base_currencies=("USD",),
        ),
    ]
}


def preset_choices() -> list[tuple[str, str]]:
    return [(p.code, p.name) for p in PRESETS.values()]
