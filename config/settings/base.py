"""Settings shared by every environment. Values come from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from kombu import Queue

from config.beat_schedule import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A .env file is a convenience for local development; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base for links that leave the app (emails, embed snippets, invite links).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "workspaces",
    "workspaces.outbound",
    "contacts",
    "predictions",
    "commerce",
    "segments",
    "scoring",
    "messaging",
    "workflows",
    "analytics",
]

MIDDLEWARE = [
    "config.middleware.ApiServerErrorMiddleware",  # a 5xx on /api/ or /v1/ is JSON, always
    "django.middleware.security.SecurityMiddleware",
    "contacts.ingest.middleware.IngestionShortcutMiddleware",  # /v1/ skips the UI's chain
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "workspaces.context_processors.workspace_shell",
            ],
        },
    },
]

# --- Database: PostgreSQL through psycopg 3 with Django's built-in pool -----------------
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/tendril")
}
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"]["pool"] = {
    "min_size": env.int("DB_POOL_MIN", default=1),
    "max_size": env.int("DB_POOL_MAX", default=10),
    "timeout": 10,
}
DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
# With the pool, Django has it check a connection (an empty query) before handing it out, so
# one PostgreSQL dropped while it sat idle (a restart, a failover, pg_terminate_backend, an
# idle timeout) is replaced instead of failing the next request or task.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Django binds parameters client-side and never prepares; the few statements Tendril binds
# server-side (ingestion's one-statement path) are prepared per connection after this many
# runs. DB_PREPARE_THRESHOLD=off behind a pooler that cannot keep prepared statements
# (PgBouncer < 1.21 in transaction mode).
_prepare = env("DB_PREPARE_THRESHOLD", default="5")
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = (
    None if _prepare.lower() in ("", "off", "none") else int(_prepare)
)
# Tenancy's second wall: Tendril's backend (PostgreSQL + Row Level Security, workspaces/db).
# With TENANT_RLS on — the default everywhere: production, `make dev` and the test suite —
# connections SET ROLE to DB_APP_ROLE (no owner, no BYPASSRLS) and carry the scope's
# workspace id, so a query that forgot its workspace filter reads nothing. Off only as a
# switch for a database whose login role cannot SET ROLE to DB_APP_ROLE (docs/operations.md).
DATABASES["default"]["ENGINE"] = "workspaces.db"
TENANT_RLS = env.bool("TENANT_RLS", default=True)
DB_APP_ROLE = env("DB_APP_ROLE", default="tendril_app")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache and Celery broker ------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": "tendril",
    }
}

# --- Celery -------------------------------------------------------------------------------
# Recovery (docs/operations.md "Processes"): every task is acknowledged only when it ends
# (acks_late), so a worker killed with kill -9 leaves its messages — running, prefetched and
# ETA-held — unacknowledged in Redis. Redis has no consumer liveness, so kombu returns a
# message to its queue once it has been unacknowledged for the visibility timeout. Short
# (45 s), so a dead worker's work is picked up by another within a minute; and a live worker
# renews the lease of every message it holds every CELERY_BROKER_LEASE_RENEW seconds
# (config/celery_leases.py), so a long task or a long-prefetched one is not re-delivered
# while its worker is alive. Tasks are idempotent anyway (a late re-delivery is a no-op).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=45)
CELERY_BROKER_LEASE_RENEW = env.float(
    "CELERY_BROKER_LEASE_RENEW", default=CELERY_BROKER_VISIBILITY_TIMEOUT / 4
)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    # How often a worker looks for messages whose lease ran out, and scans on every look
    # (kombu's defaults, 10 s × every 10th look, would add up to 100 s to the recovery).
    "unacked_restore_interval": max(1, min(5, CELERY_BROKER_VISIBILITY_TIMEOUT // 4)),
    "unacked_restore_throttle": 1,
    # A worker killed while holding the restore mutex must not stop recovery for 5 minutes.
    "unacked_mutex_expire": max(5, CELERY_BROKER_VISIBILITY_TIMEOUT),
}
# Every task is bounded in time, so nothing blocks a worker forever: at the soft limit the
# task gets SoftTimeLimitExceeded (and records what it did: sends give back the messages
# they did not reach), at the hard limit its process is killed and replaced (prefork pool;
# the solo pool cannot enforce limits). Long jobs with progress get their own limits below.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_LONG_TASK_SOFT_TIME_LIMIT = env.int("CELERY_LONG_TASK_SOFT_TIME_LIMIT", default=3600)
_long_limits = {
    "soft_time_limit": CELERY_LONG_TASK_SOFT_TIME_LIMIT,
    "time_limit": CELERY_LONG_TASK_SOFT_TIME_LIMIT + 60,
}
# Resumable jobs that report progress: an import of millions of rows, a full segment
# recompute, a rescore of every contact, a segment-snapshot enrolment, a broadcast fan-out.
_LONG_TASKS = (
    "contacts.import_run",
    "segments.recompute",
    "segments.recompute_drifting",
    "segments.recompute_drifting_all",
    "scoring.model_rescore",
    "scoring.scores_refresh_workspace",
    "workflows.snapshot_enrol",
    "messaging.broadcast_fanout",
    "commerce.run",
    "commerce.feed_import",
)
CELERY_TASK_ANNOTATIONS = {name: _long_limits for name in _LONG_TASKS}
# Testing only: named points where the worker kills itself (config/faults.py). Never set
# in production.
TENDRIL_FAULT_POINTS = env.list("TENDRIL_FAULT_POINTS", default=[])
# Events accepted by /v1/ are on record in Postgres (PendingProcessing) until the pipeline
# ran them; work not done this many seconds after it was recorded (its task lost: a Redis
# restart, a failed publish, a killed worker) is published again by the recovery sweep.
EVENTS_PROCESSING_RESCUE = env.int("EVENTS_PROCESSING_RESCUE", default=50)
# Events one pipeline flush takes at most (about: the item crossing it is taken whole),
# round-robin over the workspaces waiting (contacts/tasks.py, config/fair_queue.py): the
# bound on how long a quiet workspace's event waits behind another's flood.
EVENTS_PIPELINE_FLUSH_EVENTS = env.int("EVENTS_PIPELINE_FLUSH_EVENTS", default=200)
# Queues per concern (docs/scaling.md "Celery"): the routes below are the one place that
# says which queue a task goes to. A worker started without -Q consumes every queue (`make
# dev`'s default, the tests); a deployment runs workers per queue (`celery worker -Q
# pipeline`, docker-compose's `scale` profile), so a backlog in one concern — a broadcast's
# million sends, an import — never stands in line before another's work. Inside the pipeline
# and sends queues, workspaces take turns (config/fair_queue.py).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_QUEUES_BY_CONCERN = {
    "pipeline": "pipeline",  # the ingest pipeline: scoring, segment membership, triggers
    "steps": "steps",  # workflow steps (the scheduler's chunks)
    "sends": "sends",  # email, SMS, notifications and outbound webhooks
    "bulk": "bulk",  # imports, recomputes, rescoring, snapshot enrolments, fan-outs
    "default": CELERY_TASK_DEFAULT_QUEUE,  # beat's ticks and sweeps, everything else
}
CELERY_TASK_QUEUES = [Queue(name) for name in CELERY_QUEUES_BY_CONCERN.values()]
CELERY_TASK_ROUTES = {
    name: {"queue": CELERY_QUEUES_BY_CONCERN[concern]}
    for concern, names in {
        "pipeline": ("contacts.process_events", "contacts.process_events_retry"),
        "steps": ("workflows.execute_runs",),
        "sends": (
            "messaging.messages_send",
            "messaging.double_opt_in_send",
            "scoring.notification_email_send",
            "outbound.delivery_attempt",
        ),
        "bulk": (
            *_LONG_TASKS,
            "scoring.rule_backfill",
            "workflows.anniversaries_enrol",
            "predictions.train",
        ),
    }.items()
    for name in names
}
# The event table is partitioned by month (docs/events.md): the beat task keeps this many
# months ahead of the current one created, so an event never waits for a partition.
EVENTS_PARTITIONS_AHEAD = env.int("EVENTS_PARTITIONS_AHEAD", default=2)
# Raw events older than this many months leave (whole partitions dropped when no workspace
# needs them, else bounded batches per workspace); 0 keeps them forever. A workspace's own
# setting (contacts.EventRetention) overrides it. Rollups are kept forever.
EVENTS_RETENTION_MONTHS = env.int("EVENTS_RETENTION_MONTHS", default=13)
# Rows a retention batch deletes per statement (each its own short transaction).
EVENTS_RETENTION_BATCH = env.int("EVENTS_RETENTION_BATCH", default=5_000)
# messageIds are remembered this many days after they were received: a replay within it is
# refused (Segment's own window is one day); older ones are pruned in bounded batches.
EVENTS_DEDUPE_DAYS = env.int("EVENTS_DEDUPE_DAYS", default=30)
CELERY_RESULT_BACKEND = None  # tasks report through the database, never through results
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# contacts.process_events runs the requests a worker holds as one batch (celery-batches):
# a worker holds up to this × concurrency messages. Workflow chunks and sends are short, so
# holding more than one each per process costs little fairness.
CELERY_WORKER_PREFETCH_MULTIPLIER = 16
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True

# --- Email --------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Tendril <no-reply@tendril.local>")

# --- Auth ---------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTH_USER_MODEL = "workspaces.User"
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads nothing from it; the token travels in hx-headers

# --- Proxies, throttling and HTTP hardening (docs/security.md) -----------------------------
# Reverse proxies in front of Tendril that append the client to X-Forwarded-For (0: none,
# the peer address is the client). Nothing else ever trusts X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Rate limits (the `limits` library, sliding-window counters) keep their counters here.
RATELIMIT_REDIS_URL = env("RATELIMIT_REDIS_URL", default=REDIS_URL)
# Management API: requests per second per secret key (Stripe's figure); a workspace's
# owner/admin may set its own in Settings.
API_RATE_LIMIT = env.int("API_RATE_LIMIT", default=100)
# Ingestion: requests (a /v1/batch counts once, whatever it carries) per write key.
INGEST_RATE_LIMIT = env("INGEST_RATE_LIMIT", default="100000 per 10 seconds")
# Failed authentications (bad secret key, unknown write key, wrong password) per client IP.
AUTH_FAILURE_RATE_LIMIT = env("AUTH_FAILURE_RATE_LIMIT", default="30 per minute")
# Login lockout (django-axes): this many failures for one email from one address locks that
# combination for the cool-off; a success resets the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "workspaces.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "workspaces.views.login_locked_out"
AXES_USERNAME_CALLABLE = "workspaces.forms.login_username"
AXES_VERBOSE = False
# Content-Security-Policy (django-csp 4): scripts only from here, with a per-response nonce
# for the few inline ones; inline style attributes are allowed (styles cannot run code).
# Images may come from https: so email previews show the marketer's own images. Framing is
# governed by X-Frame-Options (hosted forms opt out to be embedded).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:", "https:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# --- I18N ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media"))
# Uploaded email images (messaging.MediaAsset) are public: email clients fetch them with no
# login. With the file system storage Django serves them under MEDIA_URL (messaging's
# media_file view); production may store them in S3-compatible storage instead
# (production.py, docs/operations.md), whose own URLs are then used.
MEDIA_URL = env("MEDIA_URL", default="/media/")

# --- REST framework -----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["workspaces.api.authentication.SecretKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["workspaces.api.permissions.HasWorkspace"],
    "DEFAULT_PAGINATION_CLASS": "workspaces.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "workspaces.api.errors.json_error_handler",
    "DEFAULT_THROTTLE_CLASSES": ["workspaces.throttling.SecretKeyRateThrottle"],
    "DEFAULT_SCHEMA_CLASS": "workspaces.api.schema.ResourceTaggedSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SYSTEM_FONTS = (
    '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
)
MONO_FONTS = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
SPECTACULAR_SETTINGS = {
    "TITLE": "Tendril API",
    "DESCRIPTION": "Management API of Tendril. Authenticate with `Authorization: Bearer <secret key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No font from another host (templates/drf_spectacular/redoc.html drops ReDoc's Google
    # Fonts links): ReDoc uses the app's system font stack; operations grouped by resource
    # (workspaces.api.schema.ResourceTaggedSchema), tags in alphabetical order.
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": SYSTEM_FONTS,
                "headings": {"fontFamily": SYSTEM_FONTS},
                "code": {"fontFamily": MONO_FONTS},
            }
        },
    },
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "tagsSorter": "alpha"},
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Tendril ------------------------------------------------------------------------------
TENDRIL_INVITATION_DAYS = env.int("TENDRIL_INVITATION_DAYS", default=7)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Outbound HTTP (workspaces.outbound: webhooks, CRM, Slack) ------------------------------
# Internal hosts (names, addresses or CIDRs) that outbound calls may reach although they are
# loopback/private/link-local; empty = every internal address is refused.
OUTBOUND_ALLOWED_HOSTS = env.list("OUTBOUND_ALLOWED_HOSTS", default=[])
OUTBOUND_CONNECT_TIMEOUT = env.float("OUTBOUND_CONNECT_TIMEOUT", default=3.0)
OUTBOUND_READ_TIMEOUT = env.float("OUTBOUND_READ_TIMEOUT", default=10.0)
OUTBOUND_TOTAL_TIMEOUT = env.float("OUTBOUND_TOTAL_TIMEOUT", default=15.0)
OUTBOUND_MAX_RESPONSE_BYTES = env.int("OUTBOUND_MAX_RESPONSE_BYTES", default=64 * 1024)
# Queued deliveries (CRM, Slack) are tried this many times, 30 s · 4^(n-1) apart (max 6 h);
# workflow webhooks are retried by the workflow engine (WORKFLOWS_STEP_MAX_ATTEMPTS).
OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", default=6)
OUTBOUND_RETRY_BASE_SECONDS = env.float("OUTBOUND_RETRY_BASE_SECONDS", default=30.0)
# An endpoint is disabled after this many failed attempts in a row, or when it has failed
# without a success for this many days; an admin re-enables it in Settings → Webhooks.
OUTBOUND_DISABLE_AFTER_FAILURES = env.int("OUTBOUND_DISABLE_AFTER_FAILURES", default=20)
OUTBOUND_DISABLE_AFTER_DAYS = env.float("OUTBOUND_DISABLE_AFTER_DAYS", default=5.0)
# Finished deliveries are kept this many days in the log (then pruned daily by beat).
OUTBOUND_LOG_DAYS = env.int("OUTBOUND_LOG_DAYS", default=30)
# --- Ingestion input (owned by contacts; docs/security.md, "Ingestion input") ------------
# Beyond these a /v1/ message is refused (400 naming the field; in a batch, that item).
INGEST_MAX_DEPTH = env.int("INGEST_MAX_DEPTH", default=32)  # nested objects/lists
INGEST_MAX_KEYS = env.int("INGEST_MAX_KEYS", default=255)  # traits or properties per call
INGEST_MAX_STRING_LENGTH = env.int("INGEST_MAX_STRING_LENGTH", default=8192)  # characters
# Distinct custom attribute names per workspace; new names beyond it are left out, reported.
CONTACTS_MAX_ATTRIBUTES = env.int("CONTACTS_MAX_ATTRIBUTES", default=2000)
# Ingestion commits without waiting for the WAL to reach the disk (contacts/services/ingest.py
# says what that risks); true waits for the disk.
TENDRIL_INGEST_SYNCHRONOUS_COMMIT = env.bool("TENDRIL_INGEST_SYNCHRONOUS_COMMIT", default=False)
# Hosted form submissions per client IP: (attempts, seconds), across a workspace's forms.
TENDRIL_FORM_RATE_LIMIT = tuple(env.list("TENDRIL_FORM_RATE_LIMIT", cast=int, default=[10, 60]))
# Largest CSV file an import accepts.
TENDRIL_IMPORT_MAX_BYTES = env.int("TENDRIL_IMPORT_MAX_BYTES", default=50 * 1024 * 1024)

# --- Workflows (owned by the workflows app; docs/workflows.md "Settings") -------------------
WORKFLOWS_LEASE_SECONDS = env.float("WORKFLOWS_LEASE_SECONDS", default=300)
WORKFLOWS_CHUNK_SIZE = env.int("WORKFLOWS_CHUNK_SIZE", default=50)
WORKFLOWS_MAX_IN_FLIGHT = env.int("WORKFLOWS_MAX_IN_FLIGHT", default=3_000)
WORKFLOWS_STEP_MAX_ATTEMPTS = env.int("WORKFLOWS_STEP_MAX_ATTEMPTS", default=5)
WORKFLOWS_RETRY_BASE_SECONDS = env.float("WORKFLOWS_RETRY_BASE_SECONDS", default=30)
# A smart (Thompson) A/B split recomputes its allocation from the results at most this often.
WORKFLOWS_SMART_SPLIT_REFRESH_SECONDS = env.int("WORKFLOWS_SMART_SPLIT_REFRESH_SECONDS", default=60)
# Tests and demos only: the workflow clock may be shifted forward (workflows/engine/clock.py).
WORKFLOWS_SHIFTABLE_CLOCK = env.bool("WORKFLOWS_SHIFTABLE_CLOCK", default=False)

# --- Messaging (owned by the messaging app) ------------------------------------------------
# Twilio: the official client talks to TWILIO_BASE_URL when set (a local fake in tests/dev).
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env("TWILIO_FROM", default="")
TWILIO_WHATSAPP_FROM = env("TWILIO_WHATSAPP_FROM", default="")
TWILIO_BASE_URL = env("TWILIO_BASE_URL", default="")
TWILIO_TIMEOUT = env.float("TWILIO_TIMEOUT", default=10)  # seconds to connect and to read
# An anymail ESP backend (e.g. anymail.backends.postmark.EmailBackend) replaces EMAIL_URL's.
EMAIL_BACKEND = env("EMAIL_BACKEND", default=vars()["EMAIL_BACKEND"])  # vars(): from EMAIL_URL
# anymail's settings. Only keys that are set: an empty signing key would sign with "".
# Webhooks are verified by the ESP's signature key where it has one, else by WEBHOOK_SECRET
# ("user:password", HTTP basic auth) — see messaging/esp.py.
ANYMAIL = {
    key: value
    for key, value in {
        "WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default=""),
        "POSTMARK_SERVER_TOKEN": env("POSTMARK_SERVER_TOKEN", default=""),
        "SENDGRID_API_KEY": env("SENDGRID_API_KEY", default=""),
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": env(
            "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", default=""
        ),
        "MAILGUN_API_KEY": env("MAILGUN_API_KEY", default=""),
        "MAILGUN_WEBHOOK_SIGNING_KEY": env("MAILGUN_WEBHOOK_SIGNING_KEY", default=""),
    }.items()
    if value
}
# Amazon SES webhooks come through SNS: the signing certificate is fetched only from
# https://sns.<region>.amazonaws.com/…pem; these URL prefixes are accepted besides (a local
# stand-in; the fetch still goes through the outbound client and OUTBOUND_ALLOWED_HOSTS).
MESSAGING_SNS_CERT_URL_PREFIXES = env.list("MESSAGING_SNS_CERT_URL_PREFIXES", default=[])
# Bounds of one template render (messaging/templating/sandbox.py): loop iterations + calls,
# the longest range(), output/intermediate string size in characters, wall-clock seconds.
MESSAGING_TEMPLATE_MAX_STEPS = env.int("MESSAGING_TEMPLATE_MAX_STEPS", default=100_000)
MESSAGING_TEMPLATE_MAX_RANGE = env.int("MESSAGING_TEMPLATE_MAX_RANGE", default=10_000)
MESSAGING_TEMPLATE_MAX_OUTPUT = env.int("MESSAGING_TEMPLATE_MAX_OUTPUT", default=1_000_000)
MESSAGING_TEMPLATE_RENDER_SECONDS = env.float("MESSAGING_TEMPLATE_RENDER_SECONDS", default=2.0)
MESSAGING_DEFAULT_PHYSICAL_ADDRESS = env("MESSAGING_DEFAULT_PHYSICAL_ADDRESS", default="")
# Email images (messaging/services/media.py): the largest upload accepted (bytes), the most
# pixels decoded (a decompression bomb is refused before it is), and the widest stored image
# (px: twice the 600 px email width, for high-density screens).
MESSAGING_MEDIA_MAX_BYTES = env.int("MESSAGING_MEDIA_MAX_BYTES", default=5 * 1024 * 1024)
MESSAGING_MEDIA_MAX_PIXELS = env.int("MESSAGING_MEDIA_MAX_PIXELS", default=40_000_000)
MESSAGING_MEDIA_MAX_WIDTH = env.int("MESSAGING_MEDIA_MAX_WIDTH", default=1200)
# The pre-send checklist's spam score: Debian's SpamAssassin run locally (no network, the
# rules shipped in the package), bounded in seconds; a score at the threshold fails the check.
MESSAGING_SPAMASSASSIN = env("MESSAGING_SPAMASSASSIN", default="spamassassin")
MESSAGING_SPAM_THRESHOLD = env.float("MESSAGING_SPAM_THRESHOLD", default=5.0)
MESSAGING_SPAM_TIMEOUT = env.float("MESSAGING_SPAM_TIMEOUT", default=20.0)
# A spam check costs seconds of CPU: at most this many per workspace (limits notation); past
# it the checklist runs without the score ("spam check unavailable … try again in N s").
MESSAGING_SPAM_CHECK_RATE = env("MESSAGING_SPAM_CHECK_RATE", default="60 per minute")
# Domain of Message-ID headers and of the List-Unsubscribe mailto address.
MESSAGING_MAIL_DOMAIN = env("MESSAGING_MAIL_DOMAIN", default="tendril.local")
# Sliding-window rate limits (messages per window, window in seconds).
MESSAGING_WORKSPACE_RATE_LIMIT = env.int("MESSAGING_WORKSPACE_RATE_LIMIT", default=2000)
MESSAGING_WORKSPACE_RATE_WINDOW = env.int("MESSAGING_WORKSPACE_RATE_WINDOW", default=1)
MESSAGING_SMS_SENDER_RATE_LIMIT = env.int("MESSAGING_SMS_SENDER_RATE_LIMIT", default=10)
MESSAGING_SMS_SENDER_RATE_WINDOW = env.int("MESSAGING_SMS_SENDER_RATE_WINDOW", default=1)
# Marketing SMS must say how to opt out: appended when the text has no STOP instruction.
MESSAGING_SMS_OPT_OUT_TEXT = env("MESSAGING_SMS_OPT_OUT_TEXT", default="Reply STOP to opt out.")
# What the SMS composer estimates a segment to cost (USD; Twilio's US price in 2026).
MESSAGING_SMS_PRICE_PER_SEGMENT = env.float("MESSAGING_SMS_PRICE_PER_SEGMENT", default=0.0083)
# Auto-pause a workspace's sending after this many provider failures within the window.
MESSAGING_PAUSE_AFTER_FAILURES = env.int("MESSAGING_PAUSE_AFTER_FAILURES", default=25)
MESSAGING_PAUSE_WINDOW = env.int("MESSAGING_PAUSE_WINDOW", default=300)
MESSAGING_MAX_ATTEMPTS = env.int("MESSAGING_MAX_ATTEMPTS", default=5)
# Machine opens and clicks (messaging/machine.py, docs/deliverability.md): Apple's network
# (Mail Privacy Protection's prefetch), a hit this soon after delivery, links clicked this
# close together.
MESSAGING_MACHINE_OPEN_NETWORKS = env.list(
    "MESSAGING_MACHINE_OPEN_NETWORKS", default=["17.0.0.0/8"]
)
MESSAGING_MACHINE_OPEN_SECONDS = env.int("MESSAGING_MACHINE_OPEN_SECONDS", default=10)
MESSAGING_MACHINE_CLICK_BURST_SECONDS = env.float(
    "MESSAGING_MACHINE_CLICK_BURST_SECONDS", default=2.0
)
# The deliverability guard (docs/deliverability.md): rates over the last WINDOW_DAYS of
# sends (a broadcast: all of its sends), judged from MIN_VOLUME messages on; a source is
# evaluated from the bounce/complaint path at most once per MIN_INTERVAL seconds.
MESSAGING_GUARD_WINDOW_DAYS = env.int("MESSAGING_GUARD_WINDOW_DAYS", default=7)
MESSAGING_GUARD_MIN_VOLUME = env.int("MESSAGING_GUARD_MIN_VOLUME", default=1000)
MESSAGING_GUARD_MIN_INTERVAL = env.float("MESSAGING_GUARD_MIN_INTERVAL", default=5.0)
MESSAGING_GUARD_COMPLAINT_AMBER = env.float("MESSAGING_GUARD_COMPLAINT_AMBER", default=0.001)
MESSAGING_GUARD_COMPLAINT_RED = env.float("MESSAGING_GUARD_COMPLAINT_RED", default=0.003)
MESSAGING_GUARD_HARD_BOUNCE_AMBER = env.float("MESSAGING_GUARD_HARD_BOUNCE_AMBER", default=0.01)
MESSAGING_GUARD_HARD_BOUNCE_RED = env.float("MESSAGING_GUARD_HARD_BOUNCE_RED", default=0.02)
MESSAGING_SOFT_BOUNCE_LIMIT = env.int("MESSAGING_SOFT_BOUNCE_LIMIT", default=3)
MESSAGING_SEND_BATCH_SIZE = env.int("MESSAGING_SEND_BATCH_SIZE", default=100)
# Recovery of sends (docs/security.md "Faults: exactly once"): a claimed batch renews its
# claim while it works; rows of a claim not renewed for this many seconds (its worker died)
# are queued again. Queued rows untouched for MESSAGING_QUEUED_RESCUE seconds are published
# again: their task may be lost (kombu's Redis transport pops a message before it records it
# as unacknowledged, so a worker killed in between loses it; a Redis restart without
# persistence loses the queue). A second task for a row still queued is harmless (the claim).
MESSAGING_SEND_LEASE = env.int("MESSAGING_SEND_LEASE", default=30)
MESSAGING_QUEUED_RESCUE = env.int("MESSAGING_QUEUED_RESCUE", default=50)
# Bound every SMTP socket operation (Django's default is to wait forever).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Commerce signals (docs/commerce.md) ---------------------------------------------------
# Products one workspace's catalogue may hold; events naming more are not added (counted).
COMMERCE_MAX_PRODUCTS = env.int("COMMERCE_MAX_PRODUCTS", default=100_000)
# Product lines read from one event's products[] (the rest are ignored).
COMMERCE_MAX_LINES_PER_EVENT = env.int("COMMERCE_MAX_LINES_PER_EVENT", default=100)
# Recommendations kept per contact, and the purchase window they learn from (days).
COMMERCE_RECOMMENDATIONS = env.int("COMMERCE_RECOMMENDATIONS", default=12)
COMMERCE_LEARN_DAYS = env.int("COMMERCE_LEARN_DAYS", default=365)
# Reorder intervals: a product's median needs this many repeat-purchase intervals.
COMMERCE_REORDER_MIN_SAMPLE = env.int("COMMERCE_REORDER_MIN_SAMPLE", default=5)
# Browse abandonment: a Product Viewed with no Product Added, Checkout Started or Order
# Completed by the contact within this many hours (and seen no longer ago than a day more).
COMMERCE_BROWSE_ABANDON_HOURS = env.float("COMMERCE_BROWSE_ABANDON_HOURS", default=1.0)
# Back in stock / price drop reach contacts who viewed or added the product within this
# many days, at most COMMERCE_SIGNAL_MAX_CONTACTS of them (most recent first) per change.
COMMERCE_SIGNAL_DAYS = env.int("COMMERCE_SIGNAL_DAYS", default=30)
COMMERCE_SIGNAL_MAX_CONTACTS = env.int("COMMERCE_SIGNAL_MAX_CONTACTS", default=10_000)
# A price drop smaller than this (percent) records no signal.
COMMERCE_PRICE_DROP_MIN_PERCENT = env.float("COMMERCE_PRICE_DROP_MIN_PERCENT", default=1.0)
