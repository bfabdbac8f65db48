"""The labelled corpus: explicit signals 100% right, overall at least 90%; the confusion table."""

from __future__ import annotations

from collections import Counter

from splitlane.api.surfaces import SURFACES
from splitlane.config import Config
from splitlane.routing.planner import Planner
from splitlane.routing.replicas import stand_ins
from tests.routing.corpus import CASES, CONFIG

LANES = ("plan", "act", "background")


def run_corpus() -> list[tuple[str, str, str, str, bool]]:
    """(client, case, expected, got, explicit) for every step."""
    config = Config.model_validate(CONFIG)
    replicas = stand_ins(config)
    rows = []
    for case in CASES:
        planner = Planner(config, replicas)  # a fresh session store for every case
        for step in case.steps:
            request = SURFACES[case.surface].decode(step.body, {k.lower(): v for k, v in step.headers.items()})
            plan = planner.plan(request)
            rows.append((case.client, case.name, step.lane, str(plan.decision.lane), step.explicit))
    return rows


def confusion_table(rows: list[tuple[str, str, str, str, bool]]) -> str:
    counts = Counter((expected, got) for _, _, expected, got, _ in rows)
    lines = ["expected \\ got | " + " | ".join(LANES), "---|" + "---|" * len(LANES)]
    lines += [f"{e} | " + " | ".join(str(counts[(e, g)]) for g in LANES) for e in LANES]
    return "\n".join(lines)


def test_corpus_is_big_enough_and_covers_every_client() -> None:
    rows = run_corpus()
    assert len(rows) >= 40
    assert {client for client, *_ in rows} == {"codex", "claude-code", "cline", "cline-sdk", "opencode", "sdk"}


def test_explicit_signals_are_always_right() -> None:
    explicit = [r for r in run_corpus() if r[4]]
    assert len(explicit) >= 6
    assert [r for r in explicit if r[2] != r[3]] == []


def test_overall_accuracy_and_confusion_table() -> None:
    rows = run_corpus()
    wrong = [r for r in rows if r[2] != r[3]]
    accuracy = 1 - len(wrong) / len(rows)
    print(f"\n{len(rows)} labelled turns, accuracy {accuracy:.1%}\n{confusion_table(rows)}")
    for client, name, expected, got, _ in wrong:
        print(f"  wrong: {client} / {name}: expected {expected}, got {got}")
    assert accuracy >= 0.90
