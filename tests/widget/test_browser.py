"""The widget on a client's website and the live inbox, in Debian's Chromium through Playwright.

The app runs on uvicorn (websockets included) in a thread of this process; the client's page is
served from a different origin. Data is built before the browser starts and checked after it
closes (see tests/portal/test_browser.py for why the browser block keeps its hands off the ORM).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect, sync_playwright

from conversations.models import Conversation, Message, Visitor
from tenants.models import Membership, Plan, Tenant
from tenants.services import membership_set, tenant_create, user_create
from tests.widget.live import CHROMIUM, CHROMIUM_ARGS, host_page, running

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _screenshot(page, name: str) -> None:
    """Refresh the README's screenshots only when asked, so a test run leaves the tree clean."""
    if os.environ.get("CHATDIRECT_UPDATE_SCREENSHOTS"):
        page.screenshot(path=SCREENSHOTS / name)


XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold?</b>'


@pytest.fixture
def live(providers_on_fake, settings):
    settings.CHATDIRECT_PROVIDER_READ_TIMEOUT = 5.0
    with running() as (app, site):
        yield app, site, providers_on_fake


@contextlib.contextmanager
def chromium() -> Iterator:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            connections.close_all()
            browser.close()


def _context(browser, **kwargs) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, **kwargs)
    context.set_default_timeout(10_000)
    return context


def _shop(*, origin: str, mode: str = Tenant.ChatMode.AI, name: str = "Northwind Coffee") -> Tenant:
    from conversations.services.identity import bot_identity_update

    tenant = tenant_create(
        name=name,
        plan=Plan.objects.get(name="Pro"),
        chat_mode=mode,
        allowed_origins=[origin],
    )
    bot_identity_update(
        tenant=tenant,
        name="Bean",
        greeting="Hi! I'm Bean. Ask me about our coffee.",
        accent_color="#0f766e",
        avatar_url="",
        instructions="",
        language="en",
    )
    return tenant


def _agent(tenant: Tenant, username: str = "sam"):
    user = user_create(username=username, email=f"{username}@example.com", password="pw-agent-123!")
    user.first_name = "Sam"
    user.save(update_fields=["first_name"])
    membership_set(tenant=tenant, user=user, role=Membership.Role.AGENT)
    client = Client()
    client.force_login(user)
    return user, client.cookies[django_settings.SESSION_COOKIE_NAME].value


def _visit(context: BrowserContext, site, app, tenant: Tenant, **page_kwargs) -> Page:
    site.pages["/"] = host_page(app_url=app.url, widget_id=tenant.widget_id, **page_kwargs)
    page = context.new_page()
    page.goto(site.origin + "/")
    return page


def _widget(page: Page):
    return page.locator("chatdirect-widget")


def _open(page: Page):
    widget = _widget(page)
    widget.get_by_role("button", name="Open chat").click()
    panel = widget.get_by_role("dialog")
    expect(panel).to_be_visible()
    return panel


def _say(panel, text: str) -> None:
    panel.get_by_role("textbox", name="Message", exact=True).fill(text)
    panel.get_by_role("button", name="Send").click()


def test_a_visitor_chats_and_sees_the_reply_stream_in(live):
    app, site, fake = live
    fake.reply_text = (
        "Our house blend is a medium roast with notes of chocolate and hazelnut. "
        "We ship it fresh every Monday and Thursday."
    )
    fake.chunk_delay = 0.06
    tenant = _shop(origin=site.origin)

    with chromium() as browser:
        page = _visit(_context(browser), site, app, tenant)
        panel = _open(page)
        expect(panel.get_by_role("heading", name="Bean")).to_be_visible()
        expect(panel.get_by_text("Hi! I'm Bean. Ask me about our coffee.")).to_be_visible()
        expect(panel.get_by_role("textbox", name="Message", exact=True)).to_be_focused()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        _screenshot(page, "widget-open.png")

        _say(panel, "What's in your house blend?")
        streaming = panel.locator(".m-bot[aria-hidden=true]")
        expect(streaming).to_contain_text("Our house blend")
        partial = streaming.text_content()
        _screenshot(page, "widget-streaming.png")
        final = panel.locator(".m-bot:not([aria-hidden])").filter(has_text="Thursday")
        expect(final).to_have_text(fake.reply_text)
        expect(streaming).to_have_count(0)
        expect(panel.locator(".m-visitor")).to_have_text(["What's in your house blend?"])
        _screenshot(page, "widget-answered.png")

        # Escape closes and gives focus back to the launcher; the conversation survives a reload.
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(_widget(page).get_by_role("button", name="Open chat")).to_be_focused()
        page.reload()
        panel = _open(page)
        expect(panel.locator(".m-bot").filter(has_text="Thursday")).to_have_count(1)
        expect(panel.locator(".m-visitor")).to_have_count(1)

    assert 0 < len(partial) < len(fake.reply_text)
    assert Visitor.objects.filter(tenant=tenant).count() == 1
    assert list(Message.objects.values_list("author", flat=True)) == ["visitor", "bot"]


def test_hybrid_visitor_asks_for_a_person_and_an_agent_takes_over_live(live):
    app, site, fake = live
    fake.reply_text = "Happy to help with orders."
    tenant = _shop(origin=site.origin, mode=Tenant.ChatMode.HYBRID)
    _, session_cookie = _agent(tenant)

    with chromium() as browser:
        agent_context = _context(browser)
        agent_context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": app.url}]
        )
        inbox = agent_context.new_page()
        inbox.goto(f"{app.url}/portal/inbox/")
        expect(inbox.get_by_text("Live", exact=True)).to_be_visible()
        expect(inbox.get_by_text("1 agent online")).to_be_visible()

        page = _visit(_context(browser), site, app, tenant)
        panel = _open(page)
        _say(panel, "My order #1042 arrived damaged.")
        expect(panel.locator(".m-bot").filter(has_text="Happy to help")).to_be_visible()
        panel.get_by_role("button", name="Talk to a person").click()
        expect(panel.get_by_text("I've asked a member of our team to join")).to_be_visible()
        expect(panel.get_by_text("Waiting for a person to join…")).to_be_visible()

        thread = inbox.locator(".thread-link.queued")
        expect(thread).to_contain_text("Waiting for a person")
        expect(thread).to_contain_text("I've asked a member of our team")
        _screenshot(inbox, "inbox-queued.png")
        thread.click()
        expect(inbox.locator(".bubble-visitor")).to_contain_text("My order #1042 arrived damaged.")
        inbox.get_by_role("button", name="Take over").click()
        expect(panel.get_by_text("Sam joined the conversation.")).to_be_visible()
        expect(panel.get_by_text("You're chatting with Sam")).to_be_visible()
        expect(panel.get_by_role("button", name="Talk to a person")).to_be_hidden()
        inbox.get_by_label("Reply to the visitor").fill(
            "Sorry about that! I'm sending a new bag today."
        )
        inbox.get_by_label("Reply to the visitor").press("Enter")

        agent_message = panel.locator(".m-agent")
        expect(agent_message).to_contain_text("Sorry about that! I'm sending a new bag today.")
        expect(agent_message.locator(".who")).to_have_text("Sam")
        _say(panel, "Thank you so much!")
        expect(
            inbox.locator(".bubble-visitor").filter(has_text="Thank you so much!")
        ).to_be_visible()
        _screenshot(page, "widget-agent.png")
        _screenshot(inbox, "inbox-conversation.png")

        inbox.get_by_role("button", name="Hand back to bot").click()
        expect(
            panel.get_by_text("Sam handed the conversation back to the assistant.")
        ).to_be_visible()
        expect(panel.get_by_role("button", name="Talk to a person")).to_be_visible()

    conversation = Conversation.objects.get(tenant=tenant)
    assert conversation.handled_by == "bot"
    # The bot answered once before the hand-off and stayed silent while Sam had the conversation.
    assert Message.objects.filter(author="bot").count() == 1
    assert len(fake.requests_for("anthropic")) == 1


def test_a_website_that_is_not_allowed_is_refused(live):
    app, site, _ = live
    tenant = _shop(origin="https://northwind.example")

    with chromium() as browser:
        page = _visit(_context(browser), site, app, tenant)
        panel = _open(page)
        expect(panel.get_by_role("alert")).to_have_text(
            "This chat isn't available on this website."
        )
        expect(panel.get_by_role("textbox", name="Message", exact=True)).to_be_disabled()

    assert not Visitor.objects.exists()


def test_an_xss_payload_is_shown_as_text_to_visitor_and_agent(live):
    app, site, fake = live
    fake.reply_text = "Noted."
    tenant = _shop(origin=site.origin, mode=Tenant.ChatMode.HYBRID)
    _, session_cookie = _agent(tenant)

    with chromium() as browser:
        page = _visit(_context(browser), site, app, tenant)
        panel = _open(page)
        _say(panel, XSS)
        expect(panel.locator(".m-bot").filter(has_text="Noted.")).to_be_visible()

        agent_context = _context(browser)
        agent_context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": app.url}]
        )
        inbox = agent_context.new_page()
        inbox.goto(f"{app.url}/portal/inbox/")
        inbox.locator(".thread-link").first.click()
        expect(inbox.locator(".bubble-visitor")).to_contain_text(XSS)
        inbox.get_by_label("Reply to the visitor").fill(XSS)
        inbox.get_by_role("button", name="Send").click()
        expect(panel.locator(".m-agent")).to_contain_text(XSS)

        visitor_side = panel.locator(".m-visitor").text_content()
        injected = page.evaluate(
            "() => [window.__pwned, document.querySelector('chatdirect-widget')"
            ".shadowRoot.querySelectorAll('.log img, .log script, .log b').length]"
        )
        agent_injected = inbox.evaluate(
            "() => [window.__pwned, document.querySelectorAll('.inbox img, .inbox b').length]"
        )

    assert visitor_side == XSS
    assert injected == [None, 0]
    assert agent_injected == [None, 0]
    assert Message.objects.filter(author="agent", text=XSS).exists()


_MEASURE = """() => {
  const root = document.querySelector('chatdirect-widget').shadowRoot;
  const out = {};
  for (const selector of ['.launch', '.panel', 'header', 'h2', '.log', '.m-bot', 'textarea', '.go', '.hb']) {
    const node = root.querySelector(selector);
    if (!node) { out[selector] = null; continue; }
    const box = node.getBoundingClientRect();
    const style = getComputedStyle(node);
    out[selector] = {
      box: [box.x, box.y, box.width, box.height].map(Math.round),
      style: [style.fontSize, style.fontFamily, style.color, style.backgroundColor, style.display,
              style.lineHeight, style.padding, style.borderRadius],
    };
  }
  return out;
}"""


def test_the_host_pages_hostile_css_does_not_change_the_widget(live):
    app, site, _ = live
    tenant = _shop(origin=site.origin, mode=Tenant.ChatMode.HYBRID)
    site.pages["/hostile"] = host_page(
        app_url=app.url, widget_id=tenant.widget_id, hostile_css=True
    )

    with chromium() as browser:
        plain = _visit(_context(browser), site, app, tenant)
        _open(plain)
        hostile = _context(browser).new_page()
        hostile.goto(site.origin + "/hostile")
        _open(hostile)
        expect(
            hostile.locator("chatdirect-widget").get_by_role("button", name="Talk to a person")
        ).to_be_visible()
        for page in (plain, hostile):
            page.mouse.move(5, 5)  # no hover effect on the launcher
            page.wait_for_timeout(300)
        measured_plain, measured_hostile = plain.evaluate(_MEASURE), hostile.evaluate(_MEASURE)
        _screenshot(hostile, "widget-hostile-page.png")
        page_font = hostile.evaluate(
            "() => getComputedStyle(document.querySelector('h1')).fontSize"
        )

    assert page_font == "40px"  # the hostile CSS is in force on the page itself
    assert measured_plain[".panel"] is not None and measured_plain[".m-bot"] is not None
    assert measured_hostile == measured_plain


_NO_WEBSOCKETS = """
window.WebSocket = function () {
  // What a proxy that blocks websockets looks like from the page: the socket never opens.
  const socket = { send() {}, close() {} };
  setTimeout(() => socket.onclose && socket.onclose({ code: 1006 }), 20);
  return socket;
};
"""


@pytest.mark.parametrize("blocked", ["websockets", "websockets and event streams"])
def test_without_websockets_the_widget_falls_back_to_http(live, blocked):
    app, site, fake = live
    fake.reply_text = "Streamed over plain HTTP."
    fake.chunk_delay = 0.02
    tenant = _shop(origin=site.origin, mode=Tenant.ChatMode.HYBRID)
    _, session_cookie = _agent(tenant)

    with chromium() as browser:
        visitor_context = _context(browser)
        visitor_context.add_init_script(_NO_WEBSOCKETS)
        if blocked == "websockets and event streams":
            visitor_context.route("**/api/widget/v1/live", lambda route: route.abort())
        page = _visit(visitor_context, site, app, tenant)
        panel = _open(page)
        _say(panel, "Hello over HTTP")
        expect(panel.locator(".m-bot").filter(has_text="Streamed over plain HTTP.")).to_be_visible()

        agent_context = _context(browser)
        agent_context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": app.url}]
        )
        inbox = agent_context.new_page()
        inbox.goto(f"{app.url}/portal/inbox/")
        inbox.locator(".thread-link").first.click()
        inbox.get_by_label("Reply to the visitor").fill("Sam here, over the fallback.")
        inbox.get_by_role("button", name="Send").click()
        expect(panel.locator(".m-agent")).to_contain_text("Sam here, over the fallback.")
        expect(panel.locator(".m-visitor")).to_have_count(1)

    assert Message.objects.filter(author="visitor").count() == 1


def test_human_mode_with_nobody_online_offers_the_contact_form_in_french(live):
    from conversations.services.identity import bot_identity_update

    app, site, _ = live
    tenant = _shop(origin=site.origin, mode=Tenant.ChatMode.HUMAN, name="Boulangerie Lune")
    bot_identity_update(
        tenant=tenant, name="Lune", greeting="Bonjour ! Comment pouvons-nous aider ?", language="fr"
    )

    with chromium() as browser:
        page = _visit(_context(browser), site, app, tenant, lang="fr")
        widget = _widget(page)
        widget.get_by_role("button", name="Ouvrir le clavardage").click()
        panel = widget.get_by_role("dialog")
        expect(panel.get_by_text("Nous sommes absents. Laissez-nous un message.")).to_be_visible()
        expect(panel.get_by_label("Nom")).to_be_focused()
        panel.get_by_label("Nom").fill("Ana")
        panel.get_by_label("Courriel").fill("ana@example.com")
        panel.get_by_label("Message (facultatif)").fill("Avez-vous du pain sans gluten ?")
        _screenshot(page, "widget-contact-fr.png")
        panel.get_by_role("button", name="Envoyer mes coordonnées").click()
        expect(panel.get_by_text("Merci ! Nous vous recontacterons bientôt.")).to_be_visible()
        expect(panel.locator(".m-visitor")).to_have_text(["Avez-vous du pain sans gluten ?"])
        expect(panel.get_by_role("textbox", name="Message", exact=True)).to_be_focused()

    conversation = Conversation.objects.get(tenant=tenant)
    assert conversation.status == "pending" and conversation.visitor.email == "ana@example.com"


def test_the_demo_shop_embeds_the_widget_like_a_client(live):
    app, _, fake = live
    fake.reply_text = "Yes! Orders over $75 ship free anywhere in Canada."
    fake.chunk_delay = 0.03
    tenant = _shop(origin=app.url, mode=Tenant.ChatMode.HYBRID, name="Demo Pro")

    with chromium() as browser:
        page = _context(browser).new_page()
        page.goto(f"{app.url}/demo/?tenant={tenant.slug}")
        expect(
            page.get_by_role("heading", name="Handmade goods from a small Toronto workshop.")
        ).to_be_visible()
        panel = _open(page)
        _say(panel, "Is shipping free?")
        expect(panel.locator(".m-bot").filter(has_text="ship free")).to_be_visible()
        page.mouse.move(5, 5)
        _screenshot(page, "widget-demo-shop.png")


_TRACK_SOCKETS = """
const NativeWebSocket = window.WebSocket;
window.__sockets = [];
window.WebSocket = function (url, protocols) {
  const socket = new NativeWebSocket(url, protocols);
  window.__sockets.push(socket);
  return socket;
};
window.WebSocket.prototype = NativeWebSocket.prototype;
"""
_DROP_CONNECTION = "() => window.__sockets.forEach(socket => socket.close())"


def test_a_dropped_connection_loses_and_duplicates_nothing(live):
    app, site, fake = live
    fake.reply_text = (
        "Our espresso roast is dark, with notes of cocoa, caramel and toasted almonds."
    )
    fake.chunk_delay = 0.08
    tenant = _shop(origin=site.origin)

    with chromium() as browser:
        context = _context(browser)
        context.add_init_script(_TRACK_SOCKETS)
        page = _visit(context, site, app, tenant)
        panel = _open(page)
        # The connection drops while the reply is streaming in...
        _say(panel, "Tell me about the espresso roast")
        expect(panel.locator(".m-bot[aria-hidden=true]")).to_contain_text("espresso")
        page.evaluate(_DROP_CONNECTION)
        # ...and a message is written while it is down.
        _say(panel, "And the decaf?")
        expect(panel.locator(".m-bot").filter(has_text="toasted almonds.")).to_have_count(2)
        expect(panel.locator(".m-visitor")).to_have_text(
            ["Tell me about the espresso roast", "And the decaf?"]
        )
        expect(panel.locator(".m-visitor.wait")).to_have_count(0)
        expect(panel.locator(".m-bot[aria-hidden=true]")).to_have_count(0)
        sockets = page.evaluate("() => window.__sockets.length")

    assert sockets >= 2  # it reconnected
    # The first reply kept streaming into the database while the visitor was disconnected, so
    # the two exchanges may interleave; each message exists exactly once.
    assert sorted(Message.objects.values_list("author", flat=True)) == [
        "bot",
        "bot",
        "visitor",
        "visitor",
    ]
