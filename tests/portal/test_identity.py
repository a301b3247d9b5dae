"""The Identity tab: the bot's identity, and in client key mode the tenant's own AI key."""

import pytest

from byok.models import KeyAuditEvent, KeySource, ProviderCredential
from byok.services import credential_set
from conversations.selectors import bot_identity_get
from tenants.models import Tenant

pytestmark = pytest.mark.django_db

KEY = "sk-ant-api03-portal-identity-test-000000000Kq9z"


@pytest.fixture
def client_tenant(tenant, provider_urls):
    Tenant.objects.filter(pk=tenant.pk).update(api_key_mode=Tenant.ApiKeyMode.CLIENT)
    tenant.refresh_from_db()
    provider_urls.add_key("anthropic", KEY)
    return tenant


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _save_key(client, *, key=KEY, provider="anthropic", model="claude-haiku-4-5", **extra):
    return client.post(
        "/portal/identity/provider/",
        {"provider": provider, "model": model, "api_key": key, **extra},
        follow=True,
    )


def test_bot_identity_is_saved_through_the_form(owner_client, tenant):
    response = owner_client.post(
        "/portal/identity/",
        {
            "name": "Maple",
            "avatar_url": "https://cdn.example.com/maple.png",
            "accent_color": "#0f766e",
            "greeting": "Bonjour !",
            "instructions": "Be brief. Never promise refunds.",
            "language": "fr",
        },
        follow=True,
    )
    identity = bot_identity_get(tenant=tenant)
    assert (identity.name, identity.language, identity.accent_color) == ("Maple", "fr", "#0f766e")
    assert identity.instructions == "Be brief. Never promise refunds."
    assert "Bot identity saved" in response.content.decode()


def test_bot_identity_errors_are_shown_next_to_the_field(owner_client, tenant):
    response = owner_client.post(
        "/portal/identity/",
        {"name": "", "accent_color": "blue", "greeting": "Hi", "language": "en"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "This field is required." in html and "Use a colour such as #2563eb." in html
    assert not bot_identity_get(tenant=tenant).pk


def test_platform_mode_has_no_provider_section(owner_client, tenant, provider_urls):
    html = owner_client.get("/portal/identity/").content.decode()
    assert "Your AI provider" not in html and 'name="api_key"' not in html
    assert owner_client.post("/portal/identity/provider/", {"api_key": KEY}).status_code == 404
    assert not provider_urls.requests


def test_admin_mode_says_only_that_the_administrator_manages_it(
    owner_client, tenant, provider_urls
):
    admin_key = "sk-ant-api03-admin-managed-key-0000000000ADM9"
    provider_urls.add_key("anthropic", admin_key)
    credential_set(
        tenant=tenant,
        source=KeySource.ADMIN,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=admin_key,
        actor=None,
    )
    Tenant.objects.filter(pk=tenant.pk).update(api_key_mode=Tenant.ApiKeyMode.ADMIN)

    html = owner_client.get("/portal/identity/").content.decode()

    assert "managed by your administrator" in html
    for absent in ("ADM9", "Anthropic", "claude", 'name="api_key"', "Key history"):
        assert absent not in html
    assert owner_client.post("/portal/identity/provider/test/").status_code == 404
    assert owner_client.post("/portal/identity/provider/remove/").status_code == 404
    assert ProviderCredential.objects.filter(source=KeySource.ADMIN).exists()


def test_client_mode_offers_claude_haiku_first_and_says_the_cap_applies(
    owner_client, client_tenant
):
    response = owner_client.get("/portal/identity/")
    form = response.context["key_form"]
    html = response.content.decode()
    assert form["provider"].value() == "anthropic"
    assert form["model"].value() == "claude-haiku-4-5"
    assert "platform key answers and your plan's cap of 1,000 conversations" in html
    assert 'type="password"' in html and 'hx-get="/portal/identity/provider/models/"' in html


def test_a_standard_plan_is_offered_standard_models_only(owner_client, client_tenant, plan_starter):
    Tenant.objects.filter(pk=client_tenant.pk).update(plan=plan_starter)
    form = owner_client.get("/portal/identity/").context["key_form"]
    assert "anthropic" not in dict(form.fields["provider"].choices)
    assert form["provider"].value() == "openai"
    assert dict(form.fields["model"].choices) == {"gpt-4o-mini": "GPT-4o mini"}

    refused = _save_key(owner_client, provider="openai", model="gpt-4o", key="sk-proj-x" * 4)
    assert "Select a valid choice" in refused.content.decode()
    assert not ProviderCredential.objects.exists()


def test_a_working_key_is_saved_shown_masked_and_audited(owner_client, client_tenant, owner):
    response = _save_key(owner_client)
    html = response.content.decode()

    credential = ProviderCredential.objects.get(tenant=client_tenant, source=KeySource.CLIENT)
    assert (credential.provider, credential.model, credential.status) == (
        "anthropic",
        "claude-haiku-4-5",
        "valid",
    )
    assert response.redirect_chain[-1][0] == "/portal/identity/#ai-provider"
    assert "Anthropic accepted your key sk-ant-…Kq9z" in html
    assert "Claude Haiku 4.5" in html and "Working" in html and "Test again" in html
    assert "your plan's monthly conversation cap does not apply" in html
    assert KEY not in html and KEY[7:-4] not in html
    history = response.context["key_history"]
    assert [(e.action, e.hint, e.actor) for e in history] == [("set", "sk-ant-…Kq9z", owner)]


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        (lambda fake: None, "Anthropic did not accept this API key"),
        (
            lambda fake: fake.add_key("anthropic", KEY, quota_exhausted=True),
            "no quota or credit left",
        ),
        (
            lambda fake: fake.add_key("anthropic", KEY, models=["claude-sonnet-4-5"]),
            "accepted this key, but it may not use the model claude-haiku-4-5",
        ),
    ],
    ids=["invalid", "no-quota", "model-not-available"],
)
def test_a_refused_key_is_explained_in_plain_words_and_not_saved(
    owner_client, client_tenant, provider_urls, setup, says
):
    provider_urls.reset()
    setup(provider_urls)
    response = _save_key(owner_client)
    html = response.content.decode()

    assert response.status_code == 200
    assert says in html, html[html.find("key-error") - 50 : html.find("key-error") + 400]
    assert KEY not in html and 'value="sk-ant' not in html
    assert not ProviderCredential.objects.exists()
    assert KeyAuditEvent.objects.get().action == "failed_validation"


def test_an_unreachable_provider_is_said_so(owner_client, client_tenant, settings):
    # Nothing listens on the discard port: the connection is refused at once.
    settings.CHATDIRECT_PROVIDER_BASE_URLS = {"anthropic": "http://127.0.0.1:9"}
    html = _save_key(owner_client).content.decode()
    assert "could not be reached to check this key" in html
    assert not ProviderCredential.objects.exists()


def test_a_model_of_another_provider_is_refused_before_any_call(
    owner_client, client_tenant, provider_urls
):
    html = _save_key(owner_client, model="gpt-4o").content.decode()
    assert "Select a valid choice" in html
    assert not provider_urls.requests


def test_the_model_list_follows_the_provider(owner_client, client_tenant):
    response = owner_client.get("/portal/identity/provider/models/", {"provider": "mistral"})
    html = response.content.decode()
    assert html.strip().startswith('<select name="model"') and 'id="id_model"' in html
    assert "mistral-small-latest" in html and "claude" not in html


def test_without_javascript_the_model_list_reloads_without_checking_a_key(
    owner_client, client_tenant, provider_urls
):
    response = owner_client.post(
        "/portal/identity/provider/",
        {
            "provider": "google",
            "model": "claude-haiku-4-5",
            "api_key": KEY,
            "intent": "show-models",
        },
    )
    form = response.context["key_form"]
    assert form["provider"].value() == "google"
    assert {value for value, _ in form.fields["model"].choices} == {
        "gemini-2.0-flash",
        "gemini-2.5-flash",
    }
    assert KEY not in response.content.decode()
    assert not provider_urls.requests


def test_test_again_reports_a_key_the_provider_no_longer_accepts(
    owner_client, client_tenant, provider_urls
):
    _save_key(owner_client)
    provider_urls.reset()  # the provider forgot our key: revoked

    html = owner_client.post("/portal/identity/provider/test/", follow=True).content.decode()

    assert (
        "Anthropic reports a problem with your key sk-ant-…Kq9z: rejected by the provider" in html
    )
    assert "Rejected by the provider" in html
    assert "Your Anthropic API key is failing" in html  # the banner
    assert "platform key answers" in html


def test_test_again_confirms_a_working_key(owner_client, client_tenant):
    _save_key(owner_client)
    html = owner_client.post("/portal/identity/provider/test/", follow=True).content.decode()
    assert "It works." in html


def test_replacing_a_key_keeps_one_credential_and_audits_it(
    owner_client, client_tenant, provider_urls
):
    _save_key(owner_client)
    other = "sk-proj-portal-replacement-0000000000000R3pl"
    provider_urls.add_key("openai", other)
    html = _save_key(
        owner_client, provider="openai", model="gpt-4o-mini", key=other
    ).content.decode()
    credential = ProviderCredential.objects.get()
    assert (credential.provider, credential.hint) == ("openai", "sk-proj-…R3pl")
    assert "Key replaced" in html and "Key set" in html


def test_removing_the_key_brings_back_the_platform_key_and_the_cap(owner_client, client_tenant):
    _save_key(owner_client)
    html = owner_client.post("/portal/identity/provider/remove/", follow=True).content.decode()
    assert not ProviderCredential.objects.exists()
    assert "Your key was removed" in html and "Key removed" in html
    assert 'data-testid="platform-note"' in html


def test_key_history_shows_client_events_only(owner_client, client_tenant, provider_urls):
    admin_key = "sk-ant-api03-admin-managed-key-0000000000ADM9"
    provider_urls.add_key("anthropic", admin_key)
    credential_set(
        tenant=client_tenant,
        source=KeySource.ADMIN,
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=admin_key,
        actor=None,
    )
    _save_key(owner_client)
    html = owner_client.get("/portal/identity/").content.decode()
    assert "sk-ant-…Kq9z" in html and "ADM9" not in html


def test_test_again_while_the_provider_is_down_says_to_retry(owner_client, client_tenant, settings):
    _save_key(owner_client)
    settings.CHATDIRECT_PROVIDER_BASE_URLS = {"anthropic": "http://127.0.0.1:9"}
    html = owner_client.post("/portal/identity/provider/test/", follow=True).content.decode()
    assert "Anthropic could not be reached to test your key sk-ant-…Kq9z" in html
    assert ProviderCredential.objects.get().status == "unreachable"


def test_the_identity_preview_shows_the_saved_bot(owner_client, client_tenant):
    from conversations.services import bot_identity_update

    bot_identity_update(
        tenant=client_tenant, name="Nora", greeting="Hi from Nora!", accent_color="#123456"
    )

    html = owner_client.get("/portal/identity/").content.decode()

    preview = html[html.index('class="bot-preview"') :]
    assert "--accent: #123456" in preview
    assert "<strong>Nora</strong>" in preview
    assert "Hi from Nora!" in preview
