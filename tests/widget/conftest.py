"""Widget and live-chat fixtures: websocket visitors and agents driving the real ASGI application."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from chatdirect.asgi import application
from tenants.models import Membership, Tenant
from tenants.services import membership_set, user_create
from tests.conversations.conftest import ORIGIN, WidgetVisitor, providers_on_fake  # noqa: F401

# Long enough for a streamed reply from the fake, short enough that a hang fails fast.
TIMEOUT = 5


class _Receiving:
    """Live events arrive from two sources (the reply stream and the channel layer), so their
    relative order is not fixed: `wait_for` also finds an event that came before the last one
    a test waited for."""

    socket: WebsocketCommunicator | None

    async def receive(self) -> dict:
        event = json.loads(await self.socket.receive_from(timeout=TIMEOUT))
        self.history.append(event)
        return event

    async def receive_until(self, kind: str, **match) -> list[dict]:
        """Every event from now up to and including the first of `kind` whose fields match."""
        seen = []
        while True:
            event = await self.receive()
            seen.append(event)
            if _matches(event, kind, match):
                return seen

    async def wait_for(self, kind: str, **match) -> dict:
        """The first event ever received of `kind` whose fields match, waiting if need be."""
        for event in self.history:
            if _matches(event, kind, match):
                return event
        return (await self.receive_until(kind, **match))[-1]


def _matches(event: dict, kind: str, match: dict) -> bool:
    return event["type"] == kind and all(_field(event, k) == v for k, v in match.items())


class SocketVisitor(_Receiving):
    """A visitor's widget tab: a session over HTTP (as chatdirect.js does), then the websocket."""

    def __init__(self, widget_id: str, origin: str = ORIGIN) -> None:
        from django.test import AsyncClient

        self.http = WidgetVisitor(AsyncClient(), widget_id, origin)
        self.widget_id = widget_id
        self.origin = origin
        self.socket: WebsocketCommunicator | None = None
        self.history: list[dict] = []

    async def start(self, **extra) -> dict:
        return await self.http.start(**extra)

    async def connect(self, *, hello: bool = True) -> dict | None:
        self.socket = WebsocketCommunicator(
            application,
            f"/ws/widget/?widget_id={self.widget_id}",
            headers=[(b"origin", self.origin.encode())],
        )
        # The same address the HTTP test client reports, so per-IP limits count both.
        self.socket.scope["client"] = ("127.0.0.1", 50000)
        connected, _ = await self.socket.connect(timeout=TIMEOUT)
        assert connected
        if not hello:
            return None
        await self.send({"type": "hello", "visitor_token": self.http.token})
        return await self.receive()

    async def send(self, content: dict) -> None:
        await self.socket.send_to(text_data=json.dumps(content))

    async def say(self, text: str, client_message_id: str = "") -> None:
        await self.send({"type": "message", "text": text, "client_message_id": client_message_id})

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.disconnect()


def _field(event: dict, dotted: str):
    value = event
    for part in dotted.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class InboxAgent(_Receiving):
    """An agent's live inbox socket, signed in with a real portal session cookie."""

    def __init__(self, user, host: str = "http://127.0.0.1") -> None:
        self.user = user
        self.host = host
        self.socket: WebsocketCommunicator | None = None
        self.history: list[dict] = []

    async def connect(self) -> bool:
        headers = [(b"origin", self.host.encode())]
        if self.user is not None:
            cookie = await sync_to_async(_session_cookie)(self.user)
            headers.append((b"cookie", cookie.encode()))
        self.socket = WebsocketCommunicator(application, "/ws/inbox/", headers=headers)
        connected, _ = await self.socket.connect(timeout=TIMEOUT)
        return connected

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.disconnect()


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    morsel = SimpleCookie(client.cookies.output(header="", sep=";"))
    name = django_settings.SESSION_COOKIE_NAME
    return f"{name}={morsel[name].value}"


@pytest.fixture
def hybrid_tenant(tenant_factory) -> Tenant:
    return tenant_factory(name="Maple Hybrid", chat_mode=Tenant.ChatMode.HYBRID)


@pytest.fixture
def human_tenant(tenant_factory) -> Tenant:
    return tenant_factory(name="Maple Human", chat_mode=Tenant.ChatMode.HUMAN)


@pytest.fixture
def agent_of():
    counter = {"n": 0}

    def make(tenant: Tenant, username: str = ""):
        counter["n"] += 1
        user = user_create(
            username=username or f"agent{counter['n']}",
            email=f"agent{counter['n']}@example.com",
            password="pw-agent-123!",
        )
        user.first_name = "Sam"
        user.save(update_fields=["first_name"])
        membership_set(tenant=tenant, user=user, role=Membership.Role.AGENT)
        return user

    return make


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_collection_modifyitems(config, items):
    """The browser tests' ASGI server reads the database from its own threads; SQLite's shared
    in-memory test database does not take concurrent writers (it fails instead of waiting), so on
    SQLite a run that includes them uses a test database file. PostgreSQL (CI) is unaffected."""
    if not any("browser" in item.keywords and "tests/widget" in str(item.path) for item in items):
        return
    database = django_settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})
        if not database["TEST"].get("NAME"):
            database["TEST"]["NAME"] = str(django_settings.VAR_DIR / "test_widget_browser.sqlite3")
