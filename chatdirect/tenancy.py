"""The one place the portal learns which tenant a request acts for, after checking membership."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from tenants.models import Membership
from tenants.selectors import membership_get, tenant_list_for_user

SESSION_TENANT_KEY = "chatdirect_tenant_id"


def membership_for_request(request) -> Membership | None:
    tenant_id = request.session.get(SESSION_TENANT_KEY)
    membership = membership_get(user=request.user, tenant_id=tenant_id) if tenant_id else None
    if membership is None:
        tenants = tenant_list_for_user(user=request.user)
        if not tenants:
            return None
        membership = membership_get(user=request.user, tenant_id=tenants[0].pk)
        request.session[SESSION_TENANT_KEY] = tenants[0].pk
    return membership


def tenant_view(*, owner_only: bool = False):
    """Decorate a portal view: sign-in, membership, and role are checked here and nowhere else.

    Sets request.tenant and request.membership. Users without any membership get a 404 rather than
    a hint that the portal exists for someone else; agents get 403 on owner pages.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for_request(request)
            if membership is None:
                raise Http404("No workspace for this account.")
            if owner_only and membership.role != Membership.Role.OWNER:
                raise PermissionDenied("Only owners can change this.")
            request.membership = membership
            request.tenant = membership.tenant
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
