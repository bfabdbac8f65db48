"""What a turn cost: a price per model from the config or the ``genai-prices`` dataset, applied
to the turn's usage when it is recorded (so later price changes don't rewrite history).

Which price a turn gets, first that applies (docs/costs.md): the alias's ``lane_price`` for the
turn's lane, the alias's ``price``, the serving upstream's ``price``; free for the embedded engine
and for a server on a loopback or private address (self-hosted); a sim upstream's profile price;
else the dataset's price for the model name sent upstream, the provider chosen by the base URL.
None of these: the price is unknown and so is the cost (``None``, never 0).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from urllib.parse import urlsplit

from genai_prices import Usage as PricedUsage
from genai_prices.types import ModelPrice

from splitlane.config import Config, PriceConfig, UpstreamConfig
from splitlane.model_data import find_model
from splitlane.sim_profiles import load_profile


@dataclass(frozen=True, slots=True)
class Priced:
    price: ModelPrice
    source: str  # "config", "free", "sim", "dataset:<provider>/<model>"
    per_hour: float | None = None  # a rented server: USD per hour of its time, instead of per token


@dataclass(frozen=True, slots=True)
class Tokens:
    """One turn's usage as priced; cache reads and writes are parts of ``input``, 1h writes of ``cache_write``."""

    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    server_s: float = 0.0  # the turn's time on the upstream ÷ the turns in flight there when it ended


def configured(price: PriceConfig) -> Priced:
    if price.per_hour is not None:
        return Priced(ModelPrice(input_mtok=Decimal(0), output_mtok=Decimal(0)), "config:per_hour", price.per_hour)
    return Priced(model_price(price), "config")


def model_price(price: PriceConfig) -> ModelPrice:
    def d(value: float | None) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    return ModelPrice(
        input_mtok=d(price.input),
        output_mtok=d(price.output),
        cache_read_mtok=d(price.cached_input),
        cache_write_mtok=d(price.cache_write),
        cache_write_1h_mtok=d(price.cache_write_1h if price.cache_write_1h is not None else price.cache_write),
    )


def cost_usd(priced: Priced | None, tokens: Tokens) -> float | None:
    if priced is None:
        return None
    if priced.per_hour is not None:
        return priced.per_hour * tokens.server_s / 3600
    usage: dict[str, int] = {"input_tokens": tokens.input, "output_tokens": tokens.output}
    if tokens.cache_read:
        usage["cache_read_tokens"] = tokens.cache_read
    if tokens.cache_write:
        usage["cache_write_tokens"] = tokens.cache_write
        if tokens.cache_write_1h:
            usage["cache_write_1h_tokens"] = min(tokens.cache_write_1h, tokens.cache_write)
    return float(priced.price.calc_price(PricedUsage(**usage))["total_price"])


def self_hosted(base_url: str | None) -> bool:
    """A base URL on a loopback or private address (or localhost): a server of the user's own."""
    host = urlsplit(base_url or "").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


@cache
def dataset_price(model: str, base_url: str | None) -> Priced | None:
    """The dataset's price for ``model`` at the provider whose API ``base_url`` is (any provider
    that lists the model when the URL names none); None when it does not know the model."""
    found = find_model(model, base_url)
    if found is None:
        return None
    provider, info = found
    return Priced(info.get_prices(datetime.now(UTC)), f"dataset:{provider.id}/{info.id}")


FREE = Priced(ModelPrice(input_mtok=Decimal(0), output_mtok=Decimal(0)), "free")


def upstream_price(upstream: UpstreamConfig, model: str) -> Priced | None:
    """An upstream's own price for ``model``, as the rules above give it (no alias price)."""
    if upstream.price is not None:
        return configured(upstream.price)
    if upstream.kind == "local":
        return FREE
    if upstream.kind == "sim":
        profile = load_profile(upstream.sim_profile, upstream.sim)
        return Priced(
            model_price(
                PriceConfig(
                    input=profile.price_input,
                    output=profile.price_output,
                    cached_input=profile.price_cached_input,
                    cache_write=profile.price_cache_write,
                )
            ),
            "sim",
        )
    urls = upstream.replica_urls()
    if all(self_hosted(url) for url in urls):
        return FREE
    return dataset_price(model, urls[0])


class PriceBook:
    """The price of a turn by where it went; looked up once per (alias, lane, upstream, model)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._known: dict[tuple[str, str, str], Priced | None] = {}

    def price(self, alias: str, lane: str, target: str) -> Priced | None:
        """``target`` is the route's ``upstream/model``."""
        key = (alias, lane, target)
        if key not in self._known:
            self._known[key] = self._find(alias, lane, target)
        return self._known[key]

    def _find(self, alias: str, lane: str, target: str) -> Priced | None:
        model = self.config.models.get(alias)
        if model is not None and model.alias is not None:  # a per-mode name of another alias
            model = self.config.models.get(model.alias)
        if model is not None:
            chosen = next((p for name, p in model.lane_price.items() if name == lane), model.price)
            if chosen is not None:
                return configured(chosen)
        name, _, upstream_model = target.partition("/")
        upstream = self.config.upstreams.get(name)
        if upstream is None:
            return None
        return upstream_price(upstream, upstream_model)
