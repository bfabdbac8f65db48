"""Route planning: alias + lane -> ordered targets (primary, then fallbacks), each on the replica
that holds the session's prefix cache, filtered by the data-residency policy."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from splitlane.config import Config, ModelConfig
from splitlane.core.errors import ModelNotFound, PermissionDenied
from splitlane.core.lanes import Lane
from splitlane.core.request import ChatRequest
from splitlane.routing.balance import Balancer, Pick
from splitlane.routing.classify import classify, split_model
from splitlane.routing.lanes import Decision
from splitlane.routing.replicas import Replica
from splitlane.sessions.identify import SessionId, identify
from splitlane.sessions.state import SessionStore

# Which lane's target serves a lane the alias does not name.
LANE_STAND_INS = {
    Lane.PLAN: (Lane.PLAN, Lane.ACT),
    Lane.ACT: (Lane.ACT, Lane.PLAN),
    Lane.BACKGROUND: (Lane.BACKGROUND, Lane.ACT, Lane.PLAN),
}


def lane_target(alias: str, model: ModelConfig, lane: Lane) -> str:
    """The ``upstream/model`` that serves one lane of an alias."""
    if not model.lanes:
        return f"{model.upstream}/{model.model or alias}"
    lanes: dict[str, str] = {str(k): v for k, v in model.lanes.items()}
    return next(lanes[stand_in] for stand_in in LANE_STAND_INS[lane] if stand_in in lanes)


@dataclass(frozen=True, slots=True)
class Target:
    upstream_name: str
    replica: Replica
    model: str
    first_byte_timeout_s: float | None
    idle_timeout_s: float = 300.0
    total_timeout_s: float = 1800.0
    pick: Pick | None = None  # why this replica (None: the route's only one, or not ranked)
    prefix: tuple[bytes, ...] = ()  # the prompt's block hashes, recorded for this replica once it answers

    @property
    def label(self) -> str:
        return f"{self.upstream_name}/{self.model}"


@dataclass(frozen=True, slots=True)
class RoutePlan:
    alias: str
    decision: Decision
    session: SessionId
    targets: tuple[Target, ...]
    excluded: tuple[str, ...] = ()  # targets the residency policy removed, with why


class Planner:
    def __init__(
        self,
        config: Config,
        replicas: Mapping[str, Sequence[Replica]],
        sessions: SessionStore | None = None,
        balancer: Balancer | None = None,
    ) -> None:
        """``sessions``: where lanes and affinity of each session are kept (a fresh store if none);
        ``balancer``: replica loads and prefix records (a fresh one if none)."""
        self.config = config
        self.replicas = replicas
        self.sessions = sessions if sessions is not None else SessionStore(config.max_sessions)
        self.balancer = balancer if balancer is not None else Balancer()
        self._cooldown_until: dict[str, float] = {}
        self._targets: dict[tuple[str, int], Target] = {}  # (label, replica index): built once, config is fixed

    def aliases(self) -> list[str]:
        return sorted(self.config.models)

    def plan(self, request: ChatRequest, observe: bool = True) -> RoutePlan:
        """Route one turn. ``observe=False`` (count_tokens, route explain) leaves session state alone."""
        alias, explicit = split_model(self.config, request.model)
        if alias not in self.config.models and self.config.catch_all is not None:
            alias = self.config.catch_all
        model = self.config.models.get(alias)
        if model is None or (model.alias is not None and explicit is None):
            raise ModelNotFound(request.model, self.aliases())
        session = identify(request)
        state = self.sessions.get(session.key) if observe else replace(self.sessions.peek(session.key))
        decision = classify(self.config, request, explicit, state)
        labels = [self._lane_target(alias, model, decision.lane), *model.fallbacks]
        targets, excluded = self._allowed(alias, model, list(dict.fromkeys(labels)), session, request, observe)
        now = time.monotonic()
        targets.sort(key=lambda t: self._cooldown_until.get(t.replica.url, 0.0) > now)
        return RoutePlan(alias, decision, session, tuple(targets), tuple(excluded))

    def cool_down(self, target: Target, seconds: float) -> None:
        """Retry-After, or a replica that could not be reached: try it last until the time has passed."""
        self._cooldown_until[target.replica.url] = time.monotonic() + seconds

    def unreachable(self, target: Target) -> None:
        """A replica refused the connection: the next turns try it last for a while, and nothing
        is taken to be cached there any more (it may have restarted)."""
        if target.pick is None:
            return
        upstream = self.config.upstreams[target.upstream_name]
        self.cool_down(target, upstream.balance.unreachable_cooldown_s)
        self.balancer.prefixes(target.upstream_name, upstream).forget(target.replica.url)

    def answered(self, target: Target) -> None:
        """The target sent its first event: its replica now holds this prompt's prefix."""
        if target.prefix:
            upstream = self.config.upstreams[target.upstream_name]
            self.balancer.prefixes(target.upstream_name, upstream).record(list(target.prefix), target.replica.url)

    def _lane_target(self, alias: str, model: ModelConfig, lane: Lane) -> str:
        return lane_target(alias, model, lane)

    def _allowed(
        self,
        alias: str,
        model: ModelConfig,
        labels: list[str],
        session: SessionId,
        request: ChatRequest,
        observe: bool,
    ) -> tuple[list[Target], list[str]]:
        """The labels' targets, each upstream's replicas in its policy's order (the first one its
        choice, the others its next tries), less those the residency policy excludes."""
        allowed = model.allowed_regions if model.allowed_regions is not None else self.config.allowed_regions
        targets: list[Target] = []
        excluded: list[str] = []
        for label in labels:
            name, upstream_model = label.split("/", 1)
            upstream = self.config.upstreams[name]
            if allowed is not None and upstream.region not in allowed:
                excluded.append(f"{label} (region {upstream.region or 'unset'})")
                continue
            replicas = self.replicas[name]
            ranked = self.balancer.rank(name, upstream, [r.url for r in replicas], session.key, request, observe)
            for index, pick in ranked.picks:
                target = self._targets.get((label, index))
                if target is None:
                    target = self._targets[label, index] = Target(
                        name,
                        replicas[index],
                        upstream_model,
                        upstream.first_byte_timeout,
                        upstream.idle_timeout_s,
                        upstream.total_timeout_s,
                    )
                if len(ranked.picks) > 1:
                    target = replace(target, pick=pick, prefix=ranked.prefix)
                targets.append(target)
        if not targets:
            raise PermissionDenied(
                f"data residency: model '{alias}' may only use upstreams in regions {sorted(allowed or [])}; "
                f"every route would leave them: {', '.join(excluded)}",
                code="residency_violation",
            )
        return targets, excluded
