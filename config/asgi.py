import os

from django.core.asgi import get_asgi_application

# Production unless told otherwise: `make dev`, the tests and the benches name their module.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_asgi_application()
