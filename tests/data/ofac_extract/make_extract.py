#!/usr/bin/env python
"""Rebuild this extract from the full OFAC files (shared/data/ofac, publication of 2023-12-28).

Keeps the chosen entries' rows byte for byte (CRLF line ends, the trailing 0x1A EOF byte), so the extract
is itself a valid legacy-CSV set. Usage: python tests/data/ofac_extract/make_extract.py [/path/to/ofac]
"""
from __future__ import annotations

import csv
import io
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[3] / "shared" / "data" / "ofac"

# Chosen for the cases they carry; the rest is a seeded random sample of the list.
CHOSEN = [
    3754,   # ABU MARZOOK, Mousa Mohammed: Arabic, swapped order, weak alias with an apostrophe ('ABU-'UMAR')
    21171,  # PRIGOZHIN, Yevgeniy Viktorovich: Cyrillic transliteration (Evgeny / Jewgeni)
    31672,  # PRIGOZHIN, Pavel Evgenyevich: same surname, another person
    35096,  # PUTIN, Vladimir Vladimirovich
    12606,  # QADHAFI, Muammar: 11 aliases (Gaddafi, Kadhafi, ...)
    2676,   # AL ZAWAHIRI, Dr. Ayman: honorific and article in the published name
    4107, 4108,  # RODRIGUEZ OREJUELA: Spanish double surnames, many weak aliases
    6861,   # GUZMAN LOERA, Joaquin: 18 aliases
    22790,  # MADURO MOROS, Nicolas
    35233,  # LAVROV, Sergei Viktorovich (Sergey / Serguei)
    16669, 24183,  # ROTENBERG, Arkady / Igor
    24283,  # DERIPASKA, Oleg Vladimirovich
    23343,  # KADYROV, Ramzan Akhmatovich
    35173,  # SHOIGU, Sergei Kuzhugetovich
    35283,  # USMANOV, Alisher Burhanovich
    26945,  # KHAMENEI, Ali Husseini
    7843,   # AL-TIKRITI, Saddam Hussein
    12735,  # AL-ASSAD, Bashar
    2686,   # NASRALLAH, Hasan
    45610,  # 'ABD-AL-DAYIM NASRALLAH, Muhammad Ahmad: leading quote, 8 aliases
    7782,   # SAHINPASIC, Senad: DOB circa 1951
    6862,   # HAMIEH, Jamiel: DOB Sep 1938, 29 aliases
    10612,  # DROUKDEL, Abdelmalek: 46 aliases
    10923,  # REVIVAL OF ISLAMIC HERITAGE SOCIETY: entity with 95 aliases
    7140,   # LASHKAR E-TAYYIBA
    306,    # BANCO NACIONAL DE CUBA: weak alias 'BNC', several addresses
    173,    # ANGLO-CARIBBEAN CO., LTD.: commas inside a quoted name
    15038, 15059, 15076,  # vessels ARGO I, HAWK, SEA STAR III
    15431,  # aircraft EP-GOM
    6931,   # YASIN, Abdul Rahman: "Abdulrahman" written as one word
]
SAMPLE = 166  # → 200 entries


def rows(path: Path) -> tuple[list[tuple[int, bytes]], bytes]:
    data = path.read_bytes()
    assert data.endswith(b"\r\n\x1a"), path
    lines = data[:-1].split(b"\r\n")[:-1]
    parsed = []
    for line in lines:
        ent_num = int(next(csv.reader(io.StringIO(line.decode("latin-1"))))[0])
        parsed.append((ent_num, line))
    return parsed, b"\x1a"


def main() -> None:
    sdn, eof = rows(SOURCE / "sdn.csv")
    chosen = set(CHOSEN)
    others = sorted(e for e, _ in sdn if e not in chosen)
    chosen |= set(random.Random(20231228).sample(others, SAMPLE))
    for name in ("sdn.csv", "alt.csv", "add.csv"):
        kept = [line for ent_num, line in rows(SOURCE / name)[0] if ent_num in chosen]
        (HERE / name).write_bytes(b"".join(line + b"\r\n" for line in kept) + eof)
        print(name, len(kept))


if __name__ == "__main__":
    main()
