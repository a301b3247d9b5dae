"""The consumption table's cells, shared by the page and the CSV so the two cannot disagree."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal

from consumption.selectors import Totals, UsageRow

HEADER = [
    "Provider",
    "Model",
    "Key source",
    "Calls",
    "Conversations",
    "Input tokens",
    "Cached input tokens",
    "Cache write tokens",
    "Output tokens",
    "Total tokens",
    "USD (estimate)",
    "CAD (estimate)",
]
TENANT_HEADER = ["Tenant", *HEADER[3:]]


def money(value: Decimal) -> str:
    # Four decimals: a single small call costs fractions of a cent, and rounding it away misleads.
    return f"{value:.4f}"


def _figures(item: UsageRow | Totals) -> list[str]:
    return [
        str(item.calls),
        str(item.conversations),
        str(item.input_tokens),
        str(item.cached_input_tokens),
        str(item.cache_write_tokens),
        str(item.output_tokens),
        str(item.total_tokens),
        money(item.cost_usd),
        money(item.cost_cad),
    ]


def row_cells(row: UsageRow) -> list[str]:
    model = row.model + (" (price unknown)" if row.unknown_price_calls else "")
    return [row.provider_label, model, row.key_source_label, *_figures(row)]


def tenant_row_cells(row: UsageRow) -> list[str]:
    return [row.tenant_name, *_figures(row)]


def total_cells(totals: Totals, *, label_columns: int = 3) -> list[str]:
    return ["Total", *[""] * (label_columns - 1), *_figures(totals)]


def write_csv(out, *, header: list[str], lines: Iterable[list[str]]) -> None:
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([_inert(cell) for cell in line] for line in lines)


def _inert(cell: str) -> str:
    # Tenant names are typed by people and a spreadsheet runs a cell that starts like a formula.
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(cell):
        return "'" + cell
    return cell


def _is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True
