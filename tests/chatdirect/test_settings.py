import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEYRING = "k1:" + base64.b64encode(b"x" * 32).decode()


def _start_production(**env_vars: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "CHATDIRECT_VAULT_KEYS", "DEBUG", "DATABASE_URL")
    }
    env.update({"CHATDIRECT_READ_ENV_FILE": "0", "DEBUG": "0", **env_vars})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "chatdirect.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_secret_key():
    result = _start_production(CHATDIRECT_VAULT_KEYS=GOOD_KEYRING)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_refuses_to_start_without_vault_keyring():
    result = _start_production(SECRET_KEY="s" * 50)

    assert result.returncode != 0
    assert "CHATDIRECT_VAULT_KEYS" in result.stderr


@pytest.mark.parametrize(
    "keyring",
    [
        "k1:" + base64.b64encode(b"x" * 31).decode(),  # 31 bytes: too short for AES-256 + HMAC
        "no-colon-here",
        "k1:%%%not-base64%%%",
    ],
)
def test_production_refuses_a_malformed_keyring(keyring):
    result = _start_production(SECRET_KEY="s" * 50, CHATDIRECT_VAULT_KEYS=keyring)

    assert result.returncode != 0
    assert "CHATDIRECT_VAULT_KEYS" in result.stderr
    assert keyring.split(":", 1)[-1] not in result.stderr


def test_production_starts_with_its_secrets():
    result = _start_production(SECRET_KEY="s" * 50, CHATDIRECT_VAULT_KEYS=GOOD_KEYRING)

    assert result.returncode == 0, result.stderr
