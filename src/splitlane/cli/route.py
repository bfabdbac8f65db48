"""``splitlane route explain``: which lane, why, and where a request would go — without sending it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from splitlane.api.surfaces import SURFACES, guess_surface
from splitlane.config import Config
from splitlane.routing.planner import Planner, RoutePlan
from splitlane.routing.replicas import stand_ins

route_app = typer.Typer(help="Inspect routing decisions.", no_args_is_help=True)


def parse_headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected 'name: value', got {value!r}", param_hint="--header")
        headers[name.strip().lower()] = rest.strip()
    return headers


def explain(config: Config, body: Any, headers: dict[str, str], surface: str | None = None) -> RoutePlan:
    request = SURFACES[surface or guess_surface(body, headers)].decode(body, headers)
    return Planner(config, stand_ins(config)).plan(request, observe=False)


def describe(plan: RoutePlan) -> dict[str, Any]:
    primary = plan.targets[0]
    return {
        "lane": str(plan.decision.lane),
        "source": str(plan.decision.source),
        "reason": plan.decision.reason,
        "alias": plan.alias,
        "upstream": primary.upstream_name,
        "model": primary.model,
        "replica": primary.replica.url,
        # among several replicas: the policy's order, each with its score and why (a fresh
        # gateway's view: no load, no prefix recorded yet)
        "replicas": [
            {"replica": t.replica.url, "policy": t.pick.policy, "score": t.pick.score, "reason": t.pick.reason}
            for t in plan.targets
            if t.pick is not None and t.upstream_name == primary.upstream_name
        ],
        "session": plan.session.key,
        "session_source": plan.session.source,
        "fallbacks": [t.label for t in plan.targets[1:] if t.label != primary.label],
        "excluded": list(plan.excluded),
    }


def run_explain(config: Config, request_file: Path, header: list[str], surface: str | None, as_json: bool) -> None:
    if surface is not None and surface not in SURFACES:
        raise typer.BadParameter(f"one of {', '.join(SURFACES)}", param_hint="--surface")
    body = json.loads(request_file.read_text(encoding="utf-8"))
    info = describe(explain(config, body, parse_headers(header), surface))
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    typer.echo(f"lane: {info['lane']}")
    typer.echo(f"reason: {info['source']}: {info['reason']}")
    typer.echo(f"upstream: {info['upstream']}/{info['model']}")
    typer.echo(f"replica: {info['replica']}")
    for rank, replica in enumerate(info["replicas"], 1):
        score = f"{replica['policy']} score {replica['score']:.3g}"
        typer.echo(f"  {rank}. {replica['replica']}  {score}: {replica['reason']}")
    typer.echo(f"session: {info['session']}")
    if info["fallbacks"]:
        typer.echo(f"fallbacks: {', '.join(info['fallbacks'])}")
    if info["excluded"]:
        typer.echo(f"excluded by residency: {', '.join(info['excluded'])}")
