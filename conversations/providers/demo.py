"""An offline stand-in provider for `make run` without any platform key.

It never calls a network, says plainly that it is a demo, and answers deterministically from the
bot's instructions and the visitor's last message, so the whole chat path can be tried end to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator

from conversations.providers.base import (
    ChatAdapter,
    ChatRequest,
    ChatResult,
    KeyCheck,
    TextDelta,
    TokenUsage,
    estimate_input_tokens,
    estimate_tokens,
)

DEMO_PREFIX = "[Demo bot — no AI provider configured]"

_GREETING = re.compile(r"^\s*(hi|hello|hey|bonjour|salut|good (morning|afternoon|evening))\b", re.I)
_HUMAN = re.compile(r"\b(human|agent|person|someone|representative)\b", re.I)
_FIRST_SENTENCE = re.compile(r"^(.+?[.!?])(\s|$)", re.S)
_INSTRUCTIONS_LIMIT = 160


class DemoAdapter(ChatAdapter):
    name = "demo"
    label = "Demo"

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay

    def __repr__(self) -> str:
        return f"<DemoAdapter delay={self.delay!r}>"

    async def stream(
        self, request: ChatRequest, *, api_key: str = ""
    ) -> AsyncIterator[TextDelta | ChatResult]:
        reply = demo_reply(request)
        words = reply.split(" ")
        shown = words[: max(1, request.max_output_tokens)]
        for index, word in enumerate(shown):
            # Yields to the loop between words even without a delay, like a real stream.
            await asyncio.sleep(self.delay)
            yield TextDelta(word if index == 0 else f" {word}")
        text = " ".join(shown)
        yield ChatResult(
            text=text,
            usage=TokenUsage(
                input_tokens=estimate_input_tokens(request), output_tokens=estimate_tokens(text)
            ),
            response_id="demo-" + hashlib.sha256(repr(request).encode()).hexdigest()[:16],
            model=request.model or "demo",
            finish_reason="stop" if len(shown) == len(words) else "length",
        )

    async def validate_key(self, api_key: str, model: str) -> KeyCheck:
        return KeyCheck(status="valid", message="The demo provider needs no key.")


def demo_reply(request: ChatRequest) -> str:
    last = next((m.text for m in reversed(request.messages) if m.role == "user"), "").strip()
    instructions = _instructions_summary(request.system)
    if not last:
        answer = "Ask me anything to try the chat."
    elif _GREETING.match(last):
        answer = "Hello! Thanks for trying the chat."
    elif _HUMAN.search(last):
        answer = "You can ask to talk to a person, and a team member will take over."
    else:
        answer = f"You asked: “{_clip(last, 200)}”. A real AI model would answer here."
    if instructions:
        answer += f" My instructions begin: “{instructions}”"
    return f"{DEMO_PREFIX} {answer}"


def _instructions_summary(system: str) -> str:
    system = " ".join(system.split())
    if not system:
        return ""
    match = _FIRST_SENTENCE.match(system)
    return _clip(match.group(1) if match else system, _INSTRUCTIONS_LIMIT)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
