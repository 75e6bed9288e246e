"""Settings of the BrokerOS Django project (public + tenant URLconfs, one database, schema per tenant).

Everything a deployment changes comes from the environment; with nothing set, the defaults
point at PostgreSQL 127.0.0.1:5432 (user postgres) and Redis 127.0.0.1:6379 so that
`python manage.py ...` works directly on a development machine.
"""
import os
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


TESTING = "pytest" in sys.modules or os.environ.get("BROKEROS_TESTING") == "1"
# Parallel test workers (pytest-xdist) each get their own database, Redis namespace and cache prefix.
TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")

# Tenants answer on <slug>.<PLATFORM_DOMAIN> (and their custom domains); the platform
# root serves the operator console. In development `localhost` needs no DNS.
PLATFORM_DOMAIN = os.environ.get("PLATFORM_DOMAIN", "localhost").lower()
PLATFORM_PORT = os.environ.get("PLATFORM_PORT", "8000")
PLATFORM_SCHEME = os.environ.get("PLATFORM_SCHEME", "http" if DEBUG else "https")
# Custom domains are checked against the Domain table by the tenant middleware, so the
# host header check itself can accept any name: an unknown host still gets a 404.
ALLOWED_HOSTS = ["*"]


def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": unquote(parsed.path.lstrip("/")) or "brokeros",
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": str(parsed.port or 5432),
        "CONN_MAX_AGE": int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        "TEST": {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_brokeros")},  # xdist appends _gwN
    }


DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/brokeros")
DATABASES = {"default": _database_from_url(DATABASE_URL)}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

# --- tenancy -------------------------------------------------------------------------
# SHARED apps live in the public schema, TENANT apps in every brokerage's schema. Apps in
# both lists (users, sessions, auth) exist once for platform operators and once per tenant.
SHARED_APPS = [
    "django_tenants",
    "tenancy",
    "provisioning",
    "platform_core.console",
    "platform_core.sanctions",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "tenant_apps.identity",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_dramatiq",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "tenant_apps.identity",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    # Social sign-in per brokerage (off until configured in its back office): identity/social.py.
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "allauth.socialaccount.providers.apple",
    "themes",
    "tenant_apps.brokerage",
    "tenant_apps.backoffice",
    "tenant_apps.portal",
    "tenant_apps.crm",
    "tenant_apps.compliance",
    "tenant_apps.kyc_checks",
    "tenant_apps.audit",
    "tenant_apps.ledger",
    "tenant_apps.payments",
    "tenant_apps.trading",
    "tenant_apps.notifications",
    "tenant_apps.partners",
    "tenant_apps.commissions",
    "tenant_apps.queues",  # back-office work queues (issue 8)
    "tenant_apps.automation",  # segments and automation rules (issue 8, item 4)
    "tenant_apps.support",  # support tickets, e-mail in and the knowledge base (issue 8, item 5)
    "tenant_apps.reports",  # standard reports, report builder, export jobs (issue 8, item 7)
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenancy.Brokerage"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
PUBLIC_SCHEMA_NAME = "public"
# Provisioning builds schemas itself (pool claim / blueprint replay / migrations), so
# django-tenants' own create-on-save and stock cloning are off.
TENANT_CREATION_FAKES_MIGRATIONS = False
TENANT_TEMPLATE_SCHEMA = "brokeros_template"
PROVISIONING_SPARE_POOL_SIZE = int(os.environ.get("PROVISIONING_SPARE_POOL_SIZE", "0" if TESTING else "3"))
# Issue `SET search_path` once per schema switch instead of once per cursor. Safe on django-tenants
# 4.0.1: it forgets the path on rollback and savepoint rollback (which revert a SET).
TENANT_LIMIT_SET_CALLS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = int(os.environ.get("TENANT_MULTIPROCESSING_MAX_PROCESSES", "2"))

MIDDLEWARE = [
    # request_id / tenant / user_id on every log line, X-Request-ID, request metrics (platform_core/observability);
    # first, so it also covers what BrokerageMiddleware answers itself (probes, unknown hosts, lean webhooks).
    "platform_core.observability.middleware.RequestContextMiddleware",
    "tenancy.middleware.BrokerageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Audit entries written anywhere in a request carry its IP and user agent.
    "tenant_apps.audit.middleware.AuditOriginMiddleware",
    "tenant_apps.crm.attribution.AttributionMiddleware",  # first-touch ref/UTM cookie (crm)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenant_apps.identity.middleware.SessionActivityMiddleware",
    "tenant_apps.identity.middleware.MfaEnrolmentMiddleware",
    "tenancy.middleware.TenantActivityMiddleware",
]

if not (DEBUG or TESTING):
    # Serves collected static files in production (gunicorn has no static handler); dev uses runserver's.
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "platform_core.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "platform_core.urls_public"
WSGI_APPLICATION = "platform_core.wsgi.application"
ASGI_APPLICATION = "platform_core.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "themes" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "themes.context_processors.theme",
            ],
        },
    },
]

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "tenancy.auth.BrokerageEmailBackend",  # allauth's backend, skipped in public (no EmailAddress table there)
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests create many users and prove nothing about hashing cost.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

# allauth (tenant portals). contrib.sites is left out on purpose: allauth then uses the
# request host, so each brokerage's emails carry its own domain (see STACK-NOTES).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "tenant_apps.identity.auth_adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "tenant_apps.identity.social.SocialAccountAdapter"
SOCIALACCOUNT_STORE_TOKENS = False  # we only need the identity, never the provider's API
# Trader's Room registration: country, language, phone (E.164), terms + risk disclosure, CRM record + routing.
ACCOUNT_FORMS = {"signup": "tenant_apps.portal.forms.ClientSignupForm"}
# 20 failed sign-ins from one IP, or for one e-mail (known or not), within 15 minutes lock that IP / e-mail
# until the oldest of them is 15 minutes old. The cache keys carry the brokerage's schema.
ACCOUNT_RATE_LIMITS = {"login_failed": "20/15m/ip,20/15m/key"}
# Security notices (password or e-mail changed, MFA switched on or off) go to the account's address.
ACCOUNT_EMAIL_NOTIFICATIONS = True
# Two-factor: TOTP with recovery codes (no WebAuthn). Mandatory for some staff: identity.policies.mfa_required.
MFA_ADAPTER = "tenant_apps.identity.auth_adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_TOLERANCE = 1  # accept the neighbouring 30 s code too (phone clocks drift); a used code is refused
# Session list (device, IP, last seen). Activity is recorded by identity's throttled middleware, not allauth's.
USERSESSIONS_TRACK_ACTIVITY = True
# Development prints e-mails to the console; tests get Django's locmem backend from the test runner.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
                               else "django.core.mail.backends.smtp.EmailBackend")

# --- sessions, cookies, security -------------------------------------------------------
# Cookies are host-only (no parent domain), so a session at one brokerage is never sent to another.
SESSION_COOKIE_DOMAIN = None
CSRF_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_HSTS_SECONDS = 31536000
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CSRF_TRUSTED_ORIGINS = [
    f"http://*.{PLATFORM_DOMAIN}:{PLATFORM_PORT}",
    f"https://*.{PLATFORM_DOMAIN}",
    f"http://{PLATFORM_DOMAIN}:{PLATFORM_PORT}",
    f"https://{PLATFORM_DOMAIN}",
]

# --- cache and files: every key and path carries the tenant ----------------------------
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", f"brokeros-test-{TEST_WORKER}" if TESTING else "brokeros"),
    }
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / ".local" / ("test-media-" + TEST_WORKER if TESTING else "media")))
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG or TESTING
                    else "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".local" / "static"

# Keys for secrets stored encrypted at rest (PSP and trading-server credentials), newest first.
FIELD_ENCRYPTION_KEYS = [k.strip() for k in os.environ.get("FIELD_ENCRYPTION_KEYS", "").split(",") if k.strip()]
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- i18n ------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español"), ("ar", "العربية")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Personal API tokens of a brokerage's staff: `Authorization: Bearer brk_…`, on its own domain only.
        "tenant_apps.identity.api_auth.BrokerageTokenAuthentication",
        "platform_core.api.PlatformTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "platform_core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BrokerOS API",
    "DESCRIPTION": "Platform and brokerage API. Tenant endpoints answer on the brokerage's own domain.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- workers ---------------------------------------------------------------------------
DRAMATIQ_BROKER = {
    # dramatiq's RedisBroker with per-brokerage admission to the shared queues (tenancy/fairness.py).
    "BROKER": "tenancy.fairness.FairRedisBroker",
    "OPTIONS": {
        "url": REDIS_URL,
        "namespace": os.environ.get("DRAMATIQ_NAMESPACE", f"brokeros-test-{TEST_WORKER}" if TESTING else "dramatiq"),
    },
    "MIDDLEWARE": [
        "dramatiq.middleware.AgeLimit",
        "dramatiq.middleware.TimeLimit",
        "dramatiq.middleware.Callbacks",
        "dramatiq.middleware.Retries",
        "platform_core.observability.workers.ObservabilityMiddleware",  # message_id/actor/tenant on log lines, metrics
        "tenancy.workers.TenantMiddleware",
        "tenancy.workers.HealthMiddleware",
        "tenancy.fairness.FairnessMiddleware",  # a brokerage's place in the queues handed on when a message leaves
        "django_dramatiq.middleware.DbConnectionsMiddleware",
    ],
}
DRAMATIQ_AUTODISCOVER_MODULES = ["tasks"]
# Fair workers: at most this many messages of one brokerage in the shared queues at once (waiting, prefetched or
# running); the rest wait in its own inbox and move up as its messages finish. 0 = plain FIFO. Keep it near the
# fleet's worker threads: a brokerage alone then still uses the whole fleet (tenancy/fairness.py, bench/fairness.py).
# Operator console alerts per brokerage (platform_core/console/selectors.row_alerts).
CONSOLE_ALERT_SYNC_LAG_S = int(os.environ.get("CONSOLE_ALERT_SYNC_LAG_S", "600"))
CONSOLE_ALERT_WEBHOOK_REJECTED_HOUR = int(os.environ.get("CONSOLE_ALERT_WEBHOOK_REJECTED_HOUR", "5"))
CONSOLE_ALERT_QUEUE_AGE_S = int(os.environ.get("CONSOLE_ALERT_QUEUE_AGE_S", "300"))
WORKER_TENANT_MAX_QUEUED = int(os.environ.get("WORKER_TENANT_MAX_QUEUED", "16"))

# Every line through structlog (platform_core/observability/logs.py): one JSON object per line, or a readable
# line with tenant/request_id for the dev console (LOG_FORMAT=plain, the default with DJANGO_DEBUG on).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"tenant": {"()": "tenancy.logging.TenantContextFilter"}},
    "formatters": {
        "json": {"()": "platform_core.observability.logs.json_formatter"},
        "plain": {"()": "platform_core.observability.logs.plain_formatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["tenant"],
                             "formatter": "plain" if LOG_FORMAT == "plain" else "json"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
