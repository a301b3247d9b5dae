import json

import pytest
from django.test import AsyncClient

from conversations.providers.registry import PROVIDERS

ORIGIN = "https://shop.example.com"


@pytest.fixture
def providers_on_fake(fake_providers, settings):
    """Every provider's base URL points at the fake; the platform's pooled keys are its defaults."""
    settings.CHATDIRECT_PROVIDER_BASE_URLS = {p: fake_providers.url(p) for p in PROVIDERS}
    settings.CHATDIRECT_PLATFORM_KEYS = {p: fake_providers.default_key(p) for p in PROVIDERS}
    settings.CHATDIRECT_PROVIDER_READ_TIMEOUT = 1.0
    settings.CHATDIRECT_PROVIDER_RETRY = {"max_attempts": 3, "base_delay": 0.01, "max_delay": 2.0}
    return fake_providers


class WidgetVisitor:
    """A visitor driving the widget HTTP API the way chatdirect.js does."""

    def __init__(self, client: AsyncClient, widget_id: str, origin: str = ORIGIN) -> None:
        self.client = client
        self.widget_id = widget_id
        self.origin = origin
        self.token = ""

    async def start(self, **extra) -> dict:
        response = await self.client.post(
            "/api/widget/v1/sessions",
            {
                "widget_id": self.widget_id,
                **({"visitor_token": self.token} if self.token else {}),
                **extra,
            },
            content_type="application/json",
            headers={"Origin": self.origin},
        )
        body = response.json()
        if response.status_code in (200, 201):
            self.token = body["visitor_token"]
        return {"status_code": response.status_code, **body}

    def _headers(self, **extra) -> dict:
        return {"Origin": self.origin, "Authorization": f"Bearer {self.token}", **extra}

    async def say(self, text: str, **extra):
        return await self.client.post(
            "/api/widget/v1/messages",
            {"text": text, **extra},
            content_type="application/json",
            headers=self._headers(),
        )

    async def say_streaming(self, text: str) -> list[tuple[str, dict]]:
        response = await self.client.post(
            "/api/widget/v1/messages",
            {"text": text},
            content_type="application/json",
            headers=self._headers(Accept="text/event-stream"),
        )
        assert response["Content-Type"] == "text/event-stream"
        raw = b"".join([chunk async for chunk in response.streaming_content]).decode()
        events = []
        for frame in raw.strip().split("\n\n"):
            lines = dict(line.split(": ", 1) for line in frame.splitlines())
            events.append((lines["event"], json.loads(lines["data"])))
        return events

    async def poll(self, after: int = 0):
        return await self.client.get(
            f"/api/widget/v1/messages?after={after}", headers=self._headers()
        )


@pytest.fixture
def widget_visitor(tenant):
    return WidgetVisitor(AsyncClient(), tenant.widget_id)
