"""The client portal's views: parse, authorize (chatdirect.tenancy.tenant_view), call, render."""
