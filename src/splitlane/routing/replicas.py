"""Every configured upstream as a list of replicas, one adapter (and connection pool) each."""

from __future__ import annotations

from dataclasses import dataclass

from splitlane.config import Config
from splitlane.upstream.base import Upstream
from splitlane.upstream.registry import build_upstream


@dataclass(frozen=True, slots=True)
class Replica:
    upstream: Upstream
    url: str  # its identity for affinity ("local" for the embedded engine)


def build_replicas(config: Config) -> dict[str, list[Replica]]:
    replicas: dict[str, list[Replica]] = {}
    for name, upstream in config.upstreams.items():
        replicas[name] = [
            Replica(
                build_upstream(name, upstream.model_copy(update={"base_url": url, "replicas": []}), config),
                url or upstream.kind,
            )
            for url in upstream.replica_urls()
        ]
    return replicas
