"""Unit prices for one provider attempt: an admin override if one is in force, else genai-prices.

Prices are kept per token class (USD per million tokens) so the ledger can show the price it used
and the cost is a plain sum of products, identical to what genai-prices computes.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import version

from genai_prices import data_snapshot
from genai_prices.types import TieredPrices

from consumption.models import PriceOverride

GENAI_PRICES_SOURCE = f"genai-prices {version('genai-prices')}"
MILLION = Decimal(1_000_000)
ZERO = Decimal(0)
FREE_PROVIDERS = frozenset({"demo"})

# Our provider ids already match genai-prices'; model ids that it spells differently go here.
MODEL_ALIASES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class UnitPrices:
    """USD per million tokens for each token class that the ledger records."""

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    output: Decimal
    known: bool
    source: str

    def cost(
        self,
        *,
        input_tokens: int,
        cached_input_tokens: int,
        cache_write_tokens: int,
        output_tokens: int,
    ) -> Decimal:
        return (
            input_tokens * self.input
            + cached_input_tokens * self.cached_input
            + cache_write_tokens * self.cache_write
            + output_tokens * self.output
        ) / MILLION


UNKNOWN = UnitPrices(ZERO, ZERO, ZERO, ZERO, known=False, source="unknown")
FREE = UnitPrices(ZERO, ZERO, ZERO, ZERO, known=True, source="free")


def unit_prices(
    *, provider: str, model: str, at: dt.datetime, prompt_tokens: int = 0
) -> UnitPrices:
    """The prices in force at `at`. `prompt_tokens` (all input classes) picks a long-context tier."""
    if provider in FREE_PROVIDERS:
        return FREE
    day = at.astimezone(dt.UTC).date()
    override = next((o for o in _overrides_of(provider, model) if o.effective_from <= day), None)
    if override is not None:
        return UnitPrices(
            input=override.input_price,
            cached_input=override.cached_input_price,
            cache_write=override.cache_write_price,
            output=override.output_price,
            known=True,
            source=f"override {override.effective_from}",
        )
    return catalog_prices(provider=provider, model=model, at=at, prompt_tokens=prompt_tokens)


# Overrides are a few admin-edited rows read for every ledger row. Each process keeps them for a
# minute; an edit clears this process's copy at once (consumption.apps) and others' within the
# minute, which is why an override should be dated ahead rather than for the current hour.
OVERRIDE_CACHE_SECONDS = 60
_override_cache: dict[tuple[str, str], tuple[float, list[PriceOverride]]] = {}


def _overrides_of(provider: str, model: str) -> list[PriceOverride]:
    """The model's overrides, newest effective date first."""
    now = time.monotonic()
    cached = _override_cache.get((provider, model))
    if cached is not None and cached[0] > now:
        return cached[1]
    overrides = list(
        PriceOverride.objects.filter(provider=provider, model=model).order_by("-effective_from")
    )
    _override_cache[(provider, model)] = (now + OVERRIDE_CACHE_SECONDS, overrides)
    return overrides


def override_cache_clear(**_) -> None:
    _override_cache.clear()


def catalog_prices(
    *, provider: str, model: str, at: dt.datetime, prompt_tokens: int = 0
) -> UnitPrices:
    model_ref = MODEL_ALIASES.get((provider, model), model)
    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(model_ref, None, provider, None)
    except LookupError:
        return UNKNOWN
    prices = info.get_prices(at)
    input_price = _resolve(prices.input_mtok, prompt_tokens)
    if input_price is None:
        return UNKNOWN
    cache_read = _resolve(prices.cache_read_mtok, prompt_tokens)
    cache_write = _resolve(prices.cache_write_mtok, prompt_tokens)
    # genai-prices bills a cache class without its own price at the input price; so do we.
    return UnitPrices(
        input=input_price,
        cached_input=input_price if cache_read is None else cache_read,
        cache_write=input_price if cache_write is None else cache_write,
        output=_resolve(prices.output_mtok, prompt_tokens) or ZERO,
        known=True,
        source=GENAI_PRICES_SOURCE,
    )


def _resolve(price: Decimal | TieredPrices | None, prompt_tokens: int) -> Decimal | None:
    if not isinstance(price, TieredPrices):
        return price
    # A tier is a cliff: crossing it prices every token of the request at the tier's rate.
    for tier in reversed(price.tiers):
        if prompt_tokens > tier.start:
            return tier.price
    return price.base
