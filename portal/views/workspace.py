from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from chatdirect.tenancy import tenant_view
from portal.forms import AllowedOriginsForm
from tenants.selectors import cap_usage, plan_list
from tenants.services import tenant_widget_update


@require_http_methods(["GET"])
@tenant_view(owner_only=True)
def plan(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/plan.html",
        {"usage": cap_usage(tenant=request.tenant), "plans": plan_list()},
    )


@require_http_methods(["GET", "POST"])
@tenant_view(owner_only=True)
def widget(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    form = AllowedOriginsForm(
        request.POST or None, initial={"allowed_origins": "\n".join(tenant.allowed_origins)}
    )
    if request.method == "POST" and form.is_valid():
        try:
            tenant_widget_update(
                tenant=tenant, allowed_origins=form.cleaned_data["allowed_origins"]
            )
        except ValidationError as error:
            form.add_error(
                "allowed_origins", error.message_dict.get("allowed_origins", error.messages)
            )
        else:
            messages.success(request, "Allowed websites saved. The widget accepts them right away.")
            return redirect("portal:widget")
    public_url = settings.CHATDIRECT_PUBLIC_URL.rstrip("/")
    snippet = (
        f'<script src="{public_url}/static/widget/chatdirect.js" '
        f'data-widget-id="{tenant.widget_id}" async></script>'
    )
    return render(
        request,
        "portal/widget.html",
        {
            "form": form,
            "snippet": snippet,
            "preview_url": f"{reverse('demo-site')}?tenant={tenant.slug}",
        },
    )
