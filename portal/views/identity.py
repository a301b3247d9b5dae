"""The Identity tab: how the bot presents itself and, in client key mode, the tenant's own AI key.

Every view that receives a key masks it in error reports (`sensitive_post_parameters`) and hides
its locals (`sensitive_variables`): the bound form holds the plaintext until the request ends.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from byok.models import KeySource, ProviderCredential
from byok.selectors import credential_get
from byok.services import credential_remove, credential_set, credential_verify
from chatdirect.errors import ChatDirectError
from chatdirect.tenancy import tenant_view
from conversations.routing import route_for
from conversations.selectors import bot_identity_get, model_catalog
from conversations.services import bot_identity_update
from conversations.services.identity import BOT_IDENTITY_FIELDS
from portal.forms import BotIdentityForm, ProviderKeyForm
from portal.selectors import client_key_history
from tenants.models import Tenant

PROVIDER_ANCHOR = "#ai-provider"


@require_http_methods(["GET", "POST"])
@tenant_view(owner_only=True)
def identity(request: HttpRequest) -> HttpResponse:
    form = BotIdentityForm(request.POST or None, instance=bot_identity_get(tenant=request.tenant))
    if request.method == "POST" and form.is_valid():
        bot_identity_update(
            tenant=request.tenant, **{name: form.cleaned_data[name] for name in BOT_IDENTITY_FIELDS}
        )
        messages.success(request, "Bot identity saved. Visitors see it from their next message.")
        return redirect("portal:identity")
    return _identity_page(request, identity_form=form)


@sensitive_post_parameters("api_key")
@require_POST
@tenant_view(owner_only=True)
@sensitive_variables()
def provider_save(request: HttpRequest) -> HttpResponse:
    tenant = _client_mode_tenant(request)
    catalog = _catalog(tenant)
    if request.POST.get("intent") == "show-models":
        # Without JavaScript the model list cannot follow the provider select; this submit button
        # reloads it for the chosen provider. The key, if typed already, is deliberately dropped.
        form = ProviderKeyForm(catalog=catalog, initial={"provider": request.POST.get("provider")})
        return _identity_page(request, key_form=form, replace_open=True)
    form = ProviderKeyForm(request.POST, catalog=catalog)
    if not form.is_valid():
        return _identity_page(request, key_form=form, replace_open=True)
    try:
        credential = credential_set(
            tenant=tenant,
            source=KeySource.CLIENT,
            provider=form.cleaned_data["provider"],
            model=form.cleaned_data["model"],
            api_key=form.cleaned_data["api_key"],
            actor=request.user,
        )
    except ChatDirectError as error:
        form.add_error(None, error.message)
        return _identity_page(request, key_form=form, replace_open=True)
    messages.success(
        request,
        f"{credential.get_provider_display()} accepted your key {credential.hint}. It is saved "
        "encrypted, and the next visitor message uses it.",
    )
    return redirect(reverse("portal:identity") + PROVIDER_ANCHOR)


@require_GET
@tenant_view(owner_only=True)
def provider_models(request: HttpRequest) -> HttpResponse:
    """The model select for one provider: swapped in by htmx when the provider changes."""
    tenant = _client_mode_tenant(request)
    form = ProviderKeyForm(
        catalog=_catalog(tenant), initial={"provider": request.GET.get("provider")}
    )
    return render(request, "portal/identity/_model_select.html", {"field": form["model"]})


@require_POST
@tenant_view(owner_only=True)
def provider_test(request: HttpRequest) -> HttpResponse:
    tenant = _client_mode_tenant(request)
    credential = credential_get(tenant=tenant, source=KeySource.CLIENT)
    if credential is None:
        messages.error(request, "There is no key to test. Save one first.")
        return redirect(reverse("portal:identity") + PROVIDER_ANCHOR)
    status = credential_verify(credential=credential, actor=request.user)
    label, hint = credential.get_provider_display(), credential.hint
    if status == ProviderCredential.Status.VALID:
        messages.success(request, f"{label} accepted your key {hint}. It works.")
    elif status == ProviderCredential.Status.UNREACHABLE:
        messages.warning(
            request, f"{label} could not be reached to test your key {hint}. Try again in a minute."
        )
    else:
        messages.error(
            request,
            f"{label} reports a problem with your key {hint}: "
            f"{credential.get_status_display().lower()}. {credential.status_detail}".strip(),
        )
    return redirect(reverse("portal:identity") + PROVIDER_ANCHOR)


@require_POST
@tenant_view(owner_only=True)
def provider_remove(request: HttpRequest) -> HttpResponse:
    tenant = _client_mode_tenant(request)
    if credential_remove(tenant=tenant, source=KeySource.CLIENT, actor=request.user):
        messages.success(
            request,
            "Your key was removed. ChatDirect's platform key and your plan's monthly cap apply "
            "from the next visitor message.",
        )
    return redirect(reverse("portal:identity") + PROVIDER_ANCHOR)


def _client_mode_tenant(request: HttpRequest) -> Tenant:
    # The key section exists only in client key mode; elsewhere its URLs do not exist either.
    if request.tenant.api_key_mode != Tenant.ApiKeyMode.CLIENT:
        raise Http404("This workspace's AI provider is not managed here.")
    return request.tenant


def _catalog(tenant: Tenant) -> list:
    return list(model_catalog(premium_allowed=tenant.plan.premium_models))


def _model_name(catalog: list, credential: ProviderCredential | None) -> str:
    if credential is None:
        return ""
    names = {(m.provider, m.model_id): m.display_name for m in catalog}
    return names.get((credential.provider, credential.model), credential.model)


def _identity_page(
    request: HttpRequest,
    *,
    identity_form: BotIdentityForm | None = None,
    key_form: ProviderKeyForm | None = None,
    replace_open: bool = False,
) -> HttpResponse:
    tenant = request.tenant
    saved_identity = bot_identity_get(tenant=tenant)
    context = {
        "identity_form": identity_form or BotIdentityForm(instance=saved_identity),
        # A separate instance: a bound form with errors has written its unsaved values into its own.
        "preview": bot_identity_get(tenant=tenant) if identity_form else saved_identity,
        "key_mode": tenant.api_key_mode,
    }
    if tenant.api_key_mode == Tenant.ApiKeyMode.CLIENT:
        catalog = _catalog(tenant)
        credential = credential_get(tenant=tenant, source=KeySource.CLIENT)
        initial = {"provider": credential.provider, "model": credential.model} if credential else {}
        context.update(
            credential=credential,
            credential_model_name=_model_name(catalog, credential),
            key_form=key_form or ProviderKeyForm(catalog=catalog, initial=initial),
            replace_open=replace_open,
            platform_pays=route_for(tenant=tenant).counts_toward_cap,
            key_history=client_key_history(tenant=tenant),
        )
    return render(request, "portal/identity/page.html", context)
