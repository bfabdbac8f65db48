"""``GET /metrics``: Prometheus counters and histograms, updated once per turn (never per chunk).

Each gateway has its own registry (no module globals), so several gateways in one process — the
tests, the benchmark — don't mix their numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from splitlane.telemetry.records import TurnRecord

ROUTE = ("surface", "lane", "upstream", "model")
TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128)
TPS_BUCKETS = (5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120)
GAP_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 300)

Gauges = Callable[[], dict[str, tuple[str, list[tuple[dict[str, str], float]]]]]


class _LiveGauges(Collector):
    """Gauges read when scraped: queue depths, turns in flight, records dropped."""

    def __init__(self, read: Gauges) -> None:
        self.read = read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (help_text, samples) in self.read().items():
            labels = sorted({k for sample, _ in samples for k in sample})
            family = GaugeMetricFamily(name, help_text, labels=labels)
            for sample, value in samples:
                family.add_metric([sample.get(k, "") for k in labels], value)
            yield family


class GatewayMetrics:
    def __init__(self, gauges: Gauges) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no `_created` series: they double the output and nobody graphs them
        r = self.registry = CollectorRegistry()
        self.turns = Counter("splitlane_turns", "Turns served, by outcome", (*ROUTE, "status"), registry=r)
        self.errors = Counter(
            "splitlane_errors", "Requests that ended in an error, by type", ("surface", "type"), registry=r
        )
        self.ttft = Histogram(
            "splitlane_ttft_seconds", "Time to first content", ROUTE, buckets=TTFT_BUCKETS, registry=r
        )
        self.decode = Histogram(
            "splitlane_decode_tokens_per_second", "Per-turn decode rate", ROUTE, buckets=TPS_BUCKETS, registry=r
        )
        self.gap = Histogram(
            "splitlane_tool_gap_seconds",
            "Time between a turn's end and the session's next request",
            ("lane",),
            buckets=GAP_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("splitlane_tokens", "Tokens, by kind", (*ROUTE, "kind"), registry=r)
        self.cost = Counter(
            "splitlane_cost_usd", "What turns cost, USD at the price in force when recorded", ROUTE, registry=r
        )
        self.unpriced = Counter(
            "splitlane_unpriced_turns", "Turns whose upstream model has no known price", ROUTE, registry=r
        )
        self.speculation = Counter(
            "splitlane_engine_speculation_tokens",
            "Drafted and accepted speculative tokens",
            ("upstream", "kind"),
            registry=r,
        )
        r.register(_LiveGauges(gauges))
        # each metric's child per label values, looked up in one dict: ``labels()`` validates and
        # locks on every call (a dozen calls per turn were ~2 % of the gateway's CPU)
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(self, record: TurnRecord) -> None:
        child = self._child
        route = (record.surface, record.lane, record.upstream, record.model)
        child(self.turns, *route, record.status).inc()
        if record.status == "error":
            child(self.errors, record.surface, (record.error or "error").split(":", 1)[0][:60]).inc()
        if record.ttft_s is not None:
            child(self.ttft, *route).observe(record.ttft_s)
        if record.decode_tps is not None:
            child(self.decode, *route).observe(record.decode_tps)
        if record.gap_before_s is not None:
            child(self.gap, record.lane).observe(record.gap_before_s)
        for kind, count in (
            ("input", record.input_tokens),
            ("cached_input", record.cached_input_tokens),
            ("output", record.output_tokens),
            ("reasoning", record.reasoning_tokens),
        ):
            if count:
                child(self.tokens, *route, kind).inc(count)
        if record.cost_usd is not None:
            child(self.cost, *route).inc(record.cost_usd)
        elif record.upstream:
            child(self.unpriced, *route).inc()
        if record.cache_write_tokens:
            child(self.tokens, *route, "cache_write").inc(record.cache_write_tokens)
        if record.drafted_tokens:
            child(self.speculation, record.upstream, "drafted").inc(record.drafted_tokens)
            child(self.speculation, record.upstream, "accepted").inc(record.accepted_tokens or 0)

    def error(self, surface: str, kind: str) -> None:
        """A request that failed before it had a route (bad input, unknown model)."""
        self._child(self.errors, surface, kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
