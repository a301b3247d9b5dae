from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from chatdirect.tenancy import tenant_view
from conversations.selectors import conversation_get, conversation_list_for_portal, message_list
from portal.forms import ConversationFilterForm

PAGE_SIZE = 25


@require_GET
@tenant_view()
def conversation_list(request: HttpRequest) -> HttpResponse:
    filters = ConversationFilterForm(request.GET)
    values = filters.cleaned_data if filters.is_valid() else {}
    conversations = conversation_list_for_portal(
        tenant=request.tenant, status=values.get("status") or None, search=values.get("q") or None
    )
    page = Paginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/conversations/list.html",
        {
            "filters": filters,
            "page": page,
            "filtered": bool(values.get("status") or values.get("q")),
            "query": query.urlencode(),
        },
    )


@require_GET
@tenant_view()
def conversation_detail(request: HttpRequest, conversation_id) -> HttpResponse:
    conversation = conversation_get(tenant=request.tenant, conversation_id=conversation_id)
    return render(
        request,
        "portal/conversations/detail.html",
        {"conversation": conversation, "messages_list": message_list(conversation=conversation)},
    )
