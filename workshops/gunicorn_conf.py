"""gunicorn settings: ``gunicorn -c python:workshops.gunicorn_conf wsgi:app``.

Sync workers by default, one process per core (WEB_CONCURRENCY): a request's CPU, not its
waits on PostgreSQL, bounds a registration or a check-in here. WORKER_CLASS=gthread with
WEB_THREADS > 1 overlaps those waits where the database is further away.
"""

import gc
import multiprocessing
import os

# Loopback unless told: the app is meant to be reached through nginx on the same host (README).
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = os.environ.get("WORKER_CLASS", "sync")
threads = int(os.environ.get("WEB_THREADS", 1))
timeout = 60
graceful_timeout = 30
keepalive = 5
# Behind a TLS-terminating proxy on the same host or network.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("ACCESS_LOG", "-") if os.environ.get("ACCESS_LOG") else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")


def post_worker_init(worker):
    """Refuse to serve a weak set-up (demo accounts with demo passwords, in production): a worker
    that raises here fails to boot, and gunicorn stops with "Worker failed to boot". Imported
    here, in the worker, where the app is loaded already: the master stays without it.

    Then move the loaded app (about 200,000 objects: modules, mappers, templates) out of the
    garbage collector's reach. Otherwise each full collection walks all of them and stops the
    worker for 100-150 ms in the middle of serving; measured here, after the freeze such a
    collection takes about 2 ms. Nothing is lost: those objects live as long as the worker."""
    from workshops.demo import refuse_demo_logins

    refuse_demo_logins(worker.wsgi)
    gc.freeze()
