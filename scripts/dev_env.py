"""Write the git-ignored .env for the embedded default, once, and say so.

It holds a development vault keyring, a secret key and the demo users' passwords, so `make run`
can print working credentials every time. Production never uses this file: set real variables.
"""

import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from byok.vault import generate_keyring_entry  # noqa: E402

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def main() -> None:
    if ENV_FILE.exists():
        return
    lines = [
        "# Development settings written by `make run` / `make test`. Git-ignored; never use in production.",
        "DEBUG=1",
        f"SECRET_KEY={secrets.token_urlsafe(48)}",
        f"CHATDIRECT_VAULT_KEYS={generate_keyring_entry('dev1')}",
        f"CHATDIRECT_ADMIN_PASSWORD={secrets.token_urlsafe(12)}",
        f"CHATDIRECT_DEMO_PASSWORD={secrets.token_urlsafe(12)}",
        f"CHATDIRECT_AGENT_PASSWORD={secrets.token_urlsafe(12)}",
    ]
    ENV_FILE.write_text("\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)
    print(f"Wrote {ENV_FILE.name}: a development vault keyring, SECRET_KEY and demo passwords.")


if __name__ == "__main__":
    main()
