from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from chatdirect import health
from tenants.models import Tenant


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html")


@require_GET
def demo_site(request: HttpRequest) -> HttpResponse:
    """A stand-in for a client's website that embeds the widget exactly as a client would."""
    tenant = Tenant.objects.filter(slug=request.GET.get("tenant", "demo-pro")).first()
    return render(request, "demo_site.html", {"tenant": tenant})


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health.run_checks()
    healthy = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if healthy else 503,
    )
