"""Which Trader's Room pages exist (read from the access matrix, so a new page is walked without touching this
file) and what a reader sees on them (text nodes and the attributes that show text)."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings

from tests.access_matrix import ACTORS, FORBIDDEN, NO_SUCH, ROWS, SAMPLE_PARAMS

CLIENT, ANONYMOUS = ACTORS.index("client"), ACTORS.index("anonymous")
NOT_A_PAGE = re.compile(r"\.(svg|png|css|js|webmanifest|csv|pdf)$|/file/?$")  # images, files, downloads
ANONYMOUS_PORTAL_PREFIXES = ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/")


def detail_params(data) -> dict[str, dict]:
    """Real objects for the routes whose matrix row asks for a missing id (a 404 there): the walk shows them."""
    return {
        "/money/deposit/<int:pk>/": {"pk": data.deposit.pk},
        "/money/withdrawals/<int:pk>/": {"pk": data.withdrawal.pk},
        "/partner/referrals/<int:client_id>/": {"client_id": data.referred.pk},
        "/partner/commissions/<str:period>/": {"period": data.period},
    }


def portal_pages(data) -> list[tuple[str, str]]:
    """(who, path) for every GET page of the Trader's Room: who is "client" (the signed-in client, also an active
    IB for /partner/) or "anonymous" (sign-in, sign-up, password reset)."""
    details = detail_params(data)
    pages = []
    for row in ROWS:
        if (row.host != "tenant" or row.method != "GET" or row.setup
                or row.route.startswith(("/api/", "/backoffice/")) or NOT_A_PAGE.search(row.route)):
            continue
        client_outcome = row.expect[CLIENT]
        if row.route in details:
            who, params = "client", details[row.route]
        elif NO_SUCH in map(str, row.params.values()):
            continue  # a row about a missing object: nothing to read there
        elif row.route.startswith("/partner/") and client_outcome == FORBIDDEN:
            who, params = "client", row.params  # an active IB's portal: our client is one
        elif client_outcome == 200:
            who, params = "client", row.params
        elif row.expect[ANONYMOUS] == 200 and row.route.startswith(ANONYMOUS_PORTAL_PREFIXES):
            who, params = "anonymous", row.params
        else:
            continue
        values = {**SAMPLE_PARAMS, **params}
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m, values=values: str(values[m.group(1)]), row.route)
        if (who, path) not in pages:
            pages.append((who, path))
    return pages


class _Visible(HTMLParser):
    HIDDEN = {"script", "style", "template", "noscript", "head"}
    TEXT_ATTRS = ("placeholder", "title", "aria-label", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self._hidden += 1
        attrs = dict(attrs)
        for name in self.TEXT_ATTRS:
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])
        if tag == "title":
            self._hidden -= 1  # the window title is seen: count it even inside <head>

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self._hidden -= 1
        if tag == "title":
            self._hidden += 1

    def handle_data(self, data):
        if self._hidden <= 0 and data.strip():
            self.texts.append(data)


def visible_texts(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    return [" ".join(t.split()) for t in parser.texts if t.strip()]


# --- the English source strings --------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\{[^}]*\}\}|\{[\w.]*\}")
TAG = re.compile(r"<[^>]+>")


def _catalogue_files(language: str) -> list[Path]:
    import allauth

    ours = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    theirs = Path(allauth.__file__).parent / "locale" / language / "LC_MESSAGES" / "django.po"
    return [p for p in (ours, theirs) if p.exists()]


def english_sources(language: str) -> dict[str, list[str]]:
    """msgid → the literal runs of English a reader would see if it were not translated (placeholders and tags
    split it), for every msgid whose translation in `language` differs from the English (codes like "CSV" or
    "KYC" that read the same are not evidence of anything)."""
    from babel.messages.pofile import read_po

    sources: dict[str, list[str]] = {}
    for path in _catalogue_files(language):
        with path.open("rb") as f:
            catalog = read_po(f)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            for msgid in ids:
                if msgid in strings:
                    continue
                runs = [" ".join(TAG.sub(" ", run).split()) for run in PLACEHOLDER.split(msgid)]
                runs = [run for run in runs if re.search(r"[A-Za-z]{2}", run)]
                if runs:
                    sources[msgid] = runs
    return sources


def untranslated_on(texts: list[str], sources: dict[str, list[str]]) -> set[str]:
    """The msgids whose English shows: a whole text node equal to a one-run msgid, or any run of three words or
    more found inside the page's text (short runs like "Balance" only count as whole nodes: a client's own data,
    say a name, may contain a short English word)."""
    whole = set(texts)
    joined = " \n ".join(texts)
    found = set()
    for msgid, runs in sources.items():
        if len(runs) == 1 and runs[0] in whole:
            found.add(msgid)
            continue
        for run in runs:
            if len(re.findall(r"[A-Za-z]+", run)) >= 3 and run in joined:
                found.add(msgid)
                break
    return found
