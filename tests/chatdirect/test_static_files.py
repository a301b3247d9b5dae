import pytest
from django.test import AsyncClient

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


async def test_static_files_are_served_under_asgi():
    response = await AsyncClient().get("/static/widget/chatdirect.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")


async def test_an_unknown_static_path_is_a_404():
    response = await AsyncClient().get("/static/widget/no-such-file.js")

    assert response.status_code == 404


def test_no_middleware_forces_the_asgi_chain_into_sync_mode():
    """A sync-only middleware (WhiteNoise's own) turns the whole chain into one SyncToAsync call:
    every async view, the widget API included, would then wait on providers inside a thread."""
    from asgiref.sync import SyncToAsync
    from django.core.handlers.asgi import ASGIHandler

    handler = ASGIHandler()
    handler.load_middleware(is_async=True)

    assert not isinstance(handler._middleware_chain, SyncToAsync)
