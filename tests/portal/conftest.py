"""Portal fixtures: two tenants with data, their people, and the fake providers wired in.

Conversations are built with a small factory on the models: the chat engine that normally writes
them is exercised in tests/conversations, and here only what the portal reads matters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from byok.models import KeySource
from byok.services import credential_set
from conversations.models import Conversation, Message, Visitor
from tenants.models import Membership, Tenant
from tenants.services import membership_set, user_create

PROVIDERS = ("anthropic", "openai", "google", "mistral")
PASSWORD = "pw-portal-123!"


@pytest.fixture
def provider_urls(settings, fake_providers):
    """Our provider adapters talk to the loopback fake for the duration of the test."""
    settings.CHATDIRECT_PROVIDER_BASE_URLS = {p: fake_providers.url(p) for p in PROVIDERS}
    return fake_providers


def conversation_make(
    *,
    tenant: Tenant,
    visitor_name: str,
    texts: list[str],
    email: str = "",
    status: str = Conversation.Status.OPEN,
    provider: str = "anthropic",
    model: str = "claude-haiku-4-5",
    counted_toward_cap: bool = True,
    started: dt.datetime | None = None,
) -> Conversation:
    """A conversation whose texts alternate visitor, bot, visitor, …"""
    visitor = Visitor.objects.create(tenant=tenant, name=visitor_name, email=email)
    conversation = Conversation.objects.create(
        tenant=tenant,
        visitor=visitor,
        mode=tenant.chat_mode,
        status=status,
        key_source="platform" if counted_toward_cap else "client",
        counted_toward_cap=counted_toward_cap,
        counted_period=timezone.localdate().replace(day=1),
    )
    for index, text in enumerate(texts):
        by_bot = index % 2 == 1
        Message.objects.create(
            tenant=tenant,
            conversation=conversation,
            author=Message.Author.BOT if by_bot else Message.Author.VISITOR,
            text=text,
            provider=provider if by_bot else "",
            model=model if by_bot else "",
        )
    if started is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            started=started, last_activity=started
        )
        conversation.refresh_from_db()
    return conversation


@dataclass
class Workspace:
    tenant: Tenant
    owner: object
    agent: object
    conversations: list[Conversation] = field(default_factory=list)
    key: str = ""
    hint: str = ""
    secrets: list[str] = field(default_factory=list)  # strings that must never show up elsewhere


def workspace_make(*, tenant_factory, letter: str, key: str, **tenant_kwargs) -> Workspace:
    tenant = tenant_factory(
        name=f"Zephyr{letter} Outfitters", api_key_mode=Tenant.ApiKeyMode.CLIENT, **tenant_kwargs
    )
    owner = user_create(
        username=f"owner{letter.lower()}", email=f"owner{letter}@example.com", password=PASSWORD
    )
    agent = user_create(
        username=f"agent{letter.lower()}", email=f"agent{letter}@example.com", password=PASSWORD
    )
    membership_set(tenant=tenant, user=owner, role=Membership.Role.OWNER)
    membership_set(tenant=tenant, user=agent, role=Membership.Role.AGENT)
    conversations = [
        conversation_make(
            tenant=tenant,
            visitor_name=f"Quillon{letter} Marbleworth",
            email=f"quillon{letter.lower()}@visitor.example",
            texts=[
                f"Where is parcel Glimmer{letter}Parcel?",
                f"Parcel Glimmer{letter}Parcel ships today.",
            ],
        ),
        conversation_make(
            tenant=tenant,
            visitor_name=f"Brisby{letter} Tallowfen",
            texts=[f"Can I return the Velvet{letter}Lantern?"],
            status=Conversation.Status.PENDING,
            counted_toward_cap=False,
        ),
    ]
    credential = credential_set(
        tenant=tenant,
        source=KeySource.CLIENT,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=key,
        actor=owner,
    )
    return Workspace(
        tenant=tenant,
        owner=owner,
        agent=agent,
        conversations=conversations,
        key=key,
        hint=credential.hint,
        secrets=[
            tenant.name,
            f"Quillon{letter} Marbleworth",
            f"Brisby{letter} Tallowfen",
            f"quillon{letter.lower()}@visitor.example",
            f"Glimmer{letter}Parcel",
            f"Velvet{letter}Lantern",
            credential.hint,
            tenant.widget_id,
        ],
    )


@pytest.fixture
def two_workspaces(tenant_factory, provider_urls):
    """Tenants A and B, each with people, conversations and a client key of its own."""
    key_a = "sk-ant-api03-tenant-a-key-0000000000000AAQ1"
    key_b = "sk-ant-api03-tenant-b-key-0000000000000BBZ7"
    provider_urls.add_key("anthropic", key_a)
    provider_urls.add_key("anthropic", key_b)
    a = workspace_make(tenant_factory=tenant_factory, letter="A", key=key_a)
    b = workspace_make(tenant_factory=tenant_factory, letter="B", key=key_b)
    return a, b


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The portal tests create several users each; the production hasher's work factor only slows them.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
