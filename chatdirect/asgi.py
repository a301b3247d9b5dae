import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatdirect.settings")

# Django must be set up before anything imports models (consumers, routing).
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatdirect.handlers import http_application  # noqa: E402
from chatdirect.websocket_urls import websocket_urlpatterns  # noqa: E402
from conversations.providers.registry import adapters_import  # noqa: E402

adapters_import()

application = ProtocolTypeRouter(
    {
        "http": http_application(),
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
