"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi` (docs/operations.md).

The access log never names a key: Segment clients send the write key as the HTTP Basic
username, which gunicorn's default format prints as %(u)s, and query strings can carry
tokens (unsubscribe, tracking). This format has neither — method, path, status, size and
time only. Every value here can be overridden on the command line or by GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = 30  # a request that takes longer is a bug; the worker is replaced
graceful_timeout = 30
keepalive = 5
max_requests = 5000  # recycle workers now and then (bounded memory growth)
max_requests_jitter = 500
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
