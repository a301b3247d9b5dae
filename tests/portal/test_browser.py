"""The portal in a real browser: Debian's Chromium driven by Playwright against the live server.

Never skipped: CI installs Chromium (.ci/run). The live server runs in a thread of this process, so
the fake provider server and the settings pointing at it are shared with it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

from byok.models import KeySource, ProviderCredential
from byok.services import credential_set
from conversations.models import Conversation
from tenants.models import Membership, Plan, Tenant
from tenants.services import membership_set, tenant_create, user_create
from tests.portal.conftest import PASSWORD, conversation_make
from tests.widget.live import CHROMIUM, CHROMIUM_ARGS

# Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test itself
# are still plain synchronous calls, so its async-safety guard does not apply.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    # The live server thread needs committed data; serialized_rollback keeps the seeded plans.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
KEY = "sk-ant-api03-browser-test-key-000000000000Wk7s"


@contextlib.contextmanager
def chromium_page() -> Iterator[Page]:
    """A fresh browser for one block of a test.

    While Playwright's loop runs, Django hands this thread a separate, context-local database
    connection (asgiref's thread-critical Local). So tests build their data before the block and
    check the database after it, and the block closes whatever connection it opened: otherwise the
    test database's flush and serialized restore would run on the wrong connection.
    """
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(15_000)
            yield context.new_page()
        finally:
            connections.close_all()
            browser.close()


def _workspace(*, mode: str = Tenant.ApiKeyMode.CLIENT, name: str = "Northwind Coffee") -> Tenant:
    tenant = tenant_create(
        name=name,
        plan=Plan.objects.get(name="Pro"),
        api_key_mode=mode,
        allowed_origins=["https://northwind.example"],
    )
    for username, role in (("olivia", Membership.Role.OWNER), ("arjun", Membership.Role.AGENT)):
        user = user_create(
            username=username, email=f"{username}@northwind.example", password=PASSWORD
        )
        membership_set(tenant=tenant, user=user, role=role)
    return tenant


def _sign_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/portal/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


def test_an_owner_saves_a_key_and_sees_it_validated_and_masked(live_server, provider_urls):
    tenant = _workspace()
    provider_urls.add_key("anthropic", KEY)

    with chromium_page() as page:
        _sign_in(page, live_server, "olivia")
        page.get_by_role("link", name="Identity").click()
        section = page.locator("#ai-provider")
        expect(section.get_by_text("Until a working key is saved")).to_be_visible()
        expect(section.get_by_label("Model")).to_have_value("claude-haiku-4-5")
        urls = []
        page.on("request", lambda request: urls.append(request.url))
        section.get_by_label("API key").fill(KEY)
        # htmx swaps the model list when the provider changes, and back; only the provider is
        # sent, so the key typed in the same form stays out of every URL.
        section.get_by_label("Provider").select_option("mistral")
        expect(section.get_by_label("Model").locator("option")).to_have_text(
            ["Mistral Small", "Mistral Large · premium"]
        )
        section.get_by_label("Provider").select_option("anthropic")
        expect(section.get_by_label("Model")).to_have_value("claude-haiku-4-5")
        assert any("provider=mistral" in url for url in urls)
        assert not any(KEY in url or "api_key" in url for url in urls)
        section.get_by_role("button", name="Check and save key").click()

        expect(
            page.get_by_role("status").filter(has_text="Anthropic accepted your key")
        ).to_contain_text("sk-ant-…Wk7s")
        expect(section.get_by_test_id("key-hint")).to_have_text("sk-ant-…Wk7s")
        expect(section.get_by_test_id("key-status")).to_have_text("Working")
        expect(section.get_by_role("button", name="Test again")).to_be_visible()
        expect(section.get_by_role("button", name="Remove")).to_be_visible()
        expect(section.get_by_text("Replace", exact=True)).to_be_visible()
        html = page.content()

    assert KEY not in html and KEY[7:-4] not in html
    credential = ProviderCredential.objects.get(tenant=tenant, source=KeySource.CLIENT)
    assert (credential.status, credential.model) == ("valid", "claude-haiku-4-5")


def test_an_invalid_key_shows_the_providers_problem_in_plain_words(live_server, provider_urls):
    _workspace()

    with chromium_page() as page:
        _sign_in(page, live_server, "olivia")
        page.goto(f"{live_server.url}/portal/identity/")
        section = page.locator("#ai-provider")
        section.get_by_label("API key").fill("sk-ant-api03-not-a-key-anyone-issued-000000")
        section.get_by_role("button", name="Check and save key").click()

        alert = section.get_by_role("alert")
        expect(alert).to_contain_text("Anthropic did not accept this API key")
        expect(alert).to_contain_text("Check that you copied the whole key")
        expect(section.get_by_label("API key")).to_have_value("")

    assert not ProviderCredential.objects.exists()


def test_an_agent_cannot_reach_the_identity_tab(live_server):
    _workspace()

    with chromium_page() as page:
        _sign_in(page, live_server, "arjun")
        nav = page.get_by_role("navigation", name="Portal")
        expect(nav.get_by_role("link", name="Conversations")).to_be_visible()
        expect(nav.get_by_role("link", name="Identity")).to_have_count(0)
        response = page.goto(f"{live_server.url}/portal/identity/")
        status, html = response.status, page.content()

    assert status == 403
    assert "API key" not in html


def test_in_admin_mode_the_key_section_is_absent(live_server, provider_urls):
    tenant = _workspace(mode=Tenant.ApiKeyMode.ADMIN)
    credential_set(
        tenant=tenant,
        source=KeySource.ADMIN,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=provider_urls.default_key("anthropic"),
        actor=None,
    )

    with chromium_page() as page:
        _sign_in(page, live_server, "olivia")
        page.goto(f"{live_server.url}/portal/identity/")
        expect(
            page.get_by_text("Your AI provider is managed by your administrator.")
        ).to_be_visible()
        expect(page.get_by_label("API key")).to_have_count(0)
        expect(page.get_by_label("Provider", exact=True)).to_have_count(0)
        expect(page.locator("select[name=provider], input[name=api_key]")).to_have_count(0)
        expect(page.get_by_text("Key history")).to_have_count(0)
        html = page.content()

    assert "sk-ant-" not in html


def _demo_conversations(tenant: Tenant) -> None:
    import datetime as dt

    from django.utils import timezone

    now = timezone.now()
    rows = [
        (
            "Emma Larsen",
            "emma@example.com",
            Conversation.Status.OPEN,
            "anthropic",
            "claude-haiku-4-5",
            True,
            3,
            [
                "Do you have oat milk at the Queen St. shop?",
                "Yes! All our shops carry oat and almond milk at no extra charge.",
            ],
        ),
        (
            "Noah Tremblay",
            "",
            Conversation.Status.PENDING,
            "anthropic",
            "claude-haiku-4-5",
            True,
            18,
            [
                "I was charged twice for my subscription.",
                "I'm sorry about that. I'll bring in someone from our team to sort out the refund.",
                "Thanks, I'll wait.",
            ],
        ),
        (
            "Sofia Rossi",
            "sofia.rossi@example.it",
            Conversation.Status.RESOLVED,
            "openai",
            "gpt-4o-mini",
            False,
            95,
            [
                "Can I order beans for delivery to Montréal?",
                "Absolutely. Delivery to Montréal takes 2–3 business days.",
                "Perfect, thank you!",
                "You're welcome, enjoy your coffee!",
            ],
        ),
        (
            "",
            "",
            Conversation.Status.RESOLVED,
            "anthropic",
            "claude-haiku-4-5",
            True,
            240,
            ["What are your opening hours on Sunday?", "On Sundays we're open from 8 am to 4 pm."],
        ),
        (
            "Liam Chen",
            "liam.chen@example.com",
            Conversation.Status.OPEN,
            "anthropic",
            "claude-sonnet-4-5",
            True,
            600,
            [
                "Do you cater office events?",
                "We do! Catering starts at 10 people. Would you like our menu?",
            ],
        ),
    ]
    for name, email, status, provider, model, counted, minutes, texts in rows:
        conversation_make(
            tenant=tenant,
            visitor_name=name,
            email=email,
            texts=texts,
            status=status,
            provider=provider,
            model=model,
            counted_toward_cap=counted,
            started=now - dt.timedelta(minutes=minutes),
        )


def test_screenshots_of_the_identity_tab_and_the_conversation_list(
    live_server, provider_urls, tmp_path
):
    """Taken on every run; written to docs/screenshots/ with CHATDIRECT_UPDATE_SCREENSHOTS=1."""
    tenant = _workspace()
    _demo_conversations(tenant)
    provider_urls.add_key("anthropic", KEY)
    credential_set(
        tenant=tenant,
        source=KeySource.CLIENT,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=KEY,
        actor=None,
    )
    from conversations.services import bot_identity_update

    bot_identity_update(
        tenant=tenant,
        name="Nora",
        accent_color="#9a3412",
        greeting="Hi! I'm Nora from Northwind Coffee. How can I help?",
        instructions="Warm and brief. Answer about our shops, menu, opening hours and deliveries. "
        "Never promise refunds: hand those to a person.",
    )
    out = SCREENSHOTS if os.environ.get("CHATDIRECT_UPDATE_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)

    with chromium_page() as page:
        _sign_in(page, live_server, "olivia")
        page.goto(f"{live_server.url}/portal/conversations/")
        expect(page.get_by_role("link", name="Emma Larsen")).to_be_visible()
        page.screenshot(path=str(out / "portal-conversations.png"), full_page=True)
        page.goto(f"{live_server.url}/portal/identity/")
        expect(page.get_by_test_id("key-status")).to_have_text("Working")
        page.screenshot(path=str(out / "portal-identity.png"), full_page=True)

    for name in ("portal-conversations.png", "portal-identity.png"):
        assert (out / name).stat().st_size > 10_000
