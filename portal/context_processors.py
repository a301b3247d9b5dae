from tenants.selectors import tenant_list_for_user


def portal(request) -> dict:
    """The tenant switcher needs every workspace of the signed-in user on every portal page."""
    if not request.path.startswith("/portal/") or not request.user.is_authenticated:
        return {}
    return {"user_tenants": tenant_list_for_user(user=request.user)}
