"""Backfill: rebuild the daily rollups of a date range from the ledger, one day per transaction."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from consumption.services import daily_usage_rebuild
from tenants.models import Tenant


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Recompute DailyUsage for tenant-local days FROM..TO (inclusive) from the ledger."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, type=_date, metavar="YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, type=_date, metavar="YYYY-MM-DD")
        parser.add_argument("--tenant", help="Only this tenant (slug).")

    def handle(self, *args, start: dt.date, end: dt.date, tenant: str | None, **options):
        if end < start:
            raise CommandError("--to is before --from")
        tenant_ids = None
        if tenant:
            found = Tenant.objects.filter(slug=tenant).values_list("id", flat=True).first()
            if found is None:
                raise CommandError(f"no tenant with slug {tenant!r}")
            tenant_ids = [found]
        days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
        written = 0
        # A day per transaction keeps locks short while the site runs, and lets a long backfill
        # be interrupted and resumed.
        for day in tqdm(days, desc="rollup", unit="day", disable=options["verbosity"] == 0):
            written += daily_usage_rebuild(start=day, end=day, tenant_ids=tenant_ids)
        if options["verbosity"]:
            self.stdout.write(f"{len(days)} day(s) rebuilt, {written} rollup row(s) written.")
