"""Model aliases -> (upstream, upstream model name)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from splitlane.config import Config
from splitlane.core.errors import ModelNotFound
from splitlane.upstream.base import Upstream


@dataclass(frozen=True, slots=True)
class Route:
    alias: str
    upstream: Upstream
    model: str


class RouteTable:
    def __init__(self, config: Config, upstreams: Mapping[str, Upstream]) -> None:
        self._routes = {
            alias: Route(alias, upstreams[m.upstream], m.model or alias) for alias, m in config.models.items()
        }

    def resolve(self, alias: str) -> Route:
        route = self._routes.get(alias)
        if route is None:
            raise ModelNotFound(alias, list(self._routes))
        return route

    def aliases(self) -> list[str]:
        return sorted(self._routes)
