"""Database work from async code (views, consumers, the chat engine).

Django's async ORM runs each query on a thread tied to the request, which opens a fresh database
connection per request. The chat path instead runs its short database steps on one bounded pool
whose threads keep their connections, so many conversations can wait on slow providers while a few
threads and connections serve all of them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

P = ParamSpec("P")
R = TypeVar("R")

_executor = ThreadPoolExecutor(
    max_workers=settings.CHATDIRECT_DB_THREADS, thread_name_prefix="chatdirect-db"
)


def in_db_thread(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Wrap a sync function so that awaiting it runs it on the database pool.

    A plain `run_in_executor` with the caller's context, not asgiref's sync_to_async: this is
    called four times per chat message, and sync_to_async's bookkeeping (thread-sensitivity,
    context restoring) cost more than the hand-off itself while buying nothing here.
    """

    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(
            _executor, functools.partial(context.run, _run, loop, function, args, kwargs)
        )

    return call


_calling = threading.local()


def _run(loop: asyncio.AbstractEventLoop, function: Callable, args: tuple, kwargs: dict):
    _calling.loop = loop
    try:
        return function(*args, **kwargs)
    except (InterfaceError, OperationalError):
        # The kept connection may be what broke (a database restart): the next call reconnects.
        connections.close_all()
        raise
    finally:
        _calling.loop = None


def calling_loop() -> asyncio.AbstractEventLoop | None:
    """In a pool thread, the event loop of the coroutine that is awaiting this call."""
    return getattr(_calling, "loop", None)


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
