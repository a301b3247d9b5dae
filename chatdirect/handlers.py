"""The ASGI entry for HTTP: the widget API on a lean Django handler, everything else on the full one.

Django's stock middleware (sessions, auth, CSRF, messages, clickjacking, security, common) is sync.
Under ASGI each of them runs its hooks through `sync_to_async` on a thread created for the request,
which cost the chat path about ten thread hand-offs per message and was the largest share of its
CPU (bench/bench_chat.py). The widget API needs none of them: it is cross-origin, cookie-less and
CSRF-exempt by design, authorizes with the visitor token and the tenant's allowed origins, and sets
its own headers (`conversations.widget_api`). So its paths go to a handler with no middleware.
"""

from __future__ import annotations

from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

WIDGET_API_PREFIX = "/api/widget/"


class MiddlewareFreeASGIHandler(ASGIHandler):
    """Django's ASGI handler (URL resolution, exception responses, request signals), no middleware."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(
            self._get_response_async if is_async else self._get_response
        )


def http_application():
    """One ASGI app for HTTP that sends widget API requests to the lean handler."""
    full = get_asgi_application()
    lean = MiddlewareFreeASGIHandler()

    async def application(scope, receive, send):
        if scope["path"].startswith(WIDGET_API_PREFIX):
            return await lean(scope, receive, send)
        return await full(scope, receive, send)

    return application
