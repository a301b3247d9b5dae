"""pytest fixtures for the fake LLM provider server.

Registered for the whole suite by ``pytest_plugins = ["tests.fakes.fixtures"]`` in the root
conftest. Tests ask for ``fake_providers``: one server for the session, reset around every test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.provider_server import FakeProviderServer


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProviderServer]:
    """The session's server as it is; most tests want ``fake_providers`` instead."""
    server = FakeProviderServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_providers(fake_provider_server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    """The shared server with default keys only, no faults, no recorded requests."""
    fake_provider_server.reset()
    yield fake_provider_server
    # Also afterwards, so a forgotten `times=None` fault cannot leak into a test that uses the
    # session fixture directly.
    fake_provider_server.reset()
