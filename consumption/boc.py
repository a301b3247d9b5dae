"""The Bank of Canada Valet API's daily USD→CAD rate (series FXUSDCAD). Tests never reach it."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import httpx

logger = logging.getLogger(__name__)

VALET_URL = "https://www.bankofcanada.ca/valet/observations/FXUSDCAD/json?recent=1"


@dataclass(frozen=True)
class Observation:
    day: dt.date
    usd_to_cad: Decimal


def latest_usd_cad(
    *, client: httpx.Client | None = None, timeout: float = 10.0
) -> Observation | None:
    """The latest published rate, or None when the network or the payload lets us down."""
    try:
        with client or httpx.Client(timeout=timeout) as http:
            response = http.get(VALET_URL)
            response.raise_for_status()
            latest = response.json()["observations"][-1]
        return Observation(
            day=dt.date.fromisoformat(latest["d"]), usd_to_cad=Decimal(latest["FXUSDCAD"]["v"])
        )
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError, InvalidOperation) as exc:
        logger.warning("Bank of Canada rate not fetched: %s", type(exc).__name__)
        return None
