"""Reads of the work queues: which queues a person sees, their counts and SLA breaches, and one queue's rows
(filtered, scoped, with their SLA state and holder), in a fixed number of queries whatever the number of rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenancy.context import require_tenant
from tenant_apps.identity.permissions import has_perm
from tenant_apps.queues import registry
from tenant_apps.queues.models import QueueClaim, QueueSetting
from tenant_apps.queues.registry import QueueSpec

# An item is "breaching soon" once it has waited this share of its SLA.
SOON_AT = 0.75
MAX_ROWS = 200  # a queue page shows the oldest 200 items; filters narrow it
AGE_CHOICES = {"1h": 60, "4h": 4 * 60, "1d": 24 * 60, "3d": 3 * 24 * 60}
SLA_CHOICES = ("breached", "soon")
RISK_CHOICES = ("low", "medium", "high")
RISK_LABELS = {"low": gettext_lazy("Low"), "medium": gettext_lazy("Medium"), "high": gettext_lazy("High")}


def queues_visible_to(user) -> list[QueueSpec]:
    """The queues this staff member may open: each needs its own matrix permission."""
    return [s for s in registry.all_queues() if has_perm(user, *s.permission)]


def sla_minutes_by_queue() -> dict[str, int]:
    """Each registered queue's SLA in this brokerage: its QueueSetting row, else the queue's default (one query)."""
    require_tenant()
    own = dict(QueueSetting.objects.values_list("queue", "sla_minutes"))
    return {s.code: own.get(s.code) or s.default_sla() for s in registry.all_queues()}


def sla_minutes_of(spec: QueueSpec) -> int:
    require_tenant()
    own = QueueSetting.objects.filter(queue=spec.code).values_list("sla_minutes", flat=True).first()
    return own or spec.default_sla()


def sla_state(age: timedelta, sla_minutes: int) -> str:
    """"breached" at or past the SLA, "soon" from SOON_AT of it, else "ok"."""
    minutes = age.total_seconds() / 60
    if minutes >= sla_minutes:
        return "breached"
    if minutes >= sla_minutes * SOON_AT:
        return "soon"
    return "ok"


def _duration(minutes: int) -> str:
    minutes = max(0, int(minutes))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": mins}
    return _("%(m)d min") % {"m": mins}


# --- filters -------------------------------------------------------------------------------------------------

@dataclass
class QueueFilters:
    entity: str = ""
    country: str = ""
    risk: str = ""
    age: str = ""
    assignee: str = ""
    sla: str = ""
    tab: str = ""
    errors: list[str] = field(default_factory=list)

    def as_params(self) -> dict[str, str]:
        values = {"entity": self.entity, "country": self.country, "risk": self.risk, "age": self.age,
                  "assignee": self.assignee, "sla": self.sla, "tab": self.tab}
        return {k: v for k, v in values.items() if v}

    def querystring(self) -> str:
        """The valid filters only, for the polled fragment's URL and the claim form's return address."""
        return urlencode(self.as_params())


def legal_entities():
    from tenant_apps.brokerage.models import LegalEntity

    return list(LegalEntity.objects.order_by("-is_default", "id"))


def queue_filters_parse(spec: QueueSpec, params, *, user, entities=None) -> QueueFilters:
    """Read the filters a queue offers from the query string. A value that is not valid is dropped and named in
    `errors` (the page says so and answers 400); a filter the queue does not offer is ignored."""
    f = QueueFilters()
    offered = spec.offered_filters

    def bad(name, value):
        f.errors.append(_("Ignored the filter %(name)s=%(value)s: not a valid value.")
                        % {"name": name, "value": str(value)[:40]})

    def raw(name):
        return (params.get(name) or "").strip()

    if "entity" in offered and raw("entity"):
        ids = {str(e.pk) for e in (entities if entities is not None else legal_entities())}
        f.entity = raw("entity") if raw("entity") in ids else (bad("entity", raw("entity")) or "")
    if "country" in offered and raw("country"):
        value = raw("country").upper()
        f.country = value if len(value) == 2 and value.isascii() and value.isalpha() else (bad("country", raw("country")) or "")
    if "risk" in offered and raw("risk"):
        f.risk = raw("risk") if raw("risk") in RISK_CHOICES else (bad("risk", raw("risk")) or "")
    if "age" in offered and raw("age"):
        f.age = raw("age") if raw("age") in AGE_CHOICES else (bad("age", raw("age")) or "")
    if "sla" in offered and raw("sla"):
        f.sla = raw("sla") if raw("sla") in SLA_CHOICES else (bad("sla", raw("sla")) or "")
    if "assignee" in offered and raw("assignee"):
        value = raw("assignee")
        if value in ("mine", "unassigned"):
            f.assignee = value
        elif value.isascii() and value.isdigit() and len(value) <= 18 and _is_staff(int(value)):
            f.assignee = value
        else:
            bad("assignee", value)
    if spec.tab_field and raw("tab"):
        f.tab = raw("tab") if raw("tab") in dict(spec.tabs) else (bad("tab", raw("tab")) or "")
    return f


def _is_staff(user_id: int) -> bool:
    from tenant_apps.identity.models import User, UserKind

    return User.objects.filter(pk=user_id, kind=UserKind.STAFF).exists()


# --- items -----------------------------------------------------------------------------------------------------

def _claims(spec: QueueSpec):
    return QueueClaim.objects.filter(queue=spec.code, object_id=OuterRef("pk"))


def held_by(spec: QueueSpec, user_or_id) -> Q:
    """Items this person holds. For an item with its own holder field (spec.holder_field) that field is the truth —
    a claim taken on the item's page counts, and the item's own workflow may release it (a withdrawal moving to the
    next review stage); otherwise the queue claim."""
    uid = getattr(user_or_id, "pk", user_or_id)
    if spec.holder_field:
        return Q(**{f"{spec.holder_field}_id": uid})
    return Q(Exists(_claims(spec).filter(claimed_by_id=uid)))


def unheld(spec: QueueSpec) -> Q:
    if spec.holder_field:
        return Q(**{f"{spec.holder_field}__isnull": True})
    return ~Q(Exists(_claims(spec)))


def queue_base(spec: QueueSpec, user):
    """The queue's items this person may see: the spec's queryset, scoped like the client list (Sales: own and
    team's clients only), annotated with when each item started waiting (`queue_since`)."""
    require_tenant()
    qs = spec.queryset()
    qs = qs.annotate(queue_since=F(spec.since) if isinstance(spec.since, str) else spec.since)
    if spec.client_path and not has_perm(user, "clients", "view_all"):
        from tenant_apps.crm.selectors import clients_visible_to

        qs = qs.filter(Q(**{f"{spec.client_path}__in": clients_visible_to(user).values("pk")})
                       | Q(**{f"{spec.client_path}__isnull": True}))
    return qs


def queue_items(spec: QueueSpec, user, filters: QueueFilters, *, now: datetime | None = None, sla: int | None = None,
                entities=None, apply_tab: bool = True):
    now = now or timezone.now()
    sla = sla if sla is not None else sla_minutes_of(spec)
    qs = queue_base(spec, user)
    if filters.entity:
        entities = entities if entities is not None else legal_entities()
        # One legal entity serves every client today (compliance.selectors.client_legal_entity): the default one.
        if not entities or str(entities[0].pk) != filters.entity:
            qs = qs.none()
    if filters.country:
        qs = qs.filter(**{f"{spec.client_path}__client_record__country__iexact": filters.country})
    if filters.risk:
        qs = qs.filter(**{spec.risk_path: filters.risk})
    if filters.age:
        qs = qs.filter(queue_since__lte=now - timedelta(minutes=AGE_CHOICES[filters.age]))
    if filters.sla == "breached":
        qs = qs.filter(queue_since__lte=now - timedelta(minutes=sla))
    elif filters.sla == "soon":
        qs = qs.filter(queue_since__lte=now - timedelta(minutes=sla * SOON_AT),
                       queue_since__gt=now - timedelta(minutes=sla))
    if filters.assignee == "mine":
        qs = qs.filter(held_by(spec, user))
    elif filters.assignee == "unassigned":
        qs = qs.filter(unheld(spec))
    elif filters.assignee:
        qs = qs.filter(held_by(spec, int(filters.assignee)))
    if apply_tab and filters.tab and spec.tab_field:
        qs = qs.filter(**{spec.tab_field: filters.tab})
    return qs


@dataclass
class QueueRow:
    item: object
    pk: int
    url: str
    client: object
    country: str
    risk: str
    risk_label: str
    since: datetime
    age_minutes: int
    age_label: str
    sla_minutes: int
    state: str  # ok | soon | breached
    remaining_label: str
    claim: QueueClaim | None
    cells: list


def visible_columns(spec: QueueSpec, user) -> list:
    money = has_perm(user, "clients.finance", "view")
    return [c for c in spec.columns if money or not c.money]


def _path_get(obj, path: str):
    for part in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, part)
    return obj


def queue_page(spec: QueueSpec, user, filters: QueueFilters, *, now: datetime | None = None, entities=None) -> dict:
    """One queue for one person: the oldest MAX_ROWS items with SLA state and holder, the total, the counts per tab.
    A fixed number of queries whatever the number of rows (one for the rows, one for their claims)."""
    now = now or timezone.now()
    sla = sla_minutes_of(spec)
    qs = queue_items(spec, user, filters, now=now, sla=sla, entities=entities, apply_tab=False)
    tab_counts = {}
    if spec.tab_field:
        agg = qs.aggregate(all=Count("pk"), **{f"tab_{v}": Count("pk", filter=Q(**{spec.tab_field: v}))
                                              for v, _label in spec.tabs})
        tab_counts = {v: agg[f"tab_{v}"] for v, _label in spec.tabs}
        total_all = agg["all"]
        if filters.tab:
            qs = qs.filter(**{spec.tab_field: filters.tab})
        total = tab_counts[filters.tab] if filters.tab else total_all
    else:
        total_all = total = None
    extra = {}
    if spec.client_path:
        extra["queue_country"] = F(f"{spec.client_path}__client_record__country")
    if spec.risk_path:
        extra["queue_risk"] = F(spec.risk_path)
    related = tuple(spec.select_related) + ((spec.holder_field,) if spec.holder_field else ())
    items = list(qs.select_related(*related).annotate(**extra).order_by("queue_since", "pk")[:MAX_ROWS]) if related \
        else list(qs.annotate(**extra).order_by("queue_since", "pk")[:MAX_ROWS])
    if total is None:  # always counted (not only when the page is full): the same queries at 1 row and at 200
        total = total_all = qs.count()
    claims = {c.object_id: c for c in QueueClaim.objects.filter(queue=spec.code, object_id__in=[i.pk for i in items])
              .select_related("claimed_by")}
    columns = visible_columns(spec, user)
    rows = []
    for item in items:
        age = now - item.queue_since if item.queue_since else timedelta(0)
        minutes = int(age.total_seconds() // 60)
        state = sla_state(age, sla)
        left = sla - minutes
        rows.append(QueueRow(
            item=item, pk=item.pk, url=spec.detail_url(item),
            client=_path_get(item, spec.client_path) if spec.client_path else None,
            country=getattr(item, "queue_country", "") or "", risk=getattr(item, "queue_risk", "") or "",
            risk_label=RISK_LABELS.get(getattr(item, "queue_risk", "") or "", ""),
            since=item.queue_since, age_minutes=minutes, age_label=_duration(minutes), sla_minutes=sla, state=state,
            remaining_label=(_("%(t)s over") % {"t": _duration(-left)}) if left <= 0
            else (_("%(t)s left") % {"t": _duration(left)}),
            claim=_holder_claim(spec, item, claims.get(item.pk)), cells=[c.value(item) for c in columns]))
    return {"rows": rows, "total": total, "total_all": total_all, "tab_counts": tab_counts, "sla_minutes": sla,
            "sla_label": _duration(sla),
            "columns": columns, "shown": len(rows), "truncated": total > len(rows)}


def _holder_claim(spec: QueueSpec, item, claim: QueueClaim | None) -> QueueClaim | None:
    """Who holds the item, as a claim: the queue claim; for an item with its own holder field, that field decides
    (a claim taken on its page shows as an unsaved stand-in; a queue claim its workflow has since released, none)."""
    if not spec.holder_field:
        return claim
    holder = getattr(item, spec.holder_field)
    if holder is None:
        return None
    if claim is not None and claim.claimed_by_id == holder.pk:
        return claim
    return QueueClaim(queue=spec.code, object_id=item.pk, claimed_by=holder)


def queue_counts(user, *, now: datetime | None = None) -> list[dict]:
    """Per visible queue: items waiting, breaching soon, SLA breached, and the person's own. One query a queue."""
    now = now or timezone.now()
    slas = sla_minutes_by_queue()
    out = []
    for spec in queues_visible_to(user):
        sla = slas[spec.code]
        agg = queue_base(spec, user).aggregate(
            total=Count("pk"),
            breached=Count("pk", filter=Q(queue_since__lte=now - timedelta(minutes=sla))),
            soon=Count("pk", filter=Q(queue_since__lte=now - timedelta(minutes=sla * SOON_AT),
                                      queue_since__gt=now - timedelta(minutes=sla))),
            mine=Count("pk", filter=held_by(spec, user)),
            unassigned=Count("pk", filter=unheld(spec)),
        )
        out.append({"spec": spec, "sla_minutes": sla, "sla_label": _duration(sla), **agg})
    return out


def attention_total(user, *, now: datetime | None = None) -> dict:
    """The nav badge: items waiting in every queue this person sees, and how many are past their SLA."""
    counts = queue_counts(user, now=now)
    return {"total": sum(c["total"] for c in counts), "breached": sum(c["breached"] for c in counts),
            "queues": len(counts)}


def queue_staff(spec: QueueSpec) -> list:
    """Active staff who may work this queue (the assign list): two queries (users, their roles)."""
    from tenant_apps.identity.models import User, UserKind

    require_tenant()
    people = User.objects.filter(kind=UserKind.STAFF, is_active=True).prefetch_related("roles").order_by("email")
    return [u for u in people if has_perm(u, *spec.permission)]
