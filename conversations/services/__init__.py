"""Writes for conversations. A package because the chat engine alone is a module's worth."""

from conversations.services.handoff import (
    agent_reply_send,
    conversation_hand_back,
    conversation_handoff_request,
    conversation_resolve,
    conversation_take_over,
    visitor_contact_save,
)
from conversations.services.identity import bot_identity_update

__all__ = [
    "agent_reply_send",
    "bot_identity_update",
    "conversation_hand_back",
    "conversation_handoff_request",
    "conversation_resolve",
    "conversation_take_over",
    "visitor_contact_save",
]
