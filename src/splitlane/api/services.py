"""Everything the gateway builds at start, in one object passed explicitly (no module globals)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.api.capture import Capturer
from splitlane.auth.keyring import KeyRing
from splitlane.auth.limits import Limits
from splitlane.auth.shared_limits import limits_for
from splitlane.config import Config
from splitlane.routing.balance import Balancer
from splitlane.routing.load import LoadBoard, MetricsPoller
from splitlane.routing.planner import Planner, RoutePlan, Target
from splitlane.routing.replicas import Replica, build_replicas
from splitlane.sessions.state import SessionStore
from splitlane.store.database import open_engine
from splitlane.store.migrations import migrate
from splitlane.store.responses import ResponseStore
from splitlane.telemetry.prices import PriceBook
from splitlane.telemetry.prometheus import GatewayMetrics
from splitlane.telemetry.recorder import Recorder
from splitlane.telemetry.records import Clock
from splitlane.telemetry.redact import Redactor
from splitlane.telemetry.writer import TelemetryWriter
from splitlane.upstream.http import HttpClient
from splitlane.upstream.registry import build_upstream

log = logging.getLogger("splitlane.auth")


def _warn_about_keys(config: Config, keys: KeyRing) -> None:
    if not keys.required:
        log.warning(
            "API keys are off: anyone who can reach %s can use this gateway (loopback only; "
            '`auth = "required"` and `splitlane keys create` turn them on)',
            config.listen,
        )
    elif not keys.active():
        log.warning("API keys are required and none exists: every request is refused until `splitlane keys create`")


@dataclass(frozen=True, slots=True)
class RoutedTurn:
    """One turn's routing decision, as telemetry records it."""

    session: str
    lane: str
    reason: str
    target: str
    replica: str
    fallbacks_tried: tuple[str, ...]


@dataclass(slots=True)
class Services:
    config: Config
    replicas: dict[str, list[Replica]]
    planner: Planner
    database: AsyncEngine
    responses: ResponseStore
    telemetry: Recorder
    keys: KeyRing
    limits: Limits
    poller: MetricsPoller
    routed: deque[RoutedTurn] = field(default_factory=lambda: deque(maxlen=10_000))

    @classmethod
    async def start(cls, config: Config) -> Services:
        replicas = build_replicas(config, lambda name, upstream: build_upstream(name, upstream, config))
        for replica in (r for rs in replicas.values() for r in rs):
            warm = getattr(replica.upstream, "warm", None)
            if warm is not None:
                warm()  # the embedded model loads in its own thread while the server starts
        database = open_engine(config.database())
        await migrate(database)
        settings = config.telemetry
        clock = Clock.start()
        writer = TelemetryWriter(database, clock, settings.queue_size, settings.batch_size)
        capture = Capturer(Redactor(settings.redactions())) if settings.capture else None
        metrics = GatewayMetrics(lambda: services.gauges())  # read at scrape time, once services exists
        prices = PriceBook(config)
        recorder = Recorder(clock, writer, metrics, settings.durable_wait_s, capture, config.max_sessions, prices)
        keys = KeyRing(database, config.auth_required, config.auth_refresh_s)
        limits = limits_for(database)
        board = LoadBoard(min((u.balance.poll_s for u in config.upstreams.values()), default=1.0))
        polled = [
            (upstream, url)
            for upstream in config.upstreams.values()
            if upstream.balance.metrics
            for url in upstream.replicas or [upstream.base_url or ""]
            if url
        ]
        poller = MetricsPoller(board, polled)
        services = cls(
            config,
            replicas,
            Planner(config, replicas, SessionStore(config.max_sessions), Balancer(board)),
            database,
            ResponseStore(database),
            recorder,
            keys,
            limits,
            poller,
        )
        writer.start()
        poller.start()
        await keys.refresh()
        keys.start()
        if keys.required:
            limits.start()
        _warn_about_keys(config, keys)
        return services

    def gauges(self) -> dict[str, tuple[str, list[tuple[dict[str, str], float]]]]:
        """Values read when /metrics is scraped."""
        writer = self.telemetry.writer
        engines = [
            ({"upstream": name}, float(getattr(r.upstream, "queue_depth", 0)))
            for name, rs in self.replicas.items()
            for r in rs
            if hasattr(r.upstream, "queue_depth")
        ]
        clients = [(name, getattr(r.upstream, "client", None)) for name, rs in self.replicas.items() for r in rs]
        connections = [
            ({"upstream": name}, float(client.connections_in_use()))
            for name, client in clients
            if isinstance(client, HttpClient)
        ]
        return {
            "splitlane_upstream_connections_in_use": ("Upstream connections serving a request now", connections),
            "splitlane_event_loop_tasks": (
                "Tasks alive on the gateway's event loop",
                [({}, float(len(asyncio.all_tasks())))],
            ),
            "splitlane_turns_in_flight": ("Turns streaming now", [({}, float(len(self.telemetry.inflight)))]),
            "splitlane_telemetry_queue_depth": ("Records waiting for the writer", [({}, float(writer.depth))]),
            "splitlane_telemetry_dropped_records": (
                "Records dropped since start (queue full, or the database refused them)",
                [
                    ({"reason": "queue_full"}, float(writer.stats.dropped)),
                    ({"reason": "write_failed"}, float(writer.stats.failed)),
                ],
            ),
            "splitlane_telemetry_written_records": ("Records stored since start", [({}, float(writer.stats.written))]),
            "splitlane_engine_queue_depth": ("Requests waiting for the embedded engine", engines),
        }

    def record(self, plan: RoutePlan, target: Target, failed: tuple[str, ...]) -> None:
        self.routed.append(
            RoutedTurn(
                plan.session.key, str(plan.decision.lane), str(plan.decision), target.label, target.replica.url, failed
            )
        )

    async def aclose(self) -> None:
        await self.poller.aclose()
        await self.keys.aclose()
        await self.limits.aclose()
        await asyncio.gather(*(r.upstream.aclose() for rs in self.replicas.values() for r in rs))
        await self.telemetry.writer.aclose()
        await self.database.dispose()
