"""Database work from async code (views, consumers, the chat engine).

Django's async ORM runs each query on a thread tied to the request, which opens a fresh database
connection per request. The chat path instead runs its short database steps on one bounded pool
whose threads keep their connections, so many conversations can wait on slow providers while a few
threads and connections serve all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

P = ParamSpec("P")
R = TypeVar("R")

_executor = ThreadPoolExecutor(
    max_workers=settings.CHATDIRECT_DB_THREADS, thread_name_prefix="chatdirect-db"
)


def in_db_thread(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap a sync function so that awaiting it runs it on the database pool."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (InterfaceError, OperationalError):
            # The kept connection may be what broke (a database restart): the next call reconnects.
            connections.close_all()
            raise

    return sync_to_async(run, thread_sensitive=False, executor=_executor)


def db_threads_close() -> None:
    """Close every pool thread's connection (tests, before the test database is dropped)."""
    threads = len(getattr(_executor, "_threads", ()))
    if not threads:
        return
    barrier = threading.Barrier(threads)

    def close() -> None:
        connections.close_all()
        # Holding every thread until all have run makes each thread take exactly one of these.
        barrier.wait(timeout=10)

    for future in [_executor.submit(close) for _ in range(threads)]:
        future.result(timeout=15)
