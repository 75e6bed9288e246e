"""Names that must (or must not) match, against the committed extract and the full list alike.

Each case: (client name as typed, date of birth, nationality, ent_num expected among the hits or None for
"no hit at all"). The benchmark re-checks these against the full list with and without the index.
"""
from __future__ import annotations

from datetime import date

MATCHES = {
    # swapped order (published "LAST, First Middle")
    "swapped order": ("Mousa Mohammed Abu Marzook", None, None, 3754),
    "swapped order, two-part surname": ("Nicolas Maduro Moros", None, None, 22790),
    "swapped order, patronymic": ("Vladimir Vladimirovich Putin", None, None, 35096),
    # transliteration
    "Cyrillic transliteration Evgeny": ("Evgeny Prigozhin", None, None, 21171),
    "German transliteration Jewgeni Prigoschin": ("Jewgeni Prigoschin", None, None, 21171),
    "written in Cyrillic": ("Евгений Викторович Пригожин", None, None, 21171),
    "Sergey for Sergei": ("Sergey Viktorovich Lavrov", None, None, 35233),
    "Gaddafi for Qadhafi": ("Muammar Gaddafi", None, None, 12606),
    "Musa Marzuk for Mousa Marzook": ("Musa Abu Marzuk", None, None, 3754),
    "Mohamed for Mohammed": ("Mousa Mohamed Abu Marzook", None, None, 3754),
    "article joined to the surname": ("Ayman Alzawahiri", None, None, 2676),
    "Husseini for Husseini spelled Hoseini": ("Ali Hoseini Khamenei", None, None, 26945),
    "given names written as one word": ("Abdulrahman Yasin", None, None, 6931),
    # missing middle name / patronymic
    "missing patronymic": ("Yevgeniy Prigozhin", None, None, 21171),
    "missing middle name": ("Mousa Abu Marzook", None, None, 3754),
    "missing patronymic, Oleg": ("Oleg Deripaska", None, None, 24283),
    # diacritics and case
    "diacritics and upper case": ("JOAQUÍN GUZMÁN LOERA", None, None, 6861),
    "diacritics and lower case": ("gilberto josé rodríguez orejuela", None, None, 4107),
    # typos
    "one letter doubled": ("Vladimir Puttin", None, None, 35096),
    "two letters swapped": ("Alisher Usmnaov", None, None, 35283),
    # date of birth and nationality agreeing keep the hit
    "date of birth and nationality agree": ("Hasan Nasrallah", date(1960, 8, 31), "LB", 2686),
}

CLEAR = {
    "a Scandinavian name": ("Emma Johansson", None, None, None),
    "a Portuguese name": ("Carlos Alberto Mendes", None, None, None),
    "a Chinese name": ("Zhang Xiaoming", None, None, None),
    "a common Arabic name with a different birth date and nationality": (
        "Hasan Nasrallah", date(1991, 3, 14), "GB", None),
}
