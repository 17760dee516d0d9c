"""Settings for the SIBS merchant backoffice.

One file, read from the environment (see ``.env.example``). With no environment at all the
project runs as the embedded default: SQLite under ``var/``, a serverless Celery broker under
``var/``, e-mails written to ``var/mail/`` and the built-in SIBS sandbox as the gateway.
``BACKOFFICE_ENV=production`` switches on every HTTPS and cookie protection and refuses to start
without an explicit ``SECRET_KEY`` and ``SECRETS_ENCRYPTION_KEY``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from backoffice.env import email_settings, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

ENVIRONMENT = env_str("BACKOFFICE_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("BACKOFFICE_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG cannot be on with BACKOFFICE_ENV=production")


def _local_secret(name: str, make) -> str:
    """A per-installation secret kept under var/ for the embedded default.

    Generated once so sessions and encrypted columns survive restarts; production must pass
    the value in the environment instead (a container's var/ is not a safe place for it).
    """
    if PRODUCTION:
        raise ImproperlyConfigured(f"{name} must be set in the environment in production")
    path = VAR_DIR / f"{name.lower()}.txt"
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


SECRET_KEY = env_str("SECRET_KEY", "") or _local_secret("SECRET_KEY", lambda: secrets.token_urlsafe(64))
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation without downtime).
SECRETS_ENCRYPTION_KEYS = env_list("SECRETS_ENCRYPTION_KEY", []) or [
    _local_secret("SECRETS_ENCRYPTION_KEY", _fernet_key)
]

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Reverse proxies that append to X-Forwarded-For: the client address (audit log, and allauth's
# sign-in rate limits through the account adapter) is the entry that many from the right.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
# Public base URL, used in e-mails (activation links) and shown as the inbound webhook URL.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "backoffice",
    "payments",
    "webhooks",
    "qrexpress",
    "reconciliation",
    "sandbox",
    "extracts",
]

MIDDLEWARE = [
    # Permissions-Policy, no-store for signed-in answers, a Server header naming no software.
    "backoffice.security_headers.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's SessionMiddleware, writing an unchanged session at most once a minute.
    "backoffice.middleware.IdleSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # A link from an e-mail carries its language (?lang=pt): the page opens in it, and stays.
    "backoffice.middleware.LinkLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # NUL and lone surrogates in query strings and form fields: a 400 before any view.
    "backoffice.untrusted.UntrustedInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "backoffice.middleware.RequireMfaMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"
ASGI_APPLICATION = "backoffice.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "backoffice.context_processors.shell",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'backoffice.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process read while the worker writes; IMMEDIATE transactions take
        # the write lock up front so two writers queue on busy_timeout instead of failing
        # with "database is locked" half-way through.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker ------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

CELERY_BROKER_URL = REDIS_URL or f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}"
# Redis redelivers an unacknowledged task after this long; every task here finishes far sooner,
# and long waits live in the database, never in countdowns. (The SQLAlchemy transport passes its
# options to create_engine, so this is Redis-only.)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600} if REDIS_URL else {}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Inbound SIBS notifications and the status sweeper (webhooks/, payments/) -------------------
# Bodies above this are refused with 413 before being read (real notifications are ~1-2 KB).
INBOUND_MAX_BODY_BYTES = env_int("INBOUND_MAX_BODY_BYTES", 256 * 1024, minimum=1024)
# How long each web process keeps a merchant's decrypted webhook secrets before reading them again.
INBOUND_SECRET_CACHE_SECONDS = env_int("INBOUND_SECRET_CACHE_SECONDS", 30, minimum=0)
# Refused notifications logged per merchant and minute (the rest are only counted), and kept per merchant.
INBOUND_REJECTED_PER_MINUTE = env_int("INBOUND_REJECTED_PER_MINUTE", 30, minimum=1)
INBOUND_REJECTED_KEEP = env_int("INBOUND_REJECTED_KEEP", 1000, minimum=10)
# Processing attempts of a stored notification before it is marked failed for a person to look at.
INBOUND_MAX_ATTEMPTS = env_int("INBOUND_MAX_ATTEMPTS", 5, minimum=1)
# Ask SIBS (GET /payments/{id}/status) about a transaction still pending this long after it was
# first seen; then again after twice as long each time, up to STATUS_SWEEP_GIVE_UP_HOURS.
STATUS_SWEEP_AGE_MINUTES = env_int("STATUS_SWEEP_AGE_MINUTES", 10, minimum=1)
STATUS_SWEEP_GIVE_UP_HOURS = env_int("STATUS_SWEEP_GIVE_UP_HOURS", 72, minimum=1)
STATUS_SWEEP_BATCH = env_int("STATUS_SWEEP_BATCH", 50, minimum=1)

# --- Payment requests (payments/requests/) ------------------------------------------------------
# The largest amount one MB WAY or MULTIBANCO request may ask a customer for, in euros.
PAYMENT_REQUEST_MAX_AMOUNT = env_str("PAYMENT_REQUEST_MAX_AMOUNT", "10000.00")
# How often an open page asks SIBS about an unpaid MULTIBANCO reference (notifications usually
# come first; the inquiry is the fallback SIBS recommends).
PAYMENT_REQUEST_REFERENCE_CHECK_SECONDS = env_int("PAYMENT_REQUEST_REFERENCE_CHECK_SECONDS", 60, minimum=5)

# --- Outbound webhooks (webhooks/outbound/) -------------------------------------------------------
# Let webhook URLs point at private, loopback and link-local addresses (the sandbox and local
# development relay to 127.0.0.1). Never on in production unless explicitly set.
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", not PRODUCTION)
# A gateway credential's custom API root: private, loopback and link-local addresses (and ports
# other than 443) only where this is on; the development default, for a local simulator.
GATEWAY_ALLOW_PRIVATE_URLS = env_bool("GATEWAY_ALLOW_PRIVATE_URLS", not PRODUCTION)
# Allow plain http:// webhook URLs (port 80); https (port 443) is always allowed.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", not PRODUCTION)
# Seconds to connect to a merchant's endpoint, and to wait for its answer.
WEBHOOK_CONNECT_TIMEOUT = env_int("WEBHOOK_CONNECT_TIMEOUT", 5, minimum=1)
WEBHOOK_READ_TIMEOUT = env_int("WEBHOOK_READ_TIMEOUT", 15, minimum=1)
# Retry policy: "sibs" (SIBS's own tiers: 5 tries 5 minutes apart, then hourly, 2-hourly, 4-, 6-,
# 12-hourly and daily) or "exponential" (1, 2, 4... minutes up to a day); attempts and age caps.
WEBHOOK_RETRY_POLICY = env_str("WEBHOOK_RETRY_POLICY", "sibs")
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 44, minimum=1)
WEBHOOK_MAX_AGE_DAYS = env_int("WEBHOOK_MAX_AGE_DAYS", 61, minimum=1)
# Deliveries of one webhook claimed (queued or being sent) at a time across all workers; within
# a worker one webhook uses at most 3/4 of the threads, and a slow or unreachable one a single thread.
WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = env_int("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", 32, minimum=1)
# Threads one worker process sends with (connections are kept alive and reused).
WEBHOOK_SEND_THREADS = env_int("WEBHOOK_SEND_THREADS", 8, minimum=1)
# Hour of the day (Europe/Lisbon) the daily digest of failed deliveries goes to each failure e-mail.
WEBHOOK_DIGEST_HOUR = env_int("WEBHOOK_DIGEST_HOUR", 8, minimum=0)
if WEBHOOK_DIGEST_HOUR > 23:
    raise ImproperlyConfigured(f"WEBHOOK_DIGEST_HOUR must be 0-23, got {WEBHOOK_DIGEST_HOUR}")
if WEBHOOK_RETRY_POLICY not in {"sibs", "exponential"}:
    raise ImproperlyConfigured(f"WEBHOOK_RETRY_POLICY must be sibs or exponential, got {WEBHOOK_RETRY_POLICY!r}")

# --- SIBS sandbox (sandbox/) ----------------------------------------------------------------
# The built-in SIBS Gateway v2 simulator under /sandbox/: on in development, off (every sandbox
# URL a 404, its beat tasks idle) in production unless explicitly switched on.
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", not PRODUCTION)
# Demo traffic beat generates per minute through the sandbox (0 = none); never on in production
# unless set explicitly.
SANDBOX_TRAFFIC_PER_MINUTE = env_int("SANDBOX_TRAFFIC_PER_MINUTE", 0 if PRODUCTION else 6, minimum=0)

# --- Auth ---------------------------------------------------------------------------------
AUTH_USER_MODEL = "backoffice.User"
AUTHENTICATION_BACKENDS = [
    "backoffice.auth_backends.LockoutAwareBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

# PCI DSS v4 8.3.4: lock the account after at most 10 failed attempts, for at least 30 minutes.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 10, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 30, minimum=1)
# PCI DSS v4 8.2.8: re-authenticate after 15 minutes of inactivity.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 15 * 60, minimum=60)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Activation codes (the SIBS Backoffice onboarding): valid 4 days, 5 wrong tries lock a code.
ACTIVATION_CODE_VALIDITY_HOURS = env_int("ACTIVATION_CODE_VALIDITY_HOURS", 96, minimum=1)
ACTIVATION_CODE_MAX_ATTEMPTS = env_int("ACTIVATION_CODE_MAX_ATTEMPTS", 5, minimum=1)
# Activation tries per client address (any e-mail, any code) in a window.
ACTIVATION_ATTEMPTS_PER_IP = env_int("ACTIVATION_ATTEMPTS_PER_IP", 20, minimum=1)
ACTIVATION_IP_WINDOW_MINUTES = env_int("ACTIVATION_IP_WINDOW_MINUTES", 15, minimum=1)

# Roles that move money or change configuration must use a second factor.
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", ["owner", "administrator", "operator"])

ACCOUNT_ADAPTER = "backoffice.adapters.AccountAdapter"
MFA_ADAPTER = "backoffice.adapters.MFAAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[SIBS Backoffice] "
# Lockout is enforced in the database (backoffice.auth_backends), which holds across processes,
# for wrong passwords and wrong second-factor codes alike. allauth's cache-based limits stay on
# as a second line of defence, per client address *and* per account (the key: the e-mail, or the
# user for second-factor codes); every other allauth action keeps its per-user/key default.
# The per-account limit equals the lockout, so the database lock (with its message) comes first.
_PER_ACCOUNT = f"{LOGIN_FAILURE_LIMIT}/{LOGIN_LOCKOUT_MINUTES}m/key"
ACCOUNT_RATE_LIMITS = {"login_failed": f"30/5m/ip,{_PER_ACCOUNT}", "reset_password": "20/m/ip,5/m/key"}
MFA_FORMS = {"authenticate": "backoffice.mfa.LockoutAwareAuthenticateForm"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "SIBS Backoffice")
MFA_RECOVERY_CODE_COUNT = 10

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
# Each language is named in itself, so a person can find theirs whatever the page language.
LANGUAGES = [("en", "English"), ("pt", "Português")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Storage is UTC; this is the zone times are shown in.
TIME_ZONE = env_str("TIME_ZONE", "Europe/Lisbon")

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
if not PRODUCTION:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing root; dev serves from finders
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.min.js from the plotly package (payments/dashboards).
    "payments.dashboards.staticfiles.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Extract files (CSV/XLSX). Any Django storage backend works (an object store in production):
    # EXTRACTS_STORAGE_BACKEND, with EXTRACTS_STORAGE_LOCATION for the file system default.
    "extracts": {
        "BACKEND": env_str("EXTRACTS_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": {"location": env_str("EXTRACTS_STORAGE_LOCATION", str(VAR_DIR / "extracts"))},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Extracts -------------------------------------------------------------------------------
# Days a finished extract's file is kept (the extract stays listed after, marked expired).
EXTRACT_RETENTION_DAYS = env_int("EXTRACT_RETENTION_DAYS", 7, minimum=1)
# A running extract with no progress for this long has lost its worker and is marked failed.
EXTRACT_STALE_MINUTES = env_int("EXTRACT_STALE_MINUTES", 60, minimum=5)
# "xlsxwriter" (constant memory, faster) or "openpyxl" (write-only mode).
EXTRACTS_XLSX_ENGINE = env_str("EXTRACTS_XLSX_ENGINE", "xlsxwriter")
# CSV extracts on PostgreSQL are written by COPY when every column has an SQL form.
EXTRACTS_USE_COPY = env_bool("EXTRACTS_USE_COPY", True)
# Where files are written before they are complete and handed to the storage.
EXTRACTS_TMP_DIR = env_str("EXTRACTS_TMP_DIR", "") or None

# --- E-mail ---------------------------------------------------------------------------------
vars().update(email_settings(env_str("EMAIL_URL", f"file://{VAR_DIR / 'mail'}"), base_dir=str(BASE_DIR)))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SIBS Backoffice <backoffice@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where requests for a new payment method go (platform staff move them on in the Django admin);
# empty: they are only listed in the admin.
PLATFORM_SUPPORT_EMAIL = env_str("PLATFORM_SUPPORT_EMAIL", "support@localhost")

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backoffice.api.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["backoffice.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "backoffice.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", not PRODUCTION)
SPECTACULAR_SETTINGS = {
    "TITLE": "SIBS Backoffice API",
    "DESCRIPTION": (
        "Merchant backoffice API for SIBS Gateway v2. Authenticate with an API key: "
        "`Authorization: Bearer <key>`. Every error has the same shape: "
        '`{"error": {"type", "code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # In production the schema and its page are for signed-in people and API keys only
    # (API_DOCS_PUBLIC=1 opens them); in development anyone on the machine may read them.
    "SERVE_PERMISSIONS": ["backoffice.api.auth.DocsAccess"],
    "SERVE_AUTHENTICATION": None,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "TransactionStateEnum": "payments.models.TransactionState",
        "QrFulfilmentStateEnum": "qrexpress.models.FulfilmentState",
        "PaymentMethodCodeEnum": "payments.methods.catalogue.Method",
        "PaymentRequestMethodEnum": "payments.requests.models.RequestMethod",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backoffice.api.schema.add_error_responses",
    ],
}

# --- Security -------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts only from our own static files (no inline script, no eval): an injected <script> or
# onclick= does not run. Inline styles stay allowed (htmx adds its indicator style).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
)
CSRF_COOKIE_HTTPONLY = False
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Health checks from the orchestrator arrive over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"forbidden_without_traceback": {"()": "backoffice.errors.ForbiddenWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["forbidden_without_traceback"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
