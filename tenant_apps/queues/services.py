"""Writes of the work queues: claim, assign, release (one item or in bulk) and each queue's SLA. Every change is
audited on the item itself (so its own history shows who held it); a race for one item has one winner (the
database's unique constraint on queue + item)."""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tenancy.context import require_tenant
from tenant_apps.identity.models import UserKind
from tenant_apps.identity.permissions import PermissionDeniedError, has_perm, permission_require
from tenant_apps.queues import registry, selectors
from tenant_apps.queues.errors import QueueError
from tenant_apps.queues.models import SLA_MAX_MINUTES, QueueClaim, QueueSetting

MAX_BULK = 200


def _spec(code: str):
    spec = registry.get(code)
    if spec is None:
        raise QueueError(_("No such queue."), code="unknown_queue")
    return spec


def _may_work(spec, user) -> None:
    if user.kind != UserKind.STAFF or not has_perm(user, *spec.permission):
        raise PermissionDeniedError(*spec.permission)


def _items(spec, user, object_ids) -> dict[int, int | None]:
    """{item id: client id} for the ids that are in the queue AND visible to `user` (one query)."""
    qs = selectors.queue_base(spec, user).filter(pk__in=object_ids)
    if spec.client_path:
        return dict(qs.values_list("pk", f"{spec.client_path}"))
    return {pk: None for pk in qs.values_list("pk", flat=True)}


def _audit(action: str, spec, object_id: int, client_id, *, actor, changes: dict, reason: str = "") -> None:
    from tenant_apps.audit.services import audit_record

    model = spec.queryset().model
    audit_record(action=action, object_type=model._meta.label_lower, object_id=object_id, actor=actor,
                 subject=client_id, reason=reason or f"queue {spec.code}", changes={"queue": spec.code, **changes})


def _one(spec, user, object_id: int) -> int | None:
    found = _items(spec, user, [object_id])
    if object_id not in found:
        raise QueueError(_("This item is not in the queue (decided already, or not yours to see)."), code="not_in_queue")
    return found[object_id]


def _locked_holder(spec, object_id: int):
    """For an item with its own holder field: lock the item's row and return (row, holder)."""
    from tenant_apps.identity.models import User

    row = spec.queryset().model.objects.select_for_update().get(pk=object_id)
    holder_id = getattr(row, f"{spec.holder_field}_id")
    return row, (User.objects.filter(pk=holder_id).first() if holder_id else None)


def _holder_write(spec, row, user, *, actor) -> QueueClaim | None:
    """Set the item's own holder field and keep the queue claim beside it in step (or drop it)."""
    type(row).objects.filter(pk=row.pk).update(**{f"{spec.holder_field}_id": user.pk if user else None})
    if user is None:
        QueueClaim.objects.filter(queue=spec.code, object_id=row.pk).delete()
        return None
    claim, _created = QueueClaim.objects.update_or_create(
        queue=spec.code, object_id=row.pk,
        defaults={"claimed_by": user, "assigned_by": actor if actor.pk != user.pk else None,
                  "claimed_at": timezone.now()})
    return claim


def _claim(spec, object_id: int, client_id, *, actor) -> QueueClaim:
    if spec.holder_field:  # the item's own field decides, under the item's row lock (one winner)
        with transaction.atomic():
            row, holder = _locked_holder(spec, object_id)
            if holder is not None and holder.pk != actor.pk:
                raise QueueError(_("Already claimed by %(who)s.") % {"who": holder.email}, code="already_claimed")
            claim = _holder_write(spec, row, actor, actor=actor)
            if holder is None:
                _audit("queue.claimed", spec, object_id, client_id, actor=actor,
                       changes={"claimed_by": [None, actor.email]})
            return claim
    try:
        with transaction.atomic():
            claim = QueueClaim.objects.create(queue=spec.code, object_id=object_id, claimed_by=actor)
            _audit("queue.claimed", spec, object_id, client_id, actor=actor,
                   changes={"claimed_by": [None, actor.email]})
            return claim
    except IntegrityError:
        holder = QueueClaim.objects.filter(queue=spec.code, object_id=object_id).select_related("claimed_by").first()
        if holder is not None and holder.claimed_by_id == actor.pk:
            return holder  # claiming twice is harmless
        raise QueueError(_("Already claimed by %(who)s.") % {"who": holder.claimed_by.email if holder else "?"},
                         code="already_claimed") from None


def queue_item_claim(*, code: str, object_id: int, actor) -> QueueClaim:
    """Take an item: it is yours until you release it or a manager reassigns it. Refused if someone holds it."""
    require_tenant()
    spec = _spec(code)
    _may_work(spec, actor)
    client_id = _one(spec, actor, object_id)
    return _claim(spec, object_id, client_id, actor=actor)


def _assignable(spec, assignee):
    if assignee is None or assignee.kind != UserKind.STAFF or not assignee.is_active \
            or not has_perm(assignee, *spec.permission):
        raise QueueError(_("Choose a staff member who works this queue."), code="bad_assignee")


def _assign(spec, object_id: int, client_id, *, assignee, actor) -> QueueClaim:
    if spec.holder_field:
        with transaction.atomic():
            row, holder = _locked_holder(spec, object_id)
            claim = _holder_write(spec, row, assignee, actor=actor)
            if holder is None or holder.pk != assignee.pk:
                _audit("queue.assigned", spec, object_id, client_id, actor=actor,
                       changes={"claimed_by": [holder.email if holder else None, assignee.email]})
            return claim
    with transaction.atomic():
        claim = QueueClaim.objects.select_for_update().filter(queue=spec.code, object_id=object_id) \
            .select_related("claimed_by").first()
        before = claim.claimed_by.email if claim else None
        if claim is None:
            try:
                with transaction.atomic():
                    claim = QueueClaim.objects.create(queue=spec.code, object_id=object_id, claimed_by=assignee,
                                                      assigned_by=actor)
            except IntegrityError:  # claimed a moment ago: take it over under the lock
                claim = QueueClaim.objects.select_for_update().get(queue=spec.code, object_id=object_id)
                before = claim.claimed_by.email
        if claim.claimed_by_id == assignee.pk and before == assignee.email:
            return claim
        claim.claimed_by, claim.assigned_by, claim.claimed_at = assignee, actor, timezone.now()
        claim.save(update_fields=["claimed_by", "assigned_by", "claimed_at"])
        _audit("queue.assigned", spec, object_id, client_id, actor=actor,
               changes={"claimed_by": [before, assignee.email]})
        return claim


def queue_item_assign(*, code: str, object_id: int, assignee, actor) -> QueueClaim:
    """Give an item to a staff member who works the queue (queues:assign; taking it yourself is a claim)."""
    require_tenant()
    spec = _spec(code)
    _may_work(spec, actor)
    if assignee is not None and assignee.pk == actor.pk:
        return queue_item_claim(code=code, object_id=object_id, actor=actor)
    permission_require(actor, "queues", "assign")
    _assignable(spec, assignee)
    client_id = _one(spec, actor, object_id)
    return _assign(spec, object_id, client_id, assignee=assignee, actor=actor)


def _release(spec, object_id: int, client_id, *, actor) -> bool:
    if spec.holder_field:
        with transaction.atomic():
            row, holder = _locked_holder(spec, object_id)
            if holder is None:
                QueueClaim.objects.filter(queue=spec.code, object_id=object_id).delete()  # released by its workflow
                return False
            if holder.pk != actor.pk and not has_perm(actor, "queues", "assign"):
                raise QueueError(_("Held by %(who)s: only they or a manager can release it.") % {"who": holder.email},
                                 code="not_yours")
            _holder_write(spec, row, None, actor=actor)
            _audit("queue.released", spec, object_id, client_id, actor=actor,
                   changes={"claimed_by": [holder.email, None]})
            return True
    with transaction.atomic():
        claim = QueueClaim.objects.select_for_update().filter(queue=spec.code, object_id=object_id) \
            .select_related("claimed_by").first()
        if claim is None:
            return False
        if claim.claimed_by_id != actor.pk and not has_perm(actor, "queues", "assign"):
            raise QueueError(_("Held by %(who)s: only they or a manager can release it.")
                             % {"who": claim.claimed_by.email}, code="not_yours")
        holder = claim.claimed_by.email
        claim.delete()
        _audit("queue.released", spec, object_id, client_id, actor=actor, changes={"claimed_by": [holder, None]})
        return True


def queue_item_release(*, code: str, object_id: int, actor) -> bool:
    """Give an item back to the queue: your own, or anyone's with queues:assign. False if nobody held it."""
    require_tenant()
    spec = _spec(code)
    _may_work(spec, actor)
    client_id = _one(spec, actor, object_id)
    return _release(spec, object_id, client_id, actor=actor)


def queue_bulk(*, code: str, action: str, object_ids, actor, assignee=None) -> dict:
    """Claim, assign or release several items at once (never a decision: registry.SAFE_BULK_ACTIONS). Each item
    succeeds or is refused on its own; returns {"done": [ids], "refused": {id: reason}}."""
    require_tenant()
    spec = _spec(code)
    _may_work(spec, actor)
    if action not in spec.bulk_actions:
        raise QueueError(_("This action cannot be done in bulk here."), code="bad_action")
    ids = sorted({int(i) for i in object_ids})
    if not ids:
        raise QueueError(_("Select at least one item."), code="nothing_selected")
    if len(ids) > MAX_BULK:
        raise QueueError(_("Select at most %(n)d items at once.") % {"n": MAX_BULK}, code="too_many")
    if action == "assign":
        if assignee is not None and assignee.pk == actor.pk:
            action = "claim"
        else:
            permission_require(actor, "queues", "assign")
            _assignable(spec, assignee)
    found = _items(spec, actor, ids)
    done, refused = [], {}
    for object_id in ids:
        if object_id not in found:
            refused[object_id] = _("not in the queue")
            continue
        try:
            if action == "claim":
                _claim(spec, object_id, found[object_id], actor=actor)
            elif action == "assign":
                _assign(spec, object_id, found[object_id], assignee=assignee, actor=actor)
            elif not _release(spec, object_id, found[object_id], actor=actor):
                refused[object_id] = _("nobody held it")
                continue
        except QueueError as exc:
            refused[object_id] = exc.message
            continue
        done.append(object_id)
    return {"done": done, "refused": refused}


def queue_sla_set(*, code: str, minutes, actor) -> QueueSetting:
    """A brokerage's own SLA for a queue (queues:configure), audited with the old and new value."""
    from tenant_apps.audit.services import audit_record

    require_tenant()
    permission_require(actor, "queues", "configure")
    spec = _spec(code)
    try:
        minutes = int(str(minutes).strip())
    except (TypeError, ValueError):
        minutes = 0
    if not 1 <= minutes <= SLA_MAX_MINUTES:
        raise QueueError(_("The SLA is a whole number of minutes from 1 to %(max)d.") % {"max": SLA_MAX_MINUTES},
                         code="bad_sla")
    with transaction.atomic():
        setting = QueueSetting.objects.select_for_update().filter(queue=code).first()
        before = setting.sla_minutes if setting else spec.default_sla()
        if setting is None:
            setting = QueueSetting(queue=code)
        setting.sla_minutes, setting.updated_by = minutes, actor
        setting.save()
        audit_record(action="queue.sla_changed", obj=setting, actor=actor, reason=f"queue {code}",
                     changes={"sla_minutes": [before, minutes]})
    return setting
