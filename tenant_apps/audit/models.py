"""The brokerage's audit trail: one append-only, hash-chained row per state change that matters.

Rows are only ever inserted, by `services.audit_record`. The database refuses UPDATE, DELETE and
TRUNCATE on the table (a trigger, migration 0002), and each row's hash covers its predecessor's, so
an edit made around the trigger still shows up in `verify_audit_chain`.
"""
from django.contrib.postgres.fields import ArrayField
from django.db import models


class ActorType(models.TextChoices):
    USER = "user", "User"
    SYSTEM = "system", "System"
    WORKER = "worker", "Worker"
    WEBHOOK = "webhook", "Webhook"


class AppendOnlyError(RuntimeError):
    """An audit entry was about to be changed or deleted through the ORM (the database would refuse too)."""


class AuditEntry(models.Model):
    # Position in this brokerage's chain, 1, 2, 3, ... with no gaps: the primary key, since the row's
    # identity is its place in the chain.
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor_type = models.CharField(max_length=8, choices=ActorType.choices)
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="The acting user's id in this brokerage.")
    actor_label = models.CharField(max_length=254, help_text="E-mail of the user, or 'system:<name>'.")
    actor_roles = ArrayField(models.CharField(max_length=40), default=list, blank=True,
                             help_text="Role codes the actor held at the time.")
    # Text, not inet: the hash is computed before the insert and must match what is read back, and
    # PostgreSQL rewrites some IPv6 spellings.
    ip = models.CharField(max_length=45, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    object_type = models.CharField(max_length=64, help_text='app.model, e.g. "identity.user".')
    object_id = models.CharField(max_length=64, blank=True)
    # The user this entry concerns (the client whose deposit or KYC case it is; the user itself when the
    # object is a user), so one person's full history is one indexed query.
    subject_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64, help_text='noun.verb, e.g. "theme.updated".')
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [old, new]}")
    reason = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["object_type", "object_id", "-seq"], name="audit_object_timeline"),
            models.Index(fields=["actor_id", "-seq"], name="audit_by_actor"),
            models.Index(fields=["subject_id", "-seq"], name="audit_by_subject"),
            models.Index(fields=["action", "-seq"], name="audit_by_action"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_seq_positive"),
            # A regex rather than IN (...): pg_dump re-spells an IN list over varchar, and the blueprint path
            # must deparse to exactly what migrations built.
            models.CheckConstraint(condition=models.Q(actor_type__regex=rf"^({'|'.join(ActorType.values)})$"),
                                   name="audit_actor_type_valid"),
            models.CheckConstraint(condition=models.Q(hash__regex=r"^[0-9a-f]{64}$")
                                   & models.Q(prev_hash__regex=r"^[0-9a-f]{64}$"), name="audit_hashes_are_sha256"),
        ]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id} by {self.actor_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit entries are append-only; record a new entry instead.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit entries are append-only and cannot be deleted.")
