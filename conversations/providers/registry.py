"""Maps a provider name to its process-wide adapter, configured from Django settings.

Settings are read once, when the adapters are first needed; `override_settings` of a
CHATDIRECT_PROVIDER_* setting drops them so the next lookup rebuilds them.
"""

from __future__ import annotations

import importlib
import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from conversations.providers.base import ChatAdapter, ProviderConfig

PROVIDERS = ("anthropic", "openai", "google", "mistral")
DEMO_PROVIDER = "demo"
ALL_PROVIDERS = (*PROVIDERS, DEMO_PROVIDER)

# Imported on first use: each SDK takes a noticeable time to import.
_ADAPTER_CLASSES = {
    "anthropic": "conversations.providers.anthropic.AnthropicAdapter",
    "openai": "conversations.providers.openai.OpenAIAdapter",
    "google": "conversations.providers.google.GoogleAdapter",
    "mistral": "conversations.providers.mistral.MistralAdapter",
}

_adapters: dict[str, ChatAdapter] = {}
_lock = threading.Lock()


def get_adapter(provider: str) -> ChatAdapter:
    """The shared adapter for `provider`; raises ValueError for an unknown name."""
    adapter = _adapters.get(provider)
    if adapter is not None:
        return adapter
    if provider not in ALL_PROVIDERS:
        raise ValueError(f"Unknown AI provider {provider!r}; expected one of {ALL_PROVIDERS}.")
    with _lock:
        if provider not in _adapters:
            _adapters[provider] = _build(provider)
        return _adapters[provider]


def adapters_import() -> None:
    """Import every provider's SDK now. A server calls this at start: an import on first use takes
    seconds (anthropic alone builds hundreds of pydantic models) and blocks the event loop, so
    every conversation in flight would wait behind the first visitor of each provider."""
    for path in _ADAPTER_CLASSES.values():
        importlib.import_module(path.rsplit(".", 1)[0])


def provider_config(provider: str) -> ProviderConfig:
    base_urls = getattr(settings, "CHATDIRECT_PROVIDER_BASE_URLS", None) or {}
    return ProviderConfig(
        base_url=base_urls.get(provider) or None,
        connect_timeout=float(getattr(settings, "CHATDIRECT_PROVIDER_CONNECT_TIMEOUT", 5.0)),
        read_timeout=float(getattr(settings, "CHATDIRECT_PROVIDER_READ_TIMEOUT", 60.0)),
    )


async def close_pools() -> None:
    """Closes the running loop's connections of every adapter built so far. For code that runs a
    short-lived loop (a Celery task through `async_to_sync`, a test) before the loop ends."""
    for adapter in list(_adapters.values()):
        pools = getattr(adapter, "pools", None)
        if pools is not None:
            await pools.aclose()


def reset_adapters() -> None:
    with _lock:
        _adapters.clear()


def _build(provider: str) -> ChatAdapter:
    if provider == DEMO_PROVIDER:
        from conversations.providers.demo import DemoAdapter

        # A small delay makes the demo stream visibly, like a real model, in `make run`.
        return DemoAdapter(delay=float(getattr(settings, "CHATDIRECT_DEMO_STREAM_DELAY", 0.0)))
    module_name, class_name = _ADAPTER_CLASSES[provider].rsplit(".", 1)
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    return adapter_class(provider_config(provider))


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: object) -> None:
    if setting.startswith(("CHATDIRECT_PROVIDER_", "CHATDIRECT_DEMO_")):
        reset_adapters()
