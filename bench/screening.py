#!/usr/bin/env python
"""Benchmark: sanctions screening of 10,000 client names against the full OFAC SDN list, with the name
index vs a naive scan that scores every name and alias of the list, in the same run, same scorer.

Runs against a throw-away database (<name>_bench on the same server): the real SDN publication of
2023-12-28 (../shared/data/ofac: 13,821 entries, 17,091 aliases, 18,990 addresses) is imported with the
production importer, then screened.

  clients   10,000 generated names (seeded): ~2% planted variants of sanctioned individuals' names (swapped
            order, transliteration, missing middle name, typo — always in "First Middle LAST" order, the
            list writes "LAST, First Middle"), the rest realistic names from 26 naming cultures
  indexed   screen_person() for every name (index candidates → prefilter → full score)
  naive     the same scorer over every name of the list (NameIndex.search(use_index=False)). It is slow,
            so its throughput is measured on a random sample of --naive-sample names of the same mix
            and reported as names/s; its recall is measured on every planted name, not extrapolated.

Recall: share of planted names whose sanctioned entry is among the hits (default threshold). The index
must not lose a hit the naive scan finds: planted names and the committed test cases are both checked.

Last line: {"names_per_s": …, "naive_names_per_s": …, "ratio": …, "recall": …, "naive_recall": …, ...}
Usage: python bench/screening.py [--names 10000] [--naive-sample 200] [--seed 20231228]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _common import bench_database_url, recreate_database  # noqa: E402  (bench/ is the script's directory)

FULL_LIST = ROOT.parent / "shared" / "data" / "ofac"

# --- realistic client names ----------------------------------------------------------------------------

CULTURES = {
    "english": ("James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Susan Richard "
                "Jessica Thomas Sarah Charles Karen Daniel Emily Matthew Olivia George Grace",
                "Smith Johnson Williams Brown Jones Miller Davis Wilson Taylor Anderson Thomas Moore Martin "
                "Thompson White Harris Clark Lewis Walker Hall Young Wright Hughes Edwards Bennett"),
    "spanish": ("José Juan Carlos Luis Miguel Javier Alejandro Fernando Sofía Lucía María Carmen Ana Laura "
                "Isabel Valentina Camila Diego Pablo Andrés Mateo Gabriela Daniela",
                "García Martínez López Sánchez Pérez Gómez Fernández Díaz Morales Romero Navarro Torres "
                "Ramírez Flores Vargas Castillo Jiménez Ruiz Herrera Medina Aguilar Ortega Delgado"),
    "portuguese": ("João Pedro Lucas Gabriel Rafael Thiago Bruno Felipe Ana Beatriz Juliana Fernanda Larissa "
                   "Mariana Camila Letícia Rodrigo Gustavo",
                   "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa Ribeiro "
                   "Carvalho Almeida Lopes Araújo Barbosa Cardoso"),
    "french": ("Jean Pierre Louis Michel Philippe Nicolas Julien Antoine Camille Chloé Léa Manon Élodie "
               "Céline Amélie Sébastien Benoît François",
               "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent Lefèbvre "
               "Michel Fournier Girard Bonnet Rousseau"),
    "german": ("Lukas Leon Finn Jonas Maximilian Felix Paul Anna Lena Lea Hannah Johanna Katharina Jürgen "
               "Stefan Wolfgang Ursula Sabine",
               "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Bauer Richter "
               "Klein Wolf Schröder Neumann Zimmermann"),
    "italian": ("Giuseppe Giovanni Antonio Mario Luigi Francesco Alessandro Lorenzo Giulia Francesca Chiara "
                "Federica Valentina Sara Matteo Riccardo",
                "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti "
                "De Luca Mancini Costa Giordano Rizzo"),
    "polish": ("Piotr Krzysztof Andrzej Tomasz Paweł Michał Marcin Anna Katarzyna Małgorzata Agnieszka "
               "Barbara Ewa Magdalena Łukasz Grzegorz",
               "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański Woźniak "
               "Dąbrowski Kozłowski Jankowski Mazur"),
    "russian": ("Aleksandr Dmitry Maxim Sergei Andrei Alexei Artem Ilya Kirill Mikhail Nikita Anastasia "
                "Maria Daria Anna Elizaveta Polina Viktoria Ekaterina Ksenia",
                "Smirnov Kuznetsov Popov Vasiliev Sokolov Mikhailov Novikov Fedorov Morozov Volkov Alekseev "
                "Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev Orlov Zakharov"),
    "ukrainian": ("Oleksandr Andriy Mykola Taras Bohdan Yaroslav Dmytro Oksana Olena Iryna Nataliya Halyna "
                  "Yuliya Svitlana",
                  "Shevchenko Bondarenko Kovalenko Tkachenko Kravchenko Oliynyk Shevchuk Polishchuk Lysenko "
                  "Marchenko Rudenko Savchenko Petrenko Moroz"),
    "arabic": ("Omar Youssef Karim Tariq Nabil Rami Fadi Samir Walid Ziad Layla Fatima Aisha Mariam Noura "
               "Rania Salma Huda Yasmin Dina",
               "Haddad Khoury Nassar Saleh Mansour Aziz Hamdan Farouk Sabbagh Shaheen Qasim Jaber Barakat "
               "Najjar Tamimi Masri Zaidan Suleiman Halabi Darwish"),
    "persian": ("Reza Amir Hossein Mehdi Arash Babak Kourosh Dariush Parisa Shirin Maryam Leila Nasrin "
                "Roya Setareh Nazanin",
                "Mohammadi Hosseini Rezaei Moradi Karimi Jafari Rahimi Ahmadi Kazemi Ghasemi Sadeghi "
                "Nazari Hashemi Zamani Ebrahimi Mousavi"),
    "turkish": ("Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim Emre Burak Zeynep Elif Ayşe Fatma Emine "
                "Merve Büşra",
                "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç "
                "Aslan Çetin Kara Koç Kurt"),
    "indian": ("Aarav Vivaan Aditya Arjun Rohan Rahul Vikram Sanjay Priya Ananya Aishwarya Deepika Kavya "
               "Neha Pooja Sunita Lakshmi Ravi",
               "Sharma Verma Gupta Patel Singh Kumar Reddy Iyer Nair Menon Rao Joshi Desai Mehta Shah "
               "Chopra Malhotra Banerjee Chatterjee Mukherjee"),
    "pakistani": ("Imran Bilal Usman Faisal Hamza Zain Asad Sana Ayesha Hira Mahnoor Sadia Nadia",
                  "Qureshi Chaudhry Butt Malik Sheikh Siddiqui Baig Mirza Abbasi Rana Bhatti Awan"),
    "chinese": ("Wei Fang Min Jing Lei Jun Yan Hui Xiu Ying Hao Yu Tao Ming Qiang Lan Xin",
                "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo"),
    "japanese": ("Haruto Yuto Sota Ren Hiroshi Takeshi Kenji Yui Aoi Sakura Yuna Hina Akiko Yoko Mei",
                 "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato Yoshida "
                 "Yamada Sasaki Yamaguchi Matsumoto"),
    "korean": ("Min-jun Seo-jun Ji-ho Ha-eun Seo-yeon Ji-woo Hyun-woo Sung-min Eun-ji Soo-ah",
               "Kim Lee Park Choi Jung Kang Cho Yoon Jang Lim Han Shin Seo Kwon"),
    "vietnamese": ("Anh Minh Huy Khang Bao Duc Linh Trang Thao Ngoc Hoa Lan Phuong Tuan",
                   "Nguyen Tran Le Pham Hoang Phan Vu Vo Dang Bui Do Ho Ngo Duong"),
    "yoruba_igbo": ("Adebayo Oluwaseun Chinedu Emeka Ngozi Chiamaka Funmilayo Adaeze Tunde Kelechi Obinna "
                    "Yetunde",
                    "Adeyemi Okafor Okonkwo Balogun Adeleke Eze Nwosu Ogunleye Obi Onyeka Afolabi Chukwu"),
    "swahili": ("Baraka Juma Amani Neema Zawadi Imani Jabari Wanjiru Achieng Otieno Kamau",
                "Mwangi Otieno Kariuki Njoroge Wambui Odhiambo Kimani Mutua Onyango Wafula"),
    "greek": ("Georgios Dimitrios Konstantinos Ioannis Nikolaos Eleni Maria Aikaterini Sofia Vasiliki",
              "Papadopoulos Pappas Georgiou Nikolaidis Oikonomou Karagiannis Vlachos Dimitriou Angelopoulos"),
    "scandinavian": ("Lars Erik Anders Johan Nils Magnus Ingrid Astrid Sigrid Emma Freja Karin Linnea",
                     "Johansson Andersson Karlsson Nilsson Eriksson Larsson Olsen Hansen Jensen Pedersen "
                     "Lindqvist Berg"),
    "dutch": ("Daan Sem Bram Thijs Jesse Lotte Sanne Fleur Anouk Femke",
              "de Jong Jansen de Vries van den Berg van Dijk Bakker Visser Smit Meijer de Boer Mulder"),
    "filipino": ("Jose Mark John Paul Angelo Maricel Rosario Jocelyn Kristine Rowena",
                 "Santos Reyes Cruz Bautista Ocampo Garcia Mendoza Torres Tomas Aquino Villanueva Dizon"),
    "indonesian": ("Budi Agus Dwi Eko Hendra Rizky Siti Dewi Putri Ayu Wulan Indah",
                   "Santoso Wijaya Kusuma Saputra Hidayat Pratama Setiawan Nugroho Halim Gunawan"),
    "thai": ("Somchai Somsak Anan Prasert Niran Malee Ratana Siriporn Kanya Pimchanok",
             "Saetang Srisuk Chaiyaporn Wongsakul Boonmee Kittisak Rattanakorn Thongchai"),
}
# Dutch/Italian surnames with a particle are written as two words: keep them together.
_MULTIWORD = {"de Jong", "de Vries", "van den Berg", "van Dijk", "de Boer", "De Luca"}


def _surnames(text: str) -> list[str]:
    names, rest = [], text
    for multi in _MULTIWORD:
        if multi in rest:
            names.append(multi)
            rest = rest.replace(multi, " ")
    return names + rest.split()


CULTURE_NAMES = {c: (firsts.split(), _surnames(lasts)) for c, (firsts, lasts) in CULTURES.items()}


def clean_name(rng: random.Random) -> str:
    culture = rng.choice(list(CULTURE_NAMES))
    firsts, lasts = CULTURE_NAMES[culture]
    parts = [rng.choice(firsts)]
    if rng.random() < 0.25:
        parts.append(rng.choice([f for f in firsts if f != parts[0]]))
    if culture in ("spanish", "portuguese") and rng.random() < 0.5:
        parts += rng.sample(lasts, 2)  # two surnames
    else:
        parts.append(rng.choice(lasts))
    if culture in ("chinese", "korean", "vietnamese", "japanese") and rng.random() < 0.5:
        parts = parts[-1:] + parts[:-1]  # family name first
    return " ".join(parts)


# --- planted variants of sanctioned names -----------------------------------------------------------------

VARIANT_GROUPS = [
    ("mohammed", "muhammad", "mohamed", "mohammad", "muhammed", "mohamad"), ("ahmed", "ahmad"),
    ("hussein", "husayn", "hussain", "husein"), ("hassan", "hasan"), ("yusuf", "yousef", "youssef", "yousif"),
    ("abdullah", "abdallah", "abdulla"), ("omar", "umar"), ("osama", "usama"), ("khalid", "khaled"),
    ("mahmoud", "mahmud"), ("mustafa", "mostafa", "moustafa"), ("ibrahim", "ebrahim"), ("said", "saeed"),
    ("abdel", "abdul"), ("hamid", "hamed"), ("rahman", "rehman"), ("salim", "saleem", "selim"),
    ("sergei", "sergey", "serguei"), ("yevgeniy", "evgeny", "evgenii", "yevgeny"),
    ("aleksandr", "alexander", "aleksander"), ("aleksandrovich", "alexandrovich"), ("dmitry", "dmitri", "dmitriy"),
    ("yuri", "yury", "iouri"), ("andrei", "andrey"), ("aleksei", "alexei", "alexey", "aleksey"),
    ("nikolai", "nikolay"), ("mikhail", "mihail"), ("viacheslav", "vyacheslav"), ("tatiana", "tatyana"),
    ("yulia", "yuliya", "julia"), ("natalia", "natalya"), ("viktor", "victor"), ("viktorovich", "victorovich"),
    ("arkady", "arkadiy", "arkadi"), ("maksim", "maxim"), ("anatoly", "anatoliy", "anatoli"),
    ("vasily", "vasiliy", "vassili"), ("gennady", "gennadiy", "gennadi"), ("valery", "valeriy", "valeri"),
    ("yelena", "elena"), ("olga", "olha"), ("igor", "ihor"), ("oleksandr", "olexandr"), ("jose", "josé"),
]
VARIANTS = {name: [v for v in group if v != name] for group in VARIANT_GROUPS for name in group}
# Spelling conventions that differ between transliteration systems (English, French, German, ISO, ...).
TRANSLIT_RULES = [("kh", "h"), ("ou", "u"), ("oo", "u"), ("iy", "y"), ("ii", "y"), ("yu", "iu"), ("ya", "ia"),
                  ("ee", "i"), ("ph", "f"), ("v", "w"), ("ks", "x"), ("x", "ks"), ("sh", "sch"), ("zh", "j"),
                  ("ch", "tch"), ("j", "dj"), ("q", "k"), ("dh", "d"), ("th", "t"), ("ai", "ay"), ("ay", "ai"),
                  ("ei", "ey"), ("ey", "ei"), ("y", "i"), ("ie", "ye")]
KINDS = ("swapped order", "transliteration", "missing middle name", "typo")


def person_order(published: str) -> list[str]:
    """'ABU MARZOOK, Mousa Mohammed' → ['Mousa', 'Mohammed', 'Abu', 'Marzook']."""
    last, _, given = published.partition(",")
    return given.split() + [w.capitalize() for w in last.split()]


def transliterate(tokens: list[str], rng: random.Random) -> list[str] | None:
    options = [i for i, t in enumerate(tokens) if t.lower() in VARIANTS]
    if options:
        i = rng.choice(options)
        out = list(tokens)
        out[i] = rng.choice(VARIANTS[tokens[i].lower()]).capitalize()
        return out
    order = list(range(len(tokens)))
    rng.shuffle(order)
    for i in order:
        word = tokens[i].lower()
        rules = [(a, b) for a, b in TRANSLIT_RULES if a in word[1:]]
        if rules:
            a, b = rng.choice(rules)
            at = word.index(a, 1)
            out = list(tokens)
            out[i] = (word[:at] + b + word[at + len(a):]).capitalize()
            return out
    return None


def typo(tokens: list[str], rng: random.Random) -> list[str] | None:
    options = [i for i, t in enumerate(tokens) if len(t) >= 5 and t.isalpha()]
    if not options:
        return None
    i = rng.choice(options)
    w = tokens[i]
    p = rng.randrange(1, len(w) - 1)
    edit = rng.choice(("substitute", "delete", "transpose", "double"))
    if edit == "substitute":
        w = w[:p] + rng.choice([c for c in "aeioulnrstmk" if c != w[p].lower()]) + w[p + 1:]
    elif edit == "delete":
        w = w[:p] + w[p + 1:]
    elif edit == "transpose":
        w = w[:p] + w[p + 1] + w[p] + w[p + 2:]
    else:
        w = w[:p] + w[p] + w[p:]
    out = list(tokens)
    out[i] = w
    return out


def plant(entries: list[tuple[int, str]], count: int, rng: random.Random) -> list[tuple[str, int, str]]:
    """[(client name, ent_num it must hit, kind)] — variants of sanctioned individuals' names."""
    planted: list[tuple[str, int, str]] = []
    pool = list(entries)
    rng.shuffle(pool)
    per_kind = {k: 0 for k in KINDS}
    target = {k: count // len(KINDS) + (1 if i < count % len(KINDS) else 0) for i, k in enumerate(KINDS)}
    for ent_num, published in pool:
        kind = next((k for k in KINDS if per_kind[k] < target[k]), None)
        if kind is None:
            break
        tokens = person_order(published)
        if len(tokens) < 2:
            continue
        if kind == "swapped order":
            variant = tokens
        elif kind == "transliteration":
            variant = transliterate(tokens, rng)
        elif kind == "missing middle name":
            # given names, then the surname: drop a given name that is not the first one
            given = len(published.partition(",")[2].split())
            variant = tokens[:1] + tokens[2:] if given >= 2 else None
        else:
            variant = typo(tokens, rng)
        if variant is None:
            continue
        planted.append((" ".join(variant), ent_num, kind))
        per_kind[kind] += 1
    return planted


# --- the run ----------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--planted-share", type=float, default=0.02)
    parser.add_argument("--naive-sample", type=int, default=200, help="names timed with the naive scan")
    parser.add_argument("--seed", type=int, default=20231228)
    parser.add_argument("--dir", default=str(FULL_LIST), help="folder with sdn.csv, alt.csv, add.csv")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    if not (Path(args.dir) / "sdn.csv").is_file():
        raise SystemExit(f"The full OFAC SDN files are not at {args.dir} (they ship in shared/data/ofac).")

    url = bench_database_url("_bench")
    os.environ["DATABASE_URL"] = url
    os.environ["DRAMATIQ_NAMESPACE"] = "brokeros-bench"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from tqdm import tqdm

    from platform_core.sanctions.matching import DEFAULT_THRESHOLD
    from platform_core.sanctions.models import EntityType, SanctionsEntry
    from platform_core.sanctions.screening import current_index, screen_person
    from platform_core.sanctions.services import sanctions_list_import
    from tests.sanctions.cases import CLEAR, MATCHES

    call_command("migrate_schemas", shared=True, verbosity=0)
    started = time.perf_counter()
    lst = sanctions_list_import(directory=args.dir, actor_label="bench").sanctions_list
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    _, index = current_index()
    build_s = time.perf_counter() - started
    print(f"list       {lst.entry_count} entries, {lst.alias_count} aliases (+{lst.weak_alias_count} weak), "
          f"{lst.address_count} addresses imported in {import_s:.2f} s; index of {index.name_count} names "
          f"built in {build_s:.2f} s")

    rng = random.Random(args.seed)
    individuals = list(SanctionsEntry.objects.filter(sanctions_list=lst, entity_type=EntityType.INDIVIDUAL)
                       .order_by("ent_num").values_list("ent_num", "name"))
    planted = plant(individuals, round(args.names * args.planted_share), rng)
    listed = {index.v_form[i].norm for i in range(index.name_count)}
    clean: list[str] = []
    while len(clean) < args.names - len(planted):
        name = clean_name(rng)
        if screen_norm(name) not in listed:  # a generated name that IS a listed name is not "clean"
            clean.append(name)
    names = [name for name, _, _ in planted] + clean
    rng.shuffle(names)

    # indexed: every name through the service, as KYC will call it
    hits_by_name = {}
    started = time.perf_counter()
    for name in tqdm(names, desc="indexed", unit="name", file=sys.stderr, mininterval=1):
        hits_by_name[name] = [h.ent_num for h in screen_person(full_name=name).hits]
    indexed_s = time.perf_counter() - started
    names_per_s = len(names) / indexed_s

    # naive: the same scorer over every name of the list, timed on a random sample of the same mix
    sample = rng.sample(names, min(args.naive_sample, len(names)))
    naive_hits = {}
    started = time.perf_counter()
    for name in tqdm(sample, desc="naive (sample)", unit="name", file=sys.stderr):
        naive_hits[name] = [h.entry.ent_num for h in index.search(name, use_index=False)]
    naive_s = time.perf_counter() - started
    naive_names_per_s = len(sample) / naive_s
    # hits the naive scan finds on the sample that the index misses (or the other way round)
    sample_differ = [name for name in sample if sorted(naive_hits[name]) != sorted(hits_by_name[name])]

    # recall on the planted names, both ways (the naive way on every planted name)
    found = Counter()
    naive_found = Counter()
    per_kind = Counter(kind for _, _, kind in planted)
    lost = []
    for name, ent_num, kind in tqdm(planted, desc="naive recall", unit="name", file=sys.stderr):
        indexed_hit = ent_num in hits_by_name[name]
        naive_hit = ent_num in [h.entry.ent_num for h in index.search(name, use_index=False)]
        found[kind] += indexed_hit
        naive_found[kind] += naive_hit
        if naive_hit and not indexed_hit:
            lost.append(name)
    recall = sum(found.values()) / len(planted)
    naive_recall = sum(naive_found.values()) / len(planted)
    clean_with_hits = sum(1 for name in clean if hits_by_name[name])

    # the committed test cases, against the full list: same hits with and without the index
    case_lost, case_found, case_naive_found, cases_differ = [], 0, 0, 0
    for name, dob, nationality, ent_num in list(MATCHES.values()) + list(CLEAR.values()):
        indexed = [(h.entry.ent_num, h.score) for h in index.search(name, date_of_birth=dob, nationality=nationality)]
        naive = [(h.entry.ent_num, h.score) for h in index.search(name, date_of_birth=dob, nationality=nationality,
                                                                    use_index=False)]
        cases_differ += indexed != naive
        if ent_num is not None:
            case_found += ent_num in [e for e, _ in indexed]
            case_naive_found += ent_num in [e for e, _ in naive]
            if ent_num in [e for e, _ in naive] and ent_num not in [e for e, _ in indexed]:
                case_lost.append(name)

    print(f"names      {len(names)} ({len(planted)} planted: "
          + ", ".join(f"{per_kind[k]} {k}" for k in KINDS) + f"; {len(clean)} from {len(CULTURES)} cultures)")
    print(f"indexed    {names_per_s:,.0f} names/s  ({indexed_s:.2f} s for all {len(names)} names, threshold "
          f"{DEFAULT_THRESHOLD:.0f})")
    print(f"naive      {naive_names_per_s:,.1f} names/s  (measured on a random sample of {len(sample)} names in "
          f"{naive_s:.2f} s; the full run would take ~{len(names) / naive_names_per_s:.0f} s)")
    print(f"ratio      {names_per_s / naive_names_per_s:.1f}x")
    print("recall     indexed " + ", ".join(f"{k} {found[k]}/{per_kind[k]}" for k in KINDS)
          + f" = {recall:.3f}")
    print("           naive   " + ", ".join(f"{k} {naive_found[k]}/{per_kind[k]}" for k in KINDS)
          + f" = {naive_recall:.3f}; lost by the index: {len(lost)} {lost[:5]}")
    print(f"cases      {case_found}/{len(MATCHES)} committed match cases hit (naive {case_naive_found}); "
          f"{cases_differ} of {len(MATCHES) + len(CLEAR)} cases differ between indexed and naive; lost: {case_lost}")
    print(f"sample     {len(sample_differ)} of {len(sample)} sampled names get different hits indexed vs naive "
          f"{sample_differ[:5]}")
    examples = [f"{n} → {hits_by_name[n][0]}" for n in clean if hits_by_name[n]][:6]
    print(f"clean      {clean_with_hits} of {len(clean)} generated clean names have a hit "
          f"({clean_with_hits / len(clean):.1%}: common names sharing two parts with a listed name, "
          f"for review; no date of birth or nationality given), e.g. {examples}")
    report = {
        "names_per_s": round(names_per_s, 1),
        "naive_names_per_s": round(naive_names_per_s, 2),
        "ratio": round(names_per_s / naive_names_per_s, 1),
        "recall": round(recall, 4),
        "naive_recall": round(naive_recall, 4),
        "lost_vs_naive": len(lost),
        "cases_recall": round(case_found / len(MATCHES), 4),
        "naive_cases_recall": round(case_naive_found / len(MATCHES), 4),
        "cases_lost_vs_naive": len(case_lost),
        "sample_hits_differ": len(sample_differ),
        "names": len(names),
        "planted": len(planted),
        "naive_sample": len(sample),
        "clean_hit_rate": round(clean_with_hits / len(clean), 4),
        "list_entries": lst.entry_count,
        "list_names": index.name_count,
        "import_s": round(import_s, 2),
        "index_build_s": round(build_s, 2),
        "threshold": DEFAULT_THRESHOLD,
    }
    print(json.dumps(report))
    connection.close()
    if not args.keep:
        recreate_database(url)


def screen_norm(name: str) -> str:
    from platform_core.sanctions.matching import NameForm

    return NameForm.of(name).norm


if __name__ == "__main__":
    main()
