"""Writes for conversations. A package because the chat engine alone is a module's worth."""

from conversations.services.identity import bot_identity_update

__all__ = ["bot_identity_update"]
