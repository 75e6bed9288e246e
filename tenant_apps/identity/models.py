"""Users and roles. In a brokerage's schema: its clients, staff and IBs. In public: platform operators.

The same table exists in both, so an e-mail known at broker A is unknown at broker B.
"""
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserKind(models.TextChoices):
    CLIENT = "client", "Client"
    STAFF = "staff", "Staff"
    IB = "ib", "Introducing broker"
    OPERATOR = "operator", "Platform operator"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        extra.setdefault("kind", UserKind.OPERATOR)
        return self._create(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=UserKind.choices, default=UserKind.CLIENT)
    language = models.CharField(max_length=8, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Django admin access (operators only).")
    date_joined = models.DateTimeField(default=timezone.now)
    roles = models.ManyToManyField("identity.Role", blank=True, related_name="users")
    # Staff: the team they work in (Sales sees its own and its team's clients). Clients: unused.
    team = models.ForeignKey("identity.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    # Set when the user signs in from a device not seen before (not on the very first device): a risk
    # signal read through identity.selectors.recent_device_change.
    last_device_change_at = models.DateTimeField(null=True, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="identity_user_email_ci_unique")]

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name or self.email).split(" ")[0]

    @property
    def is_platform_operator(self) -> bool:
        return self.kind == UserKind.OPERATOR and self.is_active

    def has_role(self, code: str) -> bool:
        return self.roles.filter(code=code).exists()


class Team(models.Model):
    """A group of staff (e.g. 'Sales LATAM'); leads and clients are routed to teams and owners."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.Model):
    """A named bundle of permissions inside one brokerage. System roles are created at provisioning."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    is_system = models.BooleanField(default=False, help_text="Created by the platform; cannot be deleted.")
    is_staff_role = models.BooleanField(default=True)
    # Custom roles hold a subset of the matrix's permission keys ("capability:action"); system roles get
    # theirs from the matrix in code (identity.permissions), so this stays empty for them.
    permissions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Device(models.Model):
    """A browser a user has signed in from, recognised by the long-lived signed cookie set at sign-in."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    device_id = models.CharField(max_length=64)
    user_agent = models.CharField(max_length=120, blank=True, help_text="A summary such as 'Firefox on Windows'.")
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    last_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [models.UniqueConstraint(fields=["user", "device_id"], name="identity_device_user_device_unique")]

    def __str__(self):
        return f"{self.user} · {self.user_agent or self.device_id[:8]}"


class StaffInvite(models.Model):
    """An invitation to join the back office: the e-mailed link carries a secret whose SHA-256 is all we keep.

    Open = neither accepted nor revoked (it may still have expired). At most one open invite per address."""

    email = models.EmailField(max_length=254)
    roles = models.ManyToManyField(Role, blank=True, related_name="invites")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 (hex) of the link's secret.")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now, help_text="When the latest link was e-mailed.")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                                    name="identity_staffinvite_one_open_per_email"),
            models.CheckConstraint(condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                                   name="identity_staffinvite_not_accepted_and_revoked"),
        ]

    def __str__(self):
        return f"Invite for {self.email}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

    def is_usable(self, now=None) -> bool:
        return self.is_open and self.expires_at > (now or timezone.now())


class ApiToken(models.Model):
    """A personal API token: `brk_<prefix>_<secret>`. The prefix is public (shown in lists, used to find the
    row); only the SHA-256 of the secret is stored. Its scopes cap what it may do: effective permissions are
    the user's (at the time of use) ∩ the scopes."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, help_text="SHA-256 (hex) of the secret part.")
    scopes = models.JSONField(default=list, help_text="Permission keys ('capability:action') the token may use.")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} (brk_{self.prefix}_…)"

    @property
    def display(self) -> str:
        return f"brk_{self.prefix}_…"

    def is_live(self, now=None) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > (now or timezone.now()))
