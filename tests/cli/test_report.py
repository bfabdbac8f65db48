"""``splitlane report`` and ``splitlane capture export`` on a gateway's real store: a session run
through the gateway with the openai SDK, read back as a table, JSON, CSV and a replayable trace."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from typer.testing import CliRunner

from splitlane.bench.trace import history_at, read_trace
from splitlane.cli.main import app
from splitlane.cli.report import parse_time
from splitlane.store.database import open_engine
from splitlane.telemetry.queries import load_turns
from tests.conftest import gateway_with
from tests.scripted import TOOL_PROMPT, scripted

__all__ = ["scripted"]

runner = CliRunner()


@pytest.fixture(scope="module")
def session(scripted: tuple[str, Path]) -> tuple[str, list[list[dict[str, Any]]]]:
    """One three-turn session; returns the database URL and each turn's prompt as sent."""
    url, data_dir = scripted
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30)
    messages: list[dict[str, Any]] = [{"role": "system", "content": "report test agent"}]
    prompts = []
    for prompt in ("start with key sk-abcdefghijklmnopqrstuvwx and SECRET-1234", TOOL_PROMPT, "finish"):
        messages.append({"role": "user", "content": prompt})
        prompts.append(list(messages))
        reply = client.chat.completions.create(model="script", messages=messages)  # type: ignore[arg-type]
        message = reply.choices[0].message
        assistant: dict[str, Any] = {"role": "assistant", "content": message.content}
        if message.tool_calls:
            assistant["tool_calls"] = [c.model_dump() for c in message.tool_calls]
            messages += [assistant, {"role": "tool", "tool_call_id": message.tool_calls[0].id, "content": "done"}]
        else:
            messages.append(assistant)
        time.sleep(0.05)
    return f"sqlite:///{data_dir / 'splitlane.db'}", prompts


def test_report_table_json_csv(session: tuple[str, Any]) -> None:
    url, _ = session
    table = runner.invoke(app, ["report", "--database", url, "--by", "client"])
    assert table.exit_code == 0, table.output
    assert "P50 effective tok/s" in table.output
    assert "openai-python" in table.output
    data = orjson.loads(runner.invoke(app, ["report", "--database", url, "--json", "--since", "1h"]).output)
    (group,) = data["groups"]
    assert group["group"] == "all"
    assert group["sessions"] >= 1
    assert group["p50_effective_tps"] > 0
    assert data["dropped_records"] == 0
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["report", "--database", url, "--csv"]).output)))
    assert rows[0]["group"] == "all"
    assert float(rows[0]["mean_wall_s"]) > 0
    future = runner.invoke(app, ["report", "--database", url, "--json", "--since", "2999-01-01"])
    assert orjson.loads(future.output)["groups"] == []


def test_report_rejects_bad_options(session: tuple[str, Any]) -> None:
    url, _ = session
    assert runner.invoke(app, ["report", "--database", url, "--by", "colour"]).exit_code == 2
    bad_since = runner.invoke(app, ["report", "--database", url, "--since", "yesterday"])
    assert bad_since.exit_code == 2
    assert "neither a duration" in bad_since.output
    assert runner.invoke(app, ["report", "--database", url, "--json", "--csv"]).exit_code == 2


def test_parse_time() -> None:
    assert parse_time("90s", now=1000.0) == 910.0
    assert parse_time("2h", now=10_000.0) == 2800.0
    assert parse_time("1.5d", now=200_000.0) == 200_000.0 - 129_600.0


def test_capture_export_replays_the_same_prompts_redacted(session: tuple[str, Any], tmp_path: Path) -> None:
    url, prompts = session
    out = tmp_path / "captured.jsonl"
    result = runner.invoke(app, ["capture", "export", str(out), "--database", url])
    assert result.exit_code == 0, result.output
    _, sessions = read_trace(out)
    mine = next(s for s in sessions if "report test agent" in str(s.header.initial_messages))
    assert len(mine.turns) == 3
    assert mine.turns[1].output.stop_reason == "tool_calls"
    assert mine.turns[1].timing.gap_kind == "tool"
    raw = out.read_text()
    assert "sk-abcdefghijklmnopqrstuvwx" not in raw
    assert "SECRET-1234" not in raw  # the config's own pattern
    assert "[REDACTED]" in raw
    for i, prompt in enumerate(prompts):
        replayed = history_at(mine, i)
        assert len(replayed) == len(prompt)
        assert [m["role"] for m in replayed] == [m["role"] for m in prompt]
        assert replayed[-1]["content"] == prompt[-1]["content"] or "[REDACTED]" in replayed[-1]["content"]
        assert not any(t.input.replace_history for t in mine.turns)


def test_capture_export_as_a_block_hash_trace(session: tuple[str, Any], tmp_path: Path) -> None:
    """The captured session as Mooncake/AIPerf lines: recorded token counts, ids that repeat where
    a turn re-sends the one before, no text; `bench convert --from mooncake` reads it back."""
    url, prompts = session
    out = tmp_path / "captured-blocks.jsonl"
    result = runner.invoke(app, ["capture", "export", str(out), "--database", url, "--format", "block-hash",
                                 "--block-size", "4"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert "report test agent" not in out.read_text()  # no text, only its sharing
    assert set(rows[0]) == {"session_id", "timestamp", "input_length", "output_length", "hash_ids"}
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    recorded = [t for t in asyncio.run(_turns(url)) if t.status == "ok"]
    assert sorted(r["input_length"] for r in rows) == sorted(t.input_tokens for t in recorded)
    by_session: dict[str, list[list[int]]] = {}
    for row in rows:
        by_session.setdefault(row["session_id"], []).append(row["hash_ids"])
    ours = next(ids for ids in by_session.values() if len(ids) == len(prompts))
    for before, after in itertools.pairwise(ours):
        assert after[: len(before) - 1] == before[:-1]  # each turn re-sends the one before: its blocks too
        assert len(after) > len(before)
    converted = runner.invoke(
        app, ["bench", "convert", str(out), "--from", "mooncake", "-o", str(tmp_path / "t.jsonl")]
    )
    assert converted.exit_code == 0, converted.output
    bad = runner.invoke(app, ["capture", "export", str(out), "--database", url, "--format", "csv"])
    assert bad.exit_code == 2
    assert "block-hash" in bad.output


async def _turns(url: str) -> list[Any]:
    engine = open_engine(url)
    try:
        return await load_turns(engine)
    finally:
        await engine.dispose()


def test_capture_export_says_when_nothing_was_captured(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["capture", "export", str(tmp_path / "x.jsonl"), "--database", f"sqlite:///{tmp_path / 'empty.db'}"]
    )
    assert result.exit_code == 1
    assert "capture = true" in result.output


def _two_lane_config(plan_price: float) -> dict[str, Any]:
    """Plan turns on a priced upstream, act turns on a free one; a forced lane per alias."""
    return {
        "upstreams": {
            "frontier": {"kind": "sim", "sim_profile": "instant", "price": {"input": plan_price, "output": plan_price}},
            "fast": {"kind": "sim", "sim_profile": "instant"},
        },
        "models": {
            "coder": {"lanes": {"plan": "frontier/big", "act": "fast/small", "background": "fast/small"}},
            "coder:plan": {"alias": "coder", "lane": "plan"},
            "coder:act": {"alias": "coder", "lane": "act"},
        },
    }


def _ask(url: str, model: str) -> None:
    client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0, timeout=30)
    client.chat.completions.create(model=model, messages=[{"role": "user", "content": "go"}], max_tokens=20)


def test_report_costs_by_lane_as_recorded_across_a_price_change(tmp_path: Path) -> None:
    """Each turn keeps the price in force when it was recorded: a restart with a new price table
    does not rewrite the old turns; cost columns in the table, JSON and CSV, by lane."""
    with gateway_with(_two_lane_config(1e4), tmp_path) as url:  # $10,000 per million tokens
        _ask(url, "coder:plan")
        _ask(url, "coder:act")
        metrics = httpx.get(url + "/metrics").text
    spent = [line for line in metrics.splitlines() if line.startswith("splitlane_cost_usd_total{")]
    assert any(
        'lane="plan"' in line and 'upstream="frontier/big"' in line and float(line.split()[-1]) > 0 for line in spent
    )
    assert any('lane="act"' in line and float(line.split()[-1]) == 0 for line in spent)
    with gateway_with(_two_lane_config(2e4), tmp_path) as url:
        _ask(url, "coder:plan")
    database = f"sqlite:///{tmp_path / 'splitlane.db'}"
    data = orjson.loads(runner.invoke(app, ["report", "--database", database, "--json", "--by", "lane"]).output)
    groups = {g["group"]: g for g in data["groups"]}
    plan, act = groups["plan"], groups["act"]
    assert act["cost_usd"] == 0  # the sim's 'instant' profile is free
    assert act["unpriced_turns"] == 0
    turns = runner.invoke(app, ["report", "--database", database, "--json", "--by", "upstream"]).output
    assert "frontier/big" in turns
    # two plan turns of the same size, the second at twice the price: 1/3 and 2/3 of the plan spend
    assert plan["cost_usd"] > 0
    assert plan["spend_share"] == pytest.approx(1.0)
    assert plan["mean_session_cost_usd"] == pytest.approx(plan["cost_usd"] / plan["sessions"])
    assert plan["cost_per_1k_output_usd"] > 0

    async def costs() -> list[float | None]:
        engine = open_engine(database)
        try:
            return [t.cost_usd for t in await load_turns(engine) if t.lane == "plan"]
        finally:
            await engine.dispose()

    first, second = asyncio.run(costs())
    assert first is not None
    assert second == pytest.approx(2 * first)
    table = runner.invoke(app, ["report", "--database", database, "--by", "lane"]).output
    assert "cost: mean per session (USD)" in table
    assert "cost: share of spend" in table
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["report", "--database", database, "--csv"]).output)))
    assert float(rows[0]["cost_usd"]) == pytest.approx(first + second)
