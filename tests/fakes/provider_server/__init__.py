"""A fake LLM provider server on loopback that the real provider SDKs can talk to.

    from tests.fakes.provider_server import FakeProviderServer

    server = FakeProviderServer().start()          # 127.0.0.1, ephemeral port, background thread
    client = anthropic.Anthropic(api_key=server.default_key("anthropic"),
                                 base_url=server.url("anthropic"), max_retries=0)

One listener serves all four providers, each under its own path prefix. ``server.url(p)`` is the
exact base URL to give each SDK:

    anthropic  {base}/anthropic      Anthropic(base_url=...)            -> /v1/messages, /v1/models
    openai     {base}/openai/v1      OpenAI(base_url=...)  (keeps /v1)  -> /chat/completions, /models
    google     {base}/google         genai.Client(http_options=HttpOptions(base_url=...))
                                     -> /{v1|v1beta}/models/{m}:generateContent etc.
    mistral    {base}/mistral        Mistral(server_url=...)            -> /v1/chat/completions

Keys: ``DEFAULT_KEYS`` are accepted out of the box (and after ``reset()``); ``add_key`` adds more,
optionally restricted to some models or with the quota used up. Anything else is refused the way
the provider refuses it (Gemini: 400 API_KEY_INVALID).

Faults (``server.inject(provider, fault, times=1, retry_after=None, delay=None)``): see ``FAULTS``.

Usage is deterministic (see ``_usage``): input = words of all input text + 1 per message (a
system prompt counts as a message); output = words of the reply. ``server.usage_for(provider,
request_json)`` gives the exact usage object the fake sends.

Run ``python -m tests.fakes.provider_server --help`` for the standalone server.
"""

from ._server import (
    DEFAULT_KEYS,
    DEFAULT_MODELS,
    DEFAULT_REPLY_TEXT,
    FAULTS,
    FakeProviderServer,
    KeyConfig,
    RecordedRequest,
)
from ._usage import (
    PROVIDERS,
    compute_usage,
    count_input_tokens,
    count_output_tokens,
    split_deltas,
)
from ._wire import redact_openai_key

__all__ = [
    "DEFAULT_KEYS",
    "DEFAULT_MODELS",
    "DEFAULT_REPLY_TEXT",
    "FAULTS",
    "PROVIDERS",
    "FakeProviderServer",
    "KeyConfig",
    "RecordedRequest",
    "compute_usage",
    "count_input_tokens",
    "count_output_tokens",
    "redact_openai_key",
    "split_deltas",
]
