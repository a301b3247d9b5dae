"""Sentinel-key leak test through the portal's own form.

After an owner types a key into the Identity tab (accepted, refused, tested again), the key's text
must not appear in any portal page, any response header, any log line at DEBUG, or any database
column (the sealed column holds ciphertext only).
"""

from __future__ import annotations

import logging
import re
import secrets
import string

import pytest
from django.db import connection
from django.test import Client

from byok.models import ProviderCredential
from byok.services import credential_reveal_for_call
from tenants.models import Tenant
from tests.portal.test_tenant_isolation import _kwargs_for, _url, portal_patterns

pytestmark = pytest.mark.django_db

_ALPHABET = string.ascii_letters + string.digits


def _sentinel() -> str:
    return "sk-ant-SENTINEL" + "".join(secrets.choice(_ALPHABET) for _ in range(40))


def _fragments(sentinel: str) -> list[str]:
    # The whole key and its random middle: the hint legitimately shows the last four characters.
    return [sentinel, sentinel[len("sk-ant-SENTINEL") : -4]]


def _assert_absent(text: str, sentinels: list[str], where: str) -> None:
    for sentinel in sentinels:
        for fragment in _fragments(sentinel):
            assert fragment not in text, f"key material found in {where}"


@pytest.fixture
def every_log_line(caplog):
    """caplog at DEBUG on the root logger and on the loggers that do not propagate to it."""
    caplog.set_level(logging.DEBUG)
    detached = [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if not logging.getLogger(name).propagate
    ]
    saved = [(logger, logger.level) for logger in detached]
    for logger in detached:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(caplog.handler)
    yield caplog
    for logger, level in saved:
        logger.setLevel(level)
        logger.removeHandler(caplog.handler)


def _csrf_post(client: Client, page_url: str, action: str, data: dict):
    """Post the way a browser does: the CSRF token comes from the rendered form."""
    html = client.get(page_url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(action, {"csrfmiddlewaretoken": token, **data}, follow=True)


def _database_values() -> list[tuple[str, str]]:
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, memoryview | bytes):
                        value = bytes(value).decode("latin-1")
                    values.append((table, str(value)))
    return values


def test_a_key_entered_in_the_portal_leaks_nowhere(two_workspaces, provider_urls, every_log_line):
    _, b = two_workspaces
    accepted, refused = _sentinel(), _sentinel()
    provider_urls.add_key("anthropic", accepted)
    sentinels = [accepted, refused]
    client = Client(enforce_csrf_checks=True)
    client.force_login(b.owner)
    form = {"provider": "anthropic", "model": "claude-haiku-4-5"}

    responses = {
        "refusal": _csrf_post(
            client, "/portal/identity/", "/portal/identity/provider/", {**form, "api_key": refused}
        ),
        "save": _csrf_post(
            client, "/portal/identity/", "/portal/identity/provider/", {**form, "api_key": accepted}
        ),
        "test again": _csrf_post(
            client, "/portal/identity/", "/portal/identity/provider/test/", {}
        ),
    }

    # The flows did what they should, so the absence checks mean something.
    assert "Anthropic did not accept this API key" in responses["refusal"].content.decode()
    assert "Anthropic accepted your key sk-ant-…" in responses["save"].content.decode()
    assert "It works." in responses["test again"].content.decode()
    credential = ProviderCredential.objects.get(tenant=b.tenant, source="client")
    with credential_reveal_for_call(credential=credential) as api_key:
        assert api_key == accepted
    for _, route, pattern in portal_patterns():
        url = _url(route, _kwargs_for(pattern, b))
        responses[url] = client.get(url, {"provider": "anthropic"})
    for where, response in responses.items():
        _assert_absent(response.content.decode(errors="replace"), sentinels, f"page {where}")
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        _assert_absent(headers, sentinels, f"headers of {where}")
        for redirect_url, _ in getattr(response, "redirect_chain", []):
            _assert_absent(redirect_url, sentinels, f"redirect of {where}")
    for table, value in _database_values():
        _assert_absent(value, sentinels, f"table {table}")
    lines = [record.getMessage() for record in every_log_line.records]
    assert any("anthropic" in line for line in lines), "the log capture saw no provider call"
    _assert_absent("\n".join(lines), sentinels, "DEBUG logs")
    _assert_absent(every_log_line.text, sentinels, "DEBUG logs (formatted)")


def test_the_error_page_of_a_failed_save_masks_the_key(
    client, settings, tenant, owner, provider_urls
):
    sentinel = _sentinel()
    provider_urls.add_key("anthropic", sentinel)
    Tenant.objects.filter(pk=tenant.pk).update(api_key_mode=Tenant.ApiKeyMode.CLIENT)
    client.force_login(owner)
    # The operator forgot the vault keyring: sealing fails after the key travelled through the
    # form and the view, with the key in their locals and in the POST data.
    settings.DEBUG = True
    settings.CHATDIRECT_VAULT_KEYS = ""
    client.raise_request_exception = False

    response = client.post(
        "/portal/identity/provider/",
        {"provider": "anthropic", "model": "claude-haiku-4-5", "api_key": sentinel},
    )

    html = response.content.decode()
    assert response.status_code == 500 and "Local vars" in html
    assert "api_key" in html  # listed among the POST parameters, with stars
    _assert_absent(html, [sentinel], "the DEBUG error page")
    assert not ProviderCredential.objects.exists()
