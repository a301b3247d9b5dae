"""chatdirect.js loads on every page of every client's website: it must stay small."""

import gzip
import re
from pathlib import Path

WIDGET = Path(__file__).resolve().parents[2] / "static" / "widget" / "chatdirect.js"
# The budget. For scale: Chatwoot's widget measured about 170 KiB, Intercom's 300-500 KB.
BUDGET_BYTES = 12 * 1024


def test_the_widget_is_at_most_12_kb_gzipped():
    size = len(gzip.compress(WIDGET.read_bytes(), compresslevel=6))

    assert size <= BUDGET_BYTES, (
        f"chatdirect.js is {size} bytes gzipped; the budget is {BUDGET_BYTES}"
    )


def test_the_widget_never_writes_html():
    source = WIDGET.read_text()

    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", source)
