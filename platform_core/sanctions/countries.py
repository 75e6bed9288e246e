"""Country names as OFAC writes them ('Korea, North', 'Burma', 'Region: Crimea') → ISO 3166-1 alpha-2.

Covers every nationality, citizenship and address country in the 2021 and 2023 SDN files, plus common
English spellings a client form may send. Our own records hold ISO codes (brokerage.LegalEntity.country).
"""
from __future__ import annotations

import unicodedata

_NAMES = {
    "AF": ["Afghanistan"], "AL": ["Albania"], "DZ": ["Algeria"], "AO": ["Angola"], "AR": ["Argentina"],
    "AM": ["Armenia"], "AW": ["Aruba"], "AU": ["Australia"], "AT": ["Austria"], "AZ": ["Azerbaijan"],
    "BS": ["Bahamas, The", "Bahamas", "The Bahamas"], "BH": ["Bahrain"], "BD": ["Bangladesh"],
    "BB": ["Barbados"], "BY": ["Belarus"], "BE": ["Belgium"], "BZ": ["Belize"], "BJ": ["Benin"],
    "BM": ["Bermuda"], "BO": ["Bolivia"], "BA": ["Bosnia and Herzegovina"], "BR": ["Brazil"],
    "BN": ["Brunei"], "BG": ["Bulgaria"], "BF": ["Burkina Faso"], "MM": ["Burma", "Myanmar"],
    "CV": ["Cabo Verde", "Cape Verde"], "KH": ["Cambodia"], "CM": ["Cameroon"], "CA": ["Canada"],
    "KY": ["Cayman Islands"], "CF": ["Central African Republic"], "TD": ["Chad"], "CL": ["Chile"],
    "CN": ["China"], "CO": ["Colombia"], "KM": ["Comoros"],
    "CD": ["Congo, Democratic Republic of the", "Democratic Republic of the Congo", "DR Congo"],
    "CG": ["Congo, Republic of the", "Republic of the Congo", "Congo"], "CR": ["Costa Rica"],
    "CI": ["Cote d Ivoire", "Cote d'Ivoire", "Ivory Coast"], "HR": ["Croatia"], "CU": ["Cuba"],
    "CY": ["Cyprus"], "CZ": ["Czech Republic", "Czechia"], "DK": ["Denmark"], "DJ": ["Djibouti"],
    "DM": ["Dominica"], "DO": ["Dominican Republic"], "EC": ["Ecuador"], "EG": ["Egypt"],
    "SV": ["El Salvador"], "GQ": ["Equatorial Guinea"], "ER": ["Eritrea"], "EE": ["Estonia"],
    "ET": ["Ethiopia"], "FI": ["Finland"], "FR": ["France"], "GE": ["Georgia"], "DE": ["Germany"],
    "GH": ["Ghana"], "GI": ["Gibraltar"], "GR": ["Greece"], "GT": ["Guatemala"], "GN": ["Guinea"],
    "GW": ["Guinea-Bissau"], "GY": ["Guyana"], "HT": ["Haiti"], "HN": ["Honduras"], "HK": ["Hong Kong"],
    "HU": ["Hungary"], "IN": ["India"], "ID": ["Indonesia"], "IR": ["Iran"], "IQ": ["Iraq"],
    "IE": ["Ireland"], "IL": ["Israel"], "IT": ["Italy"], "JM": ["Jamaica"], "JP": ["Japan"],
    "JE": ["Jersey"], "JO": ["Jordan"], "KZ": ["Kazakhstan"], "KE": ["Kenya"],
    "KP": ["Korea, North", "North Korea"], "KR": ["Korea, South", "South Korea"], "XK": ["Kosovo"],
    "KW": ["Kuwait"], "KG": ["Kyrgyzstan"], "LA": ["Laos"], "LV": ["Latvia"], "LB": ["Lebanon"],
    "LR": ["Liberia"], "LY": ["Libya"], "LI": ["Liechtenstein"], "LU": ["Luxembourg"], "MO": ["Macau", "Macao"],
    "MY": ["Malaysia"], "MV": ["Maldives"], "ML": ["Mali", "Region: Northern Mali"], "MT": ["Malta"],
    "IM": ["Man, Isle of", "Isle of Man"], "MH": ["Marshall Islands"], "MR": ["Mauritania"], "MX": ["Mexico"],
    "MD": ["Moldova"], "MC": ["Monaco"], "MN": ["Mongolia"], "ME": ["Montenegro"], "MA": ["Morocco"],
    "MZ": ["Mozambique"], "NA": ["Namibia"], "NL": ["Netherlands"], "AN": ["Netherlands Antilles"],
    "NZ": ["New Zealand"], "NI": ["Nicaragua"], "NE": ["Niger"], "NG": ["Nigeria"],
    "MK": ["North Macedonia, The Republic of", "North Macedonia", "Macedonia"], "NO": ["Norway"], "OM": ["Oman"],
    "PK": ["Pakistan"], "PW": ["Palau"],
    "PS": ["Palestinian", "Palestine", "West Bank", "Region: West Bank", "Region: Gaza", "Gaza"],
    "PA": ["Panama"], "PY": ["Paraguay"], "PE": ["Peru"], "PH": ["Philippines"], "PL": ["Poland"],
    "PT": ["Portugal"], "QA": ["Qatar"], "RO": ["Romania"], "RU": ["Russia", "Russian Federation"],
    "RW": ["Rwanda"], "KN": ["Saint Kitts and Nevis"], "VC": ["Saint Vincent and the Grenadines"],
    "WS": ["Samoa"], "SM": ["San Marino"], "SA": ["Saudi Arabia"], "SN": ["Senegal"], "RS": ["Serbia"],
    "SC": ["Seychelles"], "SL": ["Sierra Leone"], "SG": ["Singapore"], "SK": ["Slovakia"], "SI": ["Slovenia"],
    "SO": ["Somalia"], "ZA": ["South Africa"], "SS": ["South Sudan"], "ES": ["Spain"], "LK": ["Sri Lanka"],
    "SD": ["Sudan"], "SE": ["Sweden"], "CH": ["Switzerland"], "SY": ["Syria"], "TW": ["Taiwan"],
    "TJ": ["Tajikistan"], "TZ": ["Tanzania"], "TH": ["Thailand"], "GM": ["The Gambia", "Gambia"],
    "TT": ["Trinidad and Tobago"], "TN": ["Tunisia"], "TR": ["Turkey", "Turkiye"], "TM": ["Turkmenistan"],
    "UG": ["Uganda"], "UA": ["Ukraine", "Region: Crimea"], "AE": ["United Arab Emirates", "UAE"],
    "GB": ["United Kingdom", "UK", "Great Britain"], "US": ["United States", "USA", "United States of America"],
    "UY": ["Uruguay"], "UZ": ["Uzbekistan"], "VU": ["Vanuatu"], "VE": ["Venezuela"], "VN": ["Vietnam"],
    "VG": ["Virgin Islands, British", "British Virgin Islands"], "YE": ["Yemen"], "ZM": ["Zambia"],
    "ZW": ["Zimbabwe"], "AD": ["Andorra"], "IS": ["Iceland"], "LT": ["Lithuania"], "MU": ["Mauritius"],
    "FJ": ["Fiji"], "BT": ["Bhutan"], "NP": ["Nepal"], "BW": ["Botswana"], "LS": ["Lesotho"],
    "MW": ["Malawi"], "MG": ["Madagascar"], "TG": ["Togo"], "GA": ["Gabon"], "BI": ["Burundi"],
    "LC": ["Saint Lucia"], "GD": ["Grenada"], "AG": ["Antigua and Barbuda"], "SR": ["Suriname"],
    "CW": ["Curacao"], "PR": ["Puerto Rico"], "PG": ["Papua New Guinea"], "SB": ["Solomon Islands"],
    "TL": ["Timor-Leste", "East Timor"], "KI": ["Kiribati"], "TO": ["Tonga"], "TV": ["Tuvalu"], "NR": ["Nauru"],
    "FM": ["Micronesia"], "SZ": ["Eswatini", "Swaziland"], "ST": ["Sao Tome and Principe"],
}


def _key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return " ".join("".join(c for c in decomposed if c.isalnum() or c.isspace()).casefold().split())


_BY_NAME: dict[str, str] = {_key(n): code for code, names in _NAMES.items() for n in names}
ISO_CODES = frozenset(_NAMES)


def country_code(value: str | None) -> str | None:
    """'IR', 'ir', 'Iran', 'Korea, North' → ISO alpha-2; None when the value names no known country."""
    if not value:
        return None
    value = value.strip()
    if value.lower().startswith("possibly "):
        value = value[len("possibly "):]
    if len(value) == 2 and value.upper() in ISO_CODES:
        return value.upper()
    return _BY_NAME.get(_key(value))
