"""The widget API runs on a handler without Django's middleware; everything else keeps it."""

import httpx
import pytest

from chatdirect.asgi import application

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1"
    )


async def test_the_widget_api_sets_its_own_security_headers_and_no_cookie(tenant):
    async with _client() as client:
        response = await client.post(
            "/api/widget/v1/sessions",
            json={"widget_id": tenant.widget_id},
            headers={"Origin": "https://shop.example.com"},
        )

    assert response.status_code == 201
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "set-cookie" not in response.headers
    # No middleware ran: clickjacking's header is the sign of the full chain.
    assert "X-Frame-Options" not in response.headers


async def test_the_widget_api_still_refuses_a_host_not_allowed(tenant, settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    async with _client() as client:
        response = await client.post(
            "/api/widget/v1/sessions",
            json={"widget_id": tenant.widget_id},
            headers={"Origin": "https://shop.example.com"},
        )

    assert response.status_code == 400


async def test_other_pages_keep_the_full_middleware_chain():
    async with _client() as client:
        response = await client.get("/portal/login/")

    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "csrftoken" in response.headers.get("set-cookie", "")


async def test_the_request_signals_still_fire_around_a_widget_request(tenant):
    from django.core import signals

    fired = []

    def started(**kwargs):
        fired.append("started")

    def finished(**kwargs):
        fired.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        async with _client() as client:
            await client.post("/api/widget/v1/sessions", json={"widget_id": tenant.widget_id})
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert fired == ["started", "finished"]
