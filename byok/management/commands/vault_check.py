"""Report stored provider keys per vault key id, and every record that fails to open."""

from django.core.management.base import BaseCommand, CommandError

from byok import vault
from byok.selectors import credential_vault_report


class Command(BaseCommand):
    help = "Count sealed provider keys per vault key id and verify that each one opens."

    def handle(self, *args, **options):
        try:
            keyring = vault.configured_keyring()
            report = credential_vault_report()
        except vault.VaultConfigurationError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Keyring: {', '.join(keyring.key_ids)} (current: {keyring.current_key_id})"
        )
        self.stdout.write(f"{report.total} sealed credential(s)")
        for key_id, count in sorted(report.records_per_key_id.items()):
            marker = "" if key_id in keyring.key_ids else "  <- not in the keyring"
            self.stdout.write(f"  {key_id:<32} {count:>8}{marker}")
        if not report.failures:
            self.stdout.write(self.style.SUCCESS("Every record opens."))
            return
        for pk, tenant_id, source, provider, error in report.failures:
            self.stderr.write(
                f"  credential {pk} (tenant {tenant_id}, {source}, {provider}): {error}"
            )
        raise CommandError(f"{len(report.failures)} record(s) failed to open.")
