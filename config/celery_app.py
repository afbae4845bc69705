"""The Celery app: loads Django settings (CELERY_* keys) and autodiscovers tasks.py modules."""

import os

from celery import Celery

# Production unless told otherwise: `make dev`, the tests and the benches name their module.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("tendril")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# A live worker renews the broker leases of the messages it holds (config/celery_leases.py).
app.steps["consumer"].add("config.celery_leases:BrokerLeases")
