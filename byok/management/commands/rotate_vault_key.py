"""Re-encrypt every stored provider key under the newest vault key id.

Put the new entry first in CHATDIRECT_VAULT_KEYS (keep the old ones after it), deploy, run this, and
only once `vault_check` shows no record left on an old key id remove that id from the keyring.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from byok import vault
from byok.models import ProviderCredential
from byok.services import credential_rotate_all


class Command(BaseCommand):
    help = "Re-encrypt stored provider keys under the newest CHATDIRECT_VAULT_KEYS key id."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=100)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Open every record that would be rotated, change nothing.",
        )

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            current = vault.configured_keyring().current_key_id
        except vault.VaultConfigurationError as exc:
            raise CommandError(str(exc)) from None
        pending = ProviderCredential.objects.exclude(
            sealed_key__startswith=f"{vault.FORMAT_VERSION}:{current}:"
        ).count()
        verb = "Would re-encrypt" if dry_run else "Re-encrypting"
        self.stdout.write(f"{verb} {pending} credential(s) under key id {current!r}.")
        with tqdm(total=pending, unit="key", disable=pending == 0, file=self.stderr) as bar:
            report = credential_rotate_all(
                batch_size=batch_size, dry_run=dry_run, on_progress=bar.update
            )
        done = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(
            f"{report.rotated} {done}, {report.already_current} already on {current!r}, "
            f"{len(report.failed)} failed."
        )
        for pk, error in report.failed:
            self.stderr.write(f"  credential {pk}: {error}")
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} credential(s) could not be opened; see `manage.py vault_check`."
            )
