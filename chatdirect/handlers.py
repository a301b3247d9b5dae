"""The ASGI entry for HTTP: the widget API on a lean Django handler, everything else on the full one.

Django's stock middleware (sessions, auth, CSRF, messages, clickjacking, security, common) is sync.
Under ASGI each of them runs its hooks through `sync_to_async` on a thread created for the request,
which cost the chat path about ten thread hand-offs per message and was the largest share of its
CPU (bench/bench_chat.py). The widget API needs none of them: it is cross-origin, cookie-less and
CSRF-exempt by design, authorizes with the visitor token and the tenant's allowed origins, and sets
its own headers (`conversations.widget_api`). So its paths go to a handler with no middleware.
"""

from __future__ import annotations

import asyncio
import contextlib

from django.core import signals
from django.core.asgi import get_asgi_application
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response
from django.urls import set_script_prefix

WIDGET_API_PREFIX = "/api/widget/"


class MiddlewareFreeASGIHandler(ASGIHandler):
    """Django's ASGI handler (URL resolution, exception responses, request signals), no middleware.

    The request signals are sent on the event loop rather than through `sync_to_async`: their
    receivers (resetting and closing *this thread's* database connections, caches and urlconf)
    find nothing to do on the loop's thread, since widget views reach the database only through
    `chatdirect.asyncdb`'s pool, yet each hand-off started a thread per request.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(
            self._get_response_async if is_async else self._get_response
        )

    async def handle(self, scope, receive, send) -> None:
        # Django 5.2's ASGIHandler.handle, with the two thread hand-offs replaced as above.
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            error_response.close()
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            # The client may go away while the response is being sent.
            with contextlib.suppress(asyncio.CancelledError):
                await self.send_response(response, send)
            return response

        # The disconnect listener goes first: it must not raise what would keep the request
        # task from being cancelled.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            signals.request_finished.send(sender=self.__class__)
        else:
            response.close()  # sends request_finished
        body_file.close()


def http_application():
    """One ASGI app for HTTP that sends widget API requests to the lean handler."""
    full = get_asgi_application()
    lean = MiddlewareFreeASGIHandler()

    async def application(scope, receive, send):
        if scope["path"].startswith(WIDGET_API_PREFIX):
            return await lean(scope, receive, send)
        return await full(scope, receive, send)

    return application
