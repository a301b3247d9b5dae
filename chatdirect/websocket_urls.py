"""Websocket routes, collected here so asgi.py stays a fixed entry point."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from conversations.consumers import InboxConsumer, WidgetConsumer

websocket_urlpatterns: list = [
    # Cross-origin by design: each tenant's allowed origins are checked by the consumer itself.
    path("ws/widget/", WidgetConsumer.as_asgi()),
    # Signed in by the portal's session cookie, so only pages of our own hosts may open it
    # (a foreign page would otherwise ride an agent's cookie).
    path("ws/inbox/", AllowedHostsOriginValidator(AuthMiddlewareStack(InboxConsumer.as_asgi()))),
]
