"""Cost of sealing and opening one provider key, and of the one-time key derivation.

Run: python bench/bench_vault.py [iterations]
Needs no database and no settings: it builds its own keyring.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from byok import redaction, vault  # noqa: E402

KEY = "sk-ant-api03-" + "x" * 95 + "AAAA"  # the length of a real Anthropic key
TENANT_ID = 42
PROVIDER = "anthropic"


def _median_us(fn, iterations: int) -> float:
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main(iterations: int = 20_000) -> dict[str, float]:
    keyring = vault.parse_keyring(vault.generate_keyring_entry("bench"))
    secret = keyring.secret_for("bench")

    derive_us = _median_us(lambda: vault.derive_keys(secret), 1_000)

    before_first_use = vault.derivation_count()
    record = vault.seal(KEY, tenant_id=TENANT_ID, provider=PROVIDER, keyring=keyring)
    assert vault.derivation_count() == before_first_use + 1, "first use must derive exactly once"

    seal_us = _median_us(
        lambda: vault.seal(KEY, tenant_id=TENANT_ID, provider=PROVIDER, keyring=keyring),
        iterations,
    )
    derived_before_open = vault.derivation_count()
    open_us = _median_us(
        lambda: vault.open_sealed(record, tenant_id=TENANT_ID, provider=PROVIDER, keyring=keyring),
        iterations,
    )
    derivations_while_opening = vault.derivation_count() - derived_before_open
    assert derivations_while_opening == 0, "opening re-derived keys"
    assert vault.open_sealed(record, tenant_id=TENANT_ID, provider=PROVIDER, keyring=keyring) == KEY

    plain_line = (
        "INFO conversations.engine reply sent tenant=42 conversation=981 tokens=312 in 1.8 s"
    )
    keyed_line = (
        f"WARNING provider call failed: Incorrect API key provided: {KEY[:8]}***{KEY[-4:]}."
    )
    with redaction.secret_registered(KEY):
        redact_plain_us = _median_us(lambda: redaction.redact(plain_line), iterations)
        redact_keyed_us = _median_us(lambda: redaction.redact(keyed_line), iterations)

    rows = [
        ("seal one key", f"{seal_us:8.1f} µs", f"median of {iterations:,}"),
        ("open one key", f"{open_us:8.1f} µs", f"median of {iterations:,}"),
        ("derive keys (once per key id)", f"{derive_us:8.1f} µs", "median of 1,000, HKDF x2"),
        ("derivations during opening", f"{derivations_while_opening:8d}", "must be 0"),
        ("redact a log line, no key", f"{redact_plain_us:8.1f} µs", "one key registered"),
        ("redact a log line with a key", f"{redact_keyed_us:8.1f} µs", "OpenAI 401 echo"),
    ]
    print(f"byok vault, AES-256-CBC + HMAC-SHA256, {len(KEY)}-char key")
    for name, value, note in rows:
        print(f"  {name:<30} {value:>12}   {note}")
    return {
        "seal_us": seal_us,
        "open_us": open_us,
        "derive_us": derive_us,
        "redact_plain_us": redact_plain_us,
        "redact_keyed_us": redact_keyed_us,
    }


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
