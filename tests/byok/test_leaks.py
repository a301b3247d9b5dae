"""Sentinel leak test: a key entered through the service or the admin form must not show up anywhere.

Anywhere means: any column of any table (the sealed record holds ciphertext only), any log line at
DEBUG, any admin page, and the DEBUG error page of a request that failed while holding the key.
"""

import logging
import secrets
import string

import pytest
from django.db import connection

from byok.models import KeyAuditEvent, ProviderCredential
from byok.redaction import RedactingFilter
from byok.services import credential_reveal_for_call, credential_set
from tests.fakes.provider_server import FakeProviderServer

pytestmark = pytest.mark.django_db

KEY_SAFE_FILTER = "byok.error_reports.KeySafeExceptionReporterFilter"

_ALPHABET = string.ascii_letters + string.digits


def _sentinel() -> str:
    return "sk-ant-SENTINEL" + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def _fragments(sentinel: str) -> list[str]:
    # The whole key, and its random middle: the hint legitimately carries the last four characters.
    return [sentinel, sentinel[len("sk-ant-SENTINEL") : -4]]


@pytest.fixture
def providers(settings):
    with FakeProviderServer() as server:
        settings.CHATDIRECT_PROVIDER_BASE_URLS = {
            name: server.url(name) for name in ("anthropic", "openai", "google", "mistral")
        }
        yield server


class _Capture(logging.Handler):
    def __init__(self, *, redacting: bool) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        if redacting:
            self.addFilter(RedactingFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_logs():
    """Every logger at DEBUG into a handler configured like settings.LOGGING's (with redaction)."""
    handler = _Capture(redacting=True)
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    saved = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        if logger is logging.getLogger() or not logger.propagate:
            logger.addHandler(handler)
    yield handler
    for logger, level in saved:
        logger.setLevel(level)
        logger.removeHandler(handler)


def _assert_absent(text: str, sentinels: list[str], where: str) -> None:
    for sentinel in sentinels:
        for fragment in _fragments(sentinel):
            assert fragment not in text, f"key material found in {where}"


def _database_dump() -> list[tuple[str, str]]:
    """(table, text of one column value) for every value of every table, read with raw SQL."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("latin-1")
                    values.append((table, str(value)))
    return values


def _tenant_change_post(client, tenant, **key_fields) -> dict:
    """The tenant change form exactly as the admin page renders it, plus the given key fields."""
    url = f"/admin/tenants/tenant/{tenant.pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[f"{inline.formset.prefix}-{name}"] = management[name].value()
    data.update(key_fields)
    return data


def _admin_pages(client, tenant) -> dict[str, str]:
    credential_pks = list(ProviderCredential.objects.values_list("pk", flat=True))
    urls = [
        "/admin/",
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        f"/admin/tenants/tenant/{tenant.pk}/history/",
        "/admin/byok/providercredential/",
        "/admin/byok/keyauditevent/",
        "/admin/admin/logentry/",
        *[f"/admin/byok/providercredential/{pk}/change/" for pk in credential_pks],
        *[f"/admin/byok/providercredential/{pk}/delete/" for pk in credential_pks],
        *[
            f"/admin/byok/keyauditevent/{pk}/change/"
            for pk in KeyAuditEvent.objects.values_list("pk", flat=True)
        ],
    ]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 404), url  # LogEntry may not be registered
        pages[url] = response.content.decode()
    return pages


def test_sentinel_keys_leak_nowhere(client, superuser, tenant, providers, debug_logs):
    via_service, via_admin, refused = _sentinel(), _sentinel(), _sentinel()
    providers.add_key("anthropic", via_service)
    providers.add_key("anthropic", via_admin)
    sentinels = [via_service, via_admin, refused]

    credential_set(
        tenant=tenant,
        source="client",
        provider="anthropic",
        model="claude-haiku-4-5",
        api_key=via_service,
        actor=superuser,
    )
    client.force_login(superuser)
    saved = client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        _tenant_change_post(
            client,
            tenant,
            admin_key_provider="anthropic",
            admin_key_model="claude-haiku-4-5",
            admin_key=via_admin,
        ),
        follow=True,
    )
    refusal = client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        _tenant_change_post(
            client,
            tenant,
            admin_key_provider="anthropic",
            admin_key_model="claude-haiku-4-5",
            admin_key=refused,
        ),
        follow=True,
    )

    # The flows did what they should, so the absence checks below mean something.
    assert "Admin-managed key saved (sk-ant-…" in saved.content.decode()
    assert "The admin-managed key was not saved" in refusal.content.decode()
    admin_credential = ProviderCredential.objects.get(source="admin")
    with credential_reveal_for_call(credential=admin_credential) as api_key:
        assert api_key == via_admin
    assert KeyAuditEvent.objects.filter(action="failed_validation").count() == 1

    for where, html in [
        ("admin save response", saved.content.decode()),
        ("admin refusal response", refusal.content.decode()),
    ]:
        _assert_absent(html, sentinels, where)
    for url, html in _admin_pages(client, tenant).items():
        _assert_absent(html, sentinels, url)
        for sealed in ProviderCredential.objects.values_list("sealed_key", flat=True):
            assert sealed not in html, f"sealed record shown on {url}"
    for table, value in _database_dump():
        _assert_absent(value, sentinels, f"table {table}")
    assert debug_logs.lines, "the DEBUG capture saw nothing; it is not wired up"
    _assert_absent("\n".join(debug_logs.lines), sentinels, "DEBUG logs")


def test_error_page_of_a_request_holding_the_key_does_not_show_it(
    client, settings, superuser, tenant, providers, debug_logs
):
    sentinel = _sentinel()
    providers.add_key("anthropic", sentinel)
    client.force_login(superuser)
    data = _tenant_change_post(
        client,
        tenant,
        admin_key_provider="anthropic",
        admin_key_model="claude-haiku-4-5",
        admin_key=sentinel,
    )
    # The operator forgot the vault keyring: sealing fails after the key has travelled through the
    # form, the admin and the service, with the key in their local variables.
    settings.DEBUG = True
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = KEY_SAFE_FILTER
    settings.CHATDIRECT_VAULT_KEYS = ""
    client.raise_request_exception = False

    response = client.post(f"/admin/tenants/tenant/{tenant.pk}/change/", data)

    html = response.content.decode()
    assert response.status_code == 500
    assert "VaultConfigurationError" in html and "Local vars" in html  # the DEBUG technical page
    assert "admin_key" in html  # the POST parameter is listed, masked
    _assert_absent(html, [sentinel], "DEBUG error page")
    _assert_absent("\n".join(debug_logs.lines), [sentinel], "DEBUG logs")
    assert not ProviderCredential.objects.exists()


def test_settings_install_the_key_safe_error_report_filter(settings):
    # Django's stock filter ignores sensitive_variables whenever DEBUG is on.
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == KEY_SAFE_FILTER


def test_error_reports_redact_key_shaped_values_that_no_decorator_covers(rf, settings):
    from django.views.debug import ExceptionReporter

    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = KEY_SAFE_FILTER
    sentinel = _sentinel()

    def provider_call(headers):
        raise RuntimeError("provider failed")

    try:
        provider_call({"x-api-key": sentinel, "note": f"key was {sentinel}"})
    except RuntimeError as exc:
        reporter = ExceptionReporter(rf.get("/"), type(exc), exc, exc.__traceback__)
        html, text = reporter.get_traceback_html(), reporter.get_traceback_text()

    _assert_absent(html + text, [sentinel], "error report")
    assert "[redacted]" in html
