"""What each provider's API looks like on the wire: routes, key placement, bodies, errors.

Shapes follow the real services (and what the installed SDKs parse), so that product code which
works against the fake also copes with the real thing. Every provider is served under its own path
prefix on one server; the paths below are relative to that prefix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# -- shared plumbing -------------------------------------------------------------------------


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def bearer_token(headers: dict[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


@dataclass
class Route:
    endpoint: str  # "chat" | "count_tokens" | "models" | "model"
    model: str | None = None  # when the model is named by the path
    api_version: str | None = None  # google only
    stream: bool = False  # when the path itself decides (google)


@dataclass
class ErrorReply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None


@dataclass
class RequestContext:
    """What an error or a reply may need to mention about the request."""

    method: str
    path: str
    key: str | None = None
    model: str | None = None
    route: Route | None = None
    request_id: str = ""
    retry_after: float = 1.0


@dataclass
class Completion:
    model: str
    text: str
    deltas: list[str]
    usage: dict
    response_id: str
    created: int
    body: dict


@dataclass
class StreamParts:
    """A reply stream split where ``stream_cut`` needs to know the boundaries."""

    head: list[bytes]
    deltas: list[bytes]
    tail: list[bytes]


ERROR_KINDS = (
    "missing_key",
    "invalid_key",
    "forbidden",
    "rate_limited",
    "quota",
    "server_error",
    "overloaded",
    "model_not_found",
    "not_found",
    "bad_request",
)


class Provider:
    name: str = ""
    json_content_type = "application/json"
    sse_content_type = "text/event-stream; charset=utf-8"
    request_id_header: str | None = "x-request-id"

    def extract_key(
        self, headers: dict[str, str], query: dict[str, str]
    ) -> tuple[str | None, bool]:
        return bearer_token(headers), False

    def route(self, method: str, path: str) -> Route | None:
        raise NotImplementedError

    def request_model(self, route: Route, body: dict | None) -> str | None:
        if route.model is not None:
            return route.model
        if route.endpoint in ("chat", "count_tokens") and isinstance(body, dict):
            model = body.get("model")
            return model if isinstance(model, str) else None
        return None

    def is_stream(self, route: Route, body: dict | None) -> bool:
        return route.endpoint == "chat" and isinstance(body, dict) and body.get("stream") is True

    def error(self, kind: str, ctx: RequestContext) -> ErrorReply:
        raise NotImplementedError

    def completion(self, c: Completion) -> dict:
        raise NotImplementedError

    def stream(self, c: Completion) -> StreamParts:
        raise NotImplementedError

    def malformed_stream(self, c: Completion) -> list[bytes]:
        raise NotImplementedError

    def models_list(self, model_ids: list[str], created: int) -> dict:
        raise NotImplementedError

    def model_info(self, model_id: str, created: int) -> dict:
        raise NotImplementedError

    def count_tokens(self, input_tokens: int) -> dict:
        raise NotImplementedError

    def malformed_body(self) -> bytes:
        # Looks like the start of a real reply, so a parser gets well into it before failing.
        return b'{"id": "fake-malformed", "choices": [{"message": {"content": "Hel'  # no closing


def _retry_headers(ctx: RequestContext) -> dict[str, str]:
    return {"retry-after": _fmt_seconds(ctx.retry_after)}


# -- Anthropic ---------------------------------------------------------------------------------


class Anthropic(Provider):
    name = "anthropic"
    request_id_header = "request-id"

    def extract_key(self, headers, query):
        # anthropic>=2 sends api_key as a Bearer token; older clients and curl use x-api-key.
        return headers.get("x-api-key") or bearer_token(headers), False

    def route(self, method, path):
        if method == "POST" and path == "/v1/messages":
            return Route("chat")
        if method == "POST" and path == "/v1/messages/count_tokens":
            return Route("count_tokens")
        if method == "GET" and path == "/v1/models":
            return Route("models")
        if method == "GET" and path.startswith("/v1/models/") and path.count("/") == 3:
            return Route("model", model=path.rsplit("/", 1)[1])
        return None

    def _err(self, ctx, status, etype, message, headers=None, reason=None):
        body = {
            "type": "error",
            "error": {"type": etype, "message": message},
            "request_id": ctx.request_id,
        }
        return ErrorReply(status, body, headers or {}, reason)

    def error(self, kind, ctx):
        if kind == "missing_key":
            return self._err(ctx, 401, "authentication_error", "x-api-key header is required")
        if kind == "invalid_key":
            return self._err(ctx, 401, "authentication_error", "invalid x-api-key")
        if kind == "forbidden":
            return self._err(
                ctx,
                403,
                "permission_error",
                "Your API key does not have permission to use the specified resource.",
            )
        if kind == "rate_limited":
            return self._err(
                ctx,
                429,
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 50 requests "
                "per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits. "
                "You can see the response headers for current usage.",
                {**_retry_headers(ctx), "anthropic-ratelimit-requests-remaining": "0"},
            )
        if kind == "quota":
            return self._err(
                ctx,
                400,
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API. Please go to "
                "Plans & Billing to upgrade or purchase credits.",
            )
        if kind == "server_error":
            return self._err(ctx, 500, "api_error", "Internal server error")
        if kind == "overloaded":
            return self._err(ctx, 529, "overloaded_error", "Overloaded", reason="Overloaded")
        if kind == "model_not_found":
            return self._err(ctx, 404, "not_found_error", f"model: {ctx.model}")
        if kind == "not_found":
            return self._err(ctx, 404, "not_found_error", "Not found")
        return self._err(ctx, 400, "invalid_request_error", "Request body is not valid JSON")

    def completion(self, c):
        return {
            "id": c.response_id,
            "type": "message",
            "role": "assistant",
            "model": c.model,
            "content": [{"type": "text", "text": c.text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {**c.usage, "service_tier": "standard"},
        }

    @staticmethod
    def _event(name: str, data: dict | str) -> bytes:
        payload = data if isinstance(data, str) else dumps(data).decode()
        return f"event: {name}\ndata: {payload}\n\n".encode()

    def stream(self, c):
        u = c.usage
        start_usage = {**u, "output_tokens": min(1, u["output_tokens"])}
        message = {**self.completion(c), "content": [], "stop_reason": None, "usage": start_usage}
        head = [
            self._event("message_start", {"type": "message_start", "message": message}),
            self._event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            self._event("ping", {"type": "ping"}),
        ]
        deltas = [
            self._event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": d},
                },
            )
            for d in c.deltas
        ]
        tail = [
            self._event("content_block_stop", {"type": "content_block_stop", "index": 0}),
            self._event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    # Cumulative totals, as the real API sends them.
                    "usage": dict(u),
                },
            ),
            self._event("message_stop", {"type": "message_stop"}),
        ]
        return StreamParts(head, deltas, tail)

    def malformed_stream(self, c):
        parts = self.stream(c)
        broken = self._event(
            "content_block_delta",
            '{"type": "content_block_delta", "index": 0, "delta": {"type": "text_del',
        )
        return [*parts.head, broken, *parts.tail]

    def models_list(self, model_ids, created):
        data = [self.model_info(m, created) for m in model_ids]
        return {
            "data": data,
            "has_more": False,
            "first_id": model_ids[0] if model_ids else None,
            "last_id": model_ids[-1] if model_ids else None,
        }

    def model_info(self, model_id, created):
        return {
            "type": "model",
            "id": model_id,
            "display_name": model_id.replace("-", " ").title(),
            "created_at": "2025-01-01T00:00:00Z",
        }

    def count_tokens(self, input_tokens):
        return {"input_tokens": input_tokens}

    def malformed_body(self):
        return b'{"id": "msg_fake_malformed", "type": "message", "content": [{"type": "text", "text": "Hel'


# -- OpenAI ------------------------------------------------------------------------------------


def redact_openai_key(key: str) -> str:
    """OpenAI's own way of quoting a rejected key: a visible head and tail around asterisks."""
    head_len = 8 if key.startswith("sk-proj-") else (6 if len(key) >= 14 else 3)
    tail = key[-4:] if len(key) > head_len + 4 else ""
    stars = "*" * max(3, len(key) - head_len - len(tail))
    return f"{key[:head_len]}{stars}{tail}"


class OpenAI(Provider):
    name = "openai"

    def route(self, method, path):
        if method == "POST" and path == "/v1/chat/completions":
            return Route("chat")
        if method == "GET" and path == "/v1/models":
            return Route("models")
        if method == "GET" and path.startswith("/v1/models/") and path.count("/") == 3:
            return Route("model", model=path.rsplit("/", 1)[1])
        return None

    def _err(self, status, message, etype, code=None, headers=None, param=None):
        body = {"error": {"message": message, "type": etype, "param": param, "code": code}}
        return ErrorReply(status, body, headers or {})

    def error(self, kind, ctx):
        if kind == "missing_key":
            return self._err(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or "
                "as the password field (with blank username) if you're accessing the API from your "
                "browser and are prompted for a username and password. You can obtain an API key "
                "from https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
            )
        if kind == "invalid_key":
            # Echoes part of the key on purpose: the product has to scrub it before logging.
            return self._err(
                401,
                f"Incorrect API key provided: {redact_openai_key(ctx.key or '')}. You can find "
                "your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if kind == "forbidden":
            if ctx.model:
                return self._err(
                    403,
                    f"Project `proj_fake` does not have access to model `{ctx.model}`",
                    "invalid_request_error",
                    "model_not_found",
                )
            return self._err(
                403,
                "You have insufficient permissions for this operation. Missing scopes: "
                "api.model.read. Check that you have the correct role in your organization "
                "(Reader, Writer, Owner) and project (Member, Owner), and if you're using a "
                "restricted API key, that it has the necessary scopes.",
                "invalid_request_error",
            )
        if kind == "rate_limited":
            seconds = _fmt_seconds(ctx.retry_after)
            return self._err(
                429,
                f"Rate limit reached for {ctx.model or 'requests'} in organization org-fake on "
                f"requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in "
                f"{seconds}s. Visit https://platform.openai.com/account/rate-limits to learn more.",
                "requests",
                "rate_limit_exceeded",
                {
                    **_retry_headers(ctx),
                    "x-ratelimit-limit-requests": "3",
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": f"{seconds}s",
                },
            )
        if kind == "quota":
            return self._err(
                429,
                "You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, read the docs: "
                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                "insufficient_quota",
                "insufficient_quota",
            )
        if kind == "server_error":
            return self._err(
                500,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
            )
        if kind == "overloaded":
            return self._err(
                503, "The engine is currently overloaded, please try again later.", "server_error"
            )
        if kind == "model_not_found":
            return self._err(
                404,
                f"The model `{ctx.model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            )
        if kind == "not_found":
            return self._err(404, f"Invalid URL ({ctx.method} {ctx.path})", "invalid_request_error")
        return self._err(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you "
            "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but "
            "what was sent was not valid JSON.)",
            "invalid_request_error",
        )

    def completion(self, c):
        return {
            "id": c.response_id,
            "object": "chat.completion",
            "created": c.created,
            "model": c.model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": c.text,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": c.usage,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

    def _chunk(self, c: Completion, delta: dict, finish_reason=None, with_usage_key=False) -> dict:
        chunk = {
            "id": c.response_id,
            "object": "chat.completion.chunk",
            "created": c.created,
            "model": c.model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if with_usage_key:
            chunk["usage"] = None
        return chunk

    @staticmethod
    def _data(obj: dict | str) -> bytes:
        payload = obj if isinstance(obj, str) else dumps(obj).decode()
        return f"data: {payload}\n\n".encode()

    def stream(self, c):
        options = c.body.get("stream_options") or {}
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        head = [
            self._data(
                self._chunk(
                    c, {"role": "assistant", "content": "", "refusal": None}, None, include_usage
                )
            )
        ]
        deltas = [self._data(self._chunk(c, {"content": d}, None, include_usage)) for d in c.deltas]
        tail = [self._data(self._chunk(c, {}, "stop", include_usage))]
        if include_usage:
            final = self._chunk(c, {}, None)
            final["choices"] = []
            final["usage"] = c.usage
            tail.append(self._data(final))
        tail.append(b"data: [DONE]\n\n")
        return StreamParts(head, deltas, tail)

    def malformed_stream(self, c):
        parts = self.stream(c)
        broken = self._data(
            '{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "choices": [{"delta": {"content": "Hel'
        )
        return [*parts.head, broken, *parts.tail]

    def models_list(self, model_ids, created):
        return {"object": "list", "data": [self.model_info(m, created) for m in model_ids]}

    def model_info(self, model_id, created):
        return {"id": model_id, "object": "model", "created": created, "owned_by": "system"}

    def count_tokens(self, input_tokens):  # pragma: no cover - OpenAI has no such endpoint
        raise NotImplementedError


# -- Mistral -----------------------------------------------------------------------------------


class Mistral(OpenAI):
    name = "mistral"
    json_content_type = "application/json"
    sse_content_type = "text/event-stream"

    def route(self, method, path):
        if method == "POST" and path == "/v1/chat/completions":
            return Route("chat")
        if method == "GET" and path == "/v1/models":
            return Route("models")
        if method == "GET" and path.startswith("/v1/models/") and path.count("/") == 3:
            return Route("model", model=path.rsplit("/", 1)[1])
        return None

    @staticmethod
    def _api_err(status, message, etype, code=None, headers=None):
        body = {"object": "error", "message": message, "type": etype, "param": None, "code": code}
        return ErrorReply(status, body, headers or {})

    def error(self, kind, ctx):
        if kind in ("missing_key", "invalid_key"):
            # Mistral's gateway answers both cases with the same bare body.
            return ErrorReply(401, {"detail": "Unauthorized"})
        if kind == "forbidden":
            return ErrorReply(403, {"detail": "Forbidden"})
        if kind == "rate_limited":
            return self._api_err(
                429, "Requests rate limit exceeded", "rate_limited", headers=_retry_headers(ctx)
            )
        if kind == "quota":
            return self._api_err(
                429,
                "Monthly usage limit exceeded. Raise your limits or upgrade your plan in the "
                "Mistral console.",
                "usage_limit_exceeded",
            )
        if kind == "server_error":
            return self._api_err(500, "Internal server error", "internal_server_error")
        if kind == "overloaded":
            return self._api_err(503, "Service unavailable, please try again later.", "unavailable")
        if kind == "model_not_found":
            if ctx.route is not None and ctx.route.endpoint == "model":
                return self._api_err(404, f"Model {ctx.model} not found", "not_found")
            # Chat with an unknown or unavailable model is a 400, not a 404, at Mistral.
            return self._api_err(400, f"Invalid model: {ctx.model}", "invalid_model", "1500")
        if kind == "not_found":
            return ErrorReply(404, {"detail": "Not Found"})
        return self._api_err(400, "Invalid JSON body", "invalid_request_error")

    def completion(self, c):
        return {
            "id": c.response_id,
            "object": "chat.completion",
            "model": c.model,
            "usage": c.usage,
            "created": c.created,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": c.text,
                        "tool_calls": None,
                        "prefix": False,
                    },
                    "finish_reason": "stop",
                }
            ],
        }

    def _mchunk(self, c: Completion, delta: dict, finish_reason=None, usage=None) -> dict:
        chunk = {
            "id": c.response_id,
            "object": "chat.completion.chunk",
            "created": c.created,
            "model": c.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        if usage is not None:
            chunk["usage"] = usage
        return chunk

    def stream(self, c):
        head = [self._data(self._mchunk(c, {"role": "assistant", "content": ""}))]
        deltas = [self._data(self._mchunk(c, {"content": d})) for d in c.deltas]
        # Mistral always puts usage on the chunk that carries finish_reason.
        tail = [
            self._data(self._mchunk(c, {"content": ""}, "stop", c.usage)),
            b"data: [DONE]\n\n",
        ]
        return StreamParts(head, deltas, tail)

    def malformed_stream(self, c):
        parts = self.stream(c)
        broken = self._data('{"id": "fake", "object": "chat.completion.chunk", "choices": [{"delta')
        return [*parts.head, broken, *parts.tail]

    def model_info(self, model_id, created):
        return {
            "id": model_id,
            "object": "model",
            "created": created,
            "owned_by": "mistralai",
            "capabilities": {
                "completion_chat": True,
                "function_calling": True,
                "completion_fim": False,
                "fine_tuning": False,
                "vision": False,
                "classification": False,
            },
            "name": model_id,
            "description": f"Fake {model_id}",
            "max_context_length": 131072,
            "aliases": [],
            "deprecation": None,
            "default_model_temperature": 0.3,
            "type": "base",
        }


# -- Google Gemini (Developer API) -------------------------------------------------------------

_GOOGLE_VERSIONS = ("v1", "v1beta", "v1alpha")
_GOOGLE_ACTION = re.compile(
    r"/(?P<ver>v1|v1beta|v1alpha)/models/(?P<model>[^/:]+):(?P<action>generateContent|streamGenerateContent|countTokens)"
)
_GOOGLE_MODEL = re.compile(r"/(?P<ver>v1|v1beta|v1alpha)/models/(?P<model>[^/:]+)")


class Google(Provider):
    name = "google"
    json_content_type = "application/json; charset=UTF-8"
    sse_content_type = "text/event-stream"
    request_id_header = None

    def extract_key(self, headers, query):
        header_key = headers.get("x-goog-api-key")
        url_key = query.get("key")
        return header_key or url_key, url_key is not None

    def route(self, method, path):
        m = _GOOGLE_ACTION.fullmatch(path)
        if m and method == "POST":
            action = m["action"]
            endpoint = "count_tokens" if action == "countTokens" else "chat"
            return Route(
                endpoint,
                model=m["model"],
                api_version=m["ver"],
                stream=action == "streamGenerateContent",
            )
        if method == "GET":
            for ver in _GOOGLE_VERSIONS:
                if path == f"/{ver}/models":
                    return Route("models", api_version=ver)
            m = _GOOGLE_MODEL.fullmatch(path)
            if m:
                return Route("model", model=m["model"], api_version=m["ver"])
        return None

    def is_stream(self, route, body):
        return route.stream

    @staticmethod
    def _err(code: int, status: str, message: str, details=None, headers=None) -> ErrorReply:
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if details:
            error["details"] = details
        return ErrorReply(code, {"error": error}, headers or {})

    def error(self, kind, ctx):
        if kind == "missing_key":
            return self._err(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if kind == "invalid_key":
            # Google really does answer a bad key with 400 INVALID_ARGUMENT, not 401.
            message = "API key not valid. Please pass a valid API key."
            return self._err(
                400,
                "INVALID_ARGUMENT",
                message,
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                        "metadata": {"service": "generativelanguage.googleapis.com"},
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                        "locale": "en-US",
                        "message": message,
                    },
                ],
            )
        if kind == "forbidden":
            return self._err(403, "PERMISSION_DENIED", "The caller does not have permission")
        if kind == "rate_limited":
            return self._err(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource has been exhausted (e.g. check quota).",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": f"{_fmt_seconds(ctx.retry_after)}s",
                    }
                ],
                _retry_headers(ctx),
            )
        if kind == "quota":
            return self._err(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details. "
                "For more information on this error, head to: "
                "https://ai.google.dev/gemini-api/docs/rate-limits.",
                [
                    {
                        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                        "violations": [
                            {
                                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                                "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                            }
                        ],
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.Help",
                        "links": [
                            {
                                "description": "Learn more about Gemini API quotas",
                                "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
                            }
                        ],
                    },
                ],
            )
        if kind == "server_error":
            return self._err(
                500,
                "INTERNAL",
                "An internal error has occurred. Please retry or report in "
                "https://developers.generativeai.google/guide/troubleshooting",
            )
        if kind == "overloaded":
            return self._err(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")
        if kind == "model_not_found":
            version = ctx.route.api_version if ctx.route else "v1beta"
            return self._err(
                404,
                "NOT_FOUND",
                f"models/{ctx.model} is not found for API version {version}, or is not supported "
                "for generateContent. Call ListModels to see the list of available models and "
                "their supported methods.",
            )
        if kind == "not_found":
            return self._err(404, "NOT_FOUND", f"Method not found: {ctx.method} {ctx.path}")
        return self._err(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")

    def _response(self, c: Completion, text: str, usage: dict, finished: bool) -> dict:
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": text}], "role": "model"},
            "index": 0,
        }
        if finished:
            candidate["finishReason"] = "STOP"
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": c.model,
            "responseId": c.response_id,
        }

    def completion(self, c):
        return self._response(c, c.text, c.usage, True)

    @staticmethod
    def _data(obj: dict | str) -> bytes:
        payload = obj if isinstance(obj, str) else dumps(obj).decode()
        return f"data: {payload}\r\n\r\n".encode()

    def stream(self, c):
        # Early chunks carry only the prompt count; the last one carries the full usage.
        partial = {
            k: v for k, v in c.usage.items() if k in ("promptTokenCount", "cachedContentTokenCount")
        }
        partial["totalTokenCount"] = c.usage["promptTokenCount"]
        pieces = c.deltas or [""]
        deltas = [self._data(self._response(c, d, partial, False)) for d in pieces[:-1]]
        tail = [self._data(self._response(c, pieces[-1], c.usage, True))]
        return StreamParts([], deltas, tail)

    def malformed_stream(self, c):
        parts = self.stream(c)
        broken = self._data('{"candidates": [{"content": {"parts": [{"text": "Hel')
        return [*parts.deltas[:1], broken]

    def models_list(self, model_ids, created):
        return {"models": [self.model_info(m, created) for m in model_ids]}

    def model_info(self, model_id, created):
        return {
            "name": f"models/{model_id}",
            "version": "001",
            "displayName": model_id.replace("-", " ").title(),
            "description": f"Fake {model_id}",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
            "temperature": 1.0,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2.0,
        }

    def count_tokens(self, input_tokens):
        return {"totalTokens": input_tokens}

    def malformed_body(self):
        return b'{"candidates": [{"content": {"parts": [{"text": "Hel'


PROVIDER_WIRES: dict[str, Provider] = {
    p.name: p for p in (Anthropic(), OpenAI(), Google(), Mistral())
}
