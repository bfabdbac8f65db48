"""Every configured upstream as a list of replicas, each with its adapter; routing is handed them.

The adapters are built by whoever owns them (``Services``, with ``upstream/registry.py``);
``splitlane route explain`` hands the planner stand-ins instead, so explaining a route builds no
connection pool and loads no model.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from splitlane.config import Config, UpstreamConfig
from splitlane.core.errors import InternalError
from splitlane.core.events import Event
from splitlane.core.request import ChatRequest
from splitlane.upstream.base import Upstream
from splitlane.upstream.estimate import estimate_input_tokens

Build = Callable[[str, UpstreamConfig], Upstream]


@dataclass(frozen=True, slots=True)
class Replica:
    upstream: Upstream
    url: str  # its identity for affinity ("local" for the embedded engine)


def build_replicas(config: Config, build: Build) -> dict[str, list[Replica]]:
    """One replica per base URL of each upstream (``replicas`` or ``base_url``), its adapter from ``build``."""
    replicas: dict[str, list[Replica]] = {}
    for name, upstream in config.upstreams.items():
        replicas[name] = [
            Replica(build(name, upstream.model_copy(update={"base_url": url, "replicas": []})), url or upstream.kind)
            for url in upstream.replica_urls()
        ]
    return replicas


@dataclass(slots=True)
class StandIn:
    """An upstream that is only routed to, never sent anything (route explain, routing tests)."""

    name: str
    kind: str

    def relays(self, request: ChatRequest) -> bool:
        return False

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        raise InternalError(f"upstream '{self.name}' is a stand-in: nothing is sent")
        yield  # pragma: no cover  (an async generator)

    async def count_tokens(self, request: ChatRequest) -> int:
        return estimate_input_tokens(request)

    async def aclose(self) -> None:
        return None


def stand_ins(config: Config) -> dict[str, list[Replica]]:
    return build_replicas(config, lambda name, upstream: StandIn(name, upstream.kind))
