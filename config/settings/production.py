"""Production: every secret must come from the environment; missing ones stop the process."""

from django.core.exceptions import ImproperlyConfigured

from messaging.esp import webhook_verification_missing

from .base import *  # noqa: F403
from .base import DATABASES as _BASE_DATABASES
from .base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")  # raises ImproperlyConfigured when unset
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters in production.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names Tendril answers on.")
_prepare = _BASE_DATABASES["default"]["OPTIONS"]["prepare_threshold"]
DATABASES = {"default": {**env.db("DATABASE_URL"), "OPTIONS": {"prepare_threshold": _prepare}}}
DATABASES["default"]["ENGINE"] = "workspaces.db"  # Row Level Security (see base.py)
DATABASES["default"]["OPTIONS"]["pool"] = {
    "min_size": env.int("DB_POOL_MIN", default=2),
    "max_size": env.int("DB_POOL_MAX", default=20),
    "timeout": 10,
}
REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CACHES["default"]["LOCATION"] = env("CACHE_URL", default=REDIS_URL)  # noqa: F405
vars().update(env.email_url("EMAIL_URL"))
EMAIL_BACKEND = env("EMAIL_BACKEND", default=vars()["EMAIL_BACKEND"])
# An ESP's webhooks change messages and suppressions: refuse to run unable to verify them.
_esp_problem = webhook_verification_missing(EMAIL_BACKEND, ANYMAIL)  # noqa: F405
if _esp_problem:
    raise ImproperlyConfigured(_esp_problem)
SITE_URL = env("SITE_URL").rstrip("/")

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
# Uploaded email images: S3-compatible object storage (AWS S3, Cloudflare R2, MinIO …) through
# django-storages when MEDIA_S3_BUCKET is set, else the file system under MEDIA_ROOT served by
# messaging's media view (docs/operations.md "Media storage"). Email clients fetch the images
# for years: plain public URLs (no expiring query-string signature) of unguessable names; the
# bucket must let anyone read them (a bucket policy, or MEDIA_S3_ACL=public-read).
MEDIA_S3_BUCKET = env("MEDIA_S3_BUCKET", default="")
if MEDIA_S3_BUCKET:
    STORAGES["default"] = {  # noqa: F405
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": env("MEDIA_S3_ENDPOINT_URL", default=None),
            "region_name": env("MEDIA_S3_REGION", default=None),
            "access_key": env("MEDIA_S3_ACCESS_KEY_ID", default=None),
            "secret_key": env("MEDIA_S3_SECRET_ACCESS_KEY", default=None),
            "custom_domain": env("MEDIA_S3_CUSTOM_DOMAIN", default=None),
            "default_acl": env("MEDIA_S3_ACL", default=None),
            "querystring_auth": False,
            "file_overwrite": False,
        },
    }

# TLS: Tendril is served over HTTPS (directly or behind a proxy that sets
# X-Forwarded-Proto). HTTPS_ONLY=false is the switch for a deployment that is not (yet):
# no redirect to https, no HSTS, cookies allowed over http — `check --deploy` then warns.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
HTTPS_ONLY = env.bool("HTTPS_ONLY", default=True)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS_ONLY)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=HTTPS_ONLY)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
