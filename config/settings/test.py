"""Tests: real Postgres and Redis, a separate Redis database, fast hashing, no pool.

The pool is off because pytest-django swaps the database name for test_<name> after
settings load, and each test process is short-lived anyway; production and local use it.
"""

from .base import *  # noqa: F403
from .base import DATABASES, env

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
ALLOWED_HOSTS = ["*"]
DATABASES["default"]["OPTIONS"].pop("pool", None)
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_tendril")}

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/14")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "tendril-test",
    }
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# Unit tests run tasks inline; integration tests start a real worker and switch this off.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Marketing email is refused without a postal address; tests that need none unset this.
MESSAGING_DEFAULT_PHYSICAL_ADDRESS = env(
    "MESSAGING_DEFAULT_PHYSICAL_ADDRESS", default="1 Test Street, Testville"
)
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
LOGGING["root"]["level"] = "WARNING"  # type: ignore[index]  # noqa: F405

# Serve static files from the finders (no collectstatic in tests) and don't warn that
# STATIC_ROOT is missing.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
