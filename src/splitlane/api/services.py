"""Everything the gateway builds at start, in one object passed explicitly (no module globals)."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.config import Config
from splitlane.routing.planner import Planner, RoutePlan, Target
from splitlane.routing.replicas import Replica, build_replicas
from splitlane.store.database import open_engine, sqlite_url
from splitlane.store.responses import ResponseStore


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
    routed: deque[RoutedTurn] = field(default_factory=lambda: deque(maxlen=10_000))

    @classmethod
    async def start(cls, config: Config) -> Services:
        replicas = build_replicas(config)
        for replica in (r for rs in replicas.values() for r in rs):
            warm = getattr(replica.upstream, "warm", None)
            if warm is not None:
                warm()  # the embedded model loads in its own thread while the server starts
        database = open_engine(sqlite_url(config.db_path))
        responses = ResponseStore(database)
        await responses.start()
        return cls(config, replicas, Planner(config, replicas), database, responses)

    def record(self, plan: RoutePlan, target: Target, failed: tuple[str, ...]) -> None:
        self.routed.append(
            RoutedTurn(
                plan.session.key, str(plan.decision.lane), str(plan.decision), target.label, target.replica.url, failed
            )
        )

    async def aclose(self) -> None:
        await asyncio.gather(*(r.upstream.aclose() for rs in self.replicas.values() for r in rs))
        await self.database.dispose()
