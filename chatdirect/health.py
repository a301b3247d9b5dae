"""Dependency checks behind GET /healthz."""

import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health check reports failures, it does not raise them
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _cache() -> str:
    probe = f"healthz:{uuid.uuid4().hex}"
    cache.set(probe, "1", timeout=5)
    if cache.get(probe) != "1":
        raise RuntimeError("cache did not return what was written")
    cache.delete(probe)
    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


def _broker() -> str:
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "redis"


def run_checks() -> dict:
    checks = {"database": _timed(_database), "cache": _timed(_cache)}
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = {"ok": True, "detail": "eager (no broker configured)", "ms": 0.0}
    else:
        checks["broker"] = _timed(_broker)
    return checks
