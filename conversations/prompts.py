"""What the bot is told, and what the visitor is told when the bot cannot answer."""

from __future__ import annotations

from conversations.models import BotIdentity
from conversations.providers.base import ChatMessage, ChatRequest, estimate_tokens
from tenants.models import Tenant

HISTORY_MESSAGES_MAX = 60
_LANGUAGE_NAMES = {"en": "English", "fr": "French"}


def system_prompt(*, tenant: Tenant, identity: BotIdentity) -> str:
    language = _LANGUAGE_NAMES.get(identity.language, "English")
    parts = [
        f"You are {identity.name}, the assistant on the website of {tenant.name}. "
        f"Answer visitors' questions helpfully and briefly. Reply in {language} unless the "
        "visitor writes in another language, then use theirs.",
    ]
    if identity.instructions.strip():
        parts.append("Instructions from the business:\n" + identity.instructions.strip())
    if tenant.chat_mode == Tenant.ChatMode.HYBRID:
        parts.append(
            "If you cannot help, or the visitor asks for a person, say that a member of the team "
            "can take over and that they can press 'Talk to a person'."
        )
    return "\n\n".join(parts)


def chat_request(
    *,
    tenant: Tenant,
    identity: BotIdentity,
    model: str,
    history: list[tuple[str, str]],
    context_window: int,
    max_output_tokens: int,
) -> ChatRequest:
    """The system prompt, then as much recent history as fits the model's input budget."""
    system = system_prompt(tenant=tenant, identity=identity)
    budget = context_window - max_output_tokens - estimate_tokens(system)
    kept: list[ChatMessage] = []
    for author, text in reversed(history):
        cost = estimate_tokens(text) + 4  # per-message framing overhead
        if cost > budget and kept:
            break
        budget -= cost
        role = "user" if author == "visitor" else "assistant"
        if kept and kept[0].role == role:
            # Providers expect alternating turns; merge consecutive ones from the same side.
            kept[0] = ChatMessage(role=role, text=f"{text}\n\n{kept[0].text}")
        else:
            kept.insert(0, ChatMessage(role=role, text=text))
    while kept and kept[0].role != "user":
        kept.pop(0)
    return ChatRequest(
        model=model, system=system, messages=tuple(kept), max_output_tokens=max_output_tokens
    )


def _language(tenant: Tenant) -> str:
    identity = BotIdentity.objects.filter(tenant=tenant).values_list("language", flat=True).first()
    return identity or "en"


_NOTICES = {
    "cap": {
        "en": "Thanks for your message! A member of our team will get back to you here as soon "
        "as possible. You can also leave your email so we can reply.",
        "fr": "Merci pour votre message ! Un membre de notre équipe vous répondra ici dès que "
        "possible. Vous pouvez aussi laisser votre courriel pour que nous vous répondions.",
    },
    "failed_handoff": {
        "en": "Sorry, I can't answer right now. I've asked a member of our team to join; "
        "they will reply here.",
        "fr": "Désolé, je ne peux pas répondre pour le moment. J'ai demandé à un membre de "
        "notre équipe de prendre le relais ; il vous répondra ici.",
    },
    "failed": {
        "en": "Sorry, I can't answer right now. Your message is saved; please try again in a "
        "moment.",
        "fr": "Désolé, je ne peux pas répondre pour le moment. Votre message est enregistré ; "
        "veuillez réessayer dans un instant.",
    },
}


def cap_reached_notice(*, tenant: Tenant) -> str:
    return _NOTICES["cap"][_language(tenant)]


def failure_notice(*, tenant: Tenant, handed_to_people: bool) -> str:
    return _NOTICES["failed_handoff" if handed_to_people else "failed"][_language(tenant)]
