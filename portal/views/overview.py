from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from chatdirect.tenancy import SESSION_TENANT_KEY, tenant_view
from conversations.models import Conversation
from conversations.selectors import conversation_list_for_portal
from tenants.selectors import cap_usage, membership_get

RECENT_CONVERSATIONS = 5


@require_GET
@tenant_view()
def overview(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    conversations = conversation_list_for_portal(tenant=tenant)
    return render(
        request,
        "portal/overview.html",
        {
            "usage": cap_usage(tenant=tenant),
            "open_count": conversations.filter(status=Conversation.Status.OPEN).count(),
            "pending_count": conversations.filter(status=Conversation.Status.PENDING).count(),
            "recent": conversations[:RECENT_CONVERSATIONS],
        },
    )


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    try:
        tenant_id = int(request.POST.get("tenant_id", ""))
    except ValueError:
        raise Http404 from None
    if membership_get(user=request.user, tenant_id=tenant_id) is None:
        raise Http404
    request.session[SESSION_TENANT_KEY] = tenant_id
    return redirect("portal:overview")
