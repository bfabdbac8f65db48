"""The dashboard in headless Chromium (Playwright, Debian's /usr/bin/chromium): loaded while a
session is replayed through the gateway, it lists the session as live and draws one waterfall bar
group per stored turn; the JSON behind it follows the metric definitions."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from splitlane.bench.replay import GapPolicy, Replay, ReplayOptions, parse_target
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.telemetry.records import TurnRecord
from tests.conftest import gateway_with
from tests.scripted import stored_turns

CHROMIUM = "/usr/bin/chromium"
TURNS = 6
# as the probe found: without these, Chromium keeps calling out of a closed network
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("dashboard")
    config = {
        "upstreams": {"sim": {"kind": "sim", "sim_profile": "fast", "sim": {"decode_tps": "300"}}},
        "models": {"sim": {"upstream": "sim"}},
    }
    with gateway_with(config, data_dir) as url:
        yield url, data_dir


def _stored(data_dir: Path, session: str | None = None) -> list[TurnRecord]:
    """Read the store from another thread: Playwright's sync API runs an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(stored_turns, data_dir, session).result()


def _replay_in_background(url: str) -> threading.Thread:
    spec = PRESETS["tiny"].with_overrides({"sessions": "1", "turns_median": str(TURNS), "turns_min": "1"})
    sessions = generate(spec, 11)[1]
    options = ReplayOptions(gaps=GapPolicy("fixed", 0.6), arrivals="none")
    replay = Replay(sessions, [parse_target(f"gw={url},api=chat,model=sim")], options)
    thread = threading.Thread(target=lambda: asyncio.run(replay.run()), daemon=True)
    thread.start()
    return thread


def test_dashboard_shows_a_replayed_session_live_with_one_bar_group_per_turn(
    gateway: tuple[str, Path], tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/services does)")
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium; .ci/services does it)")
    from playwright.sync_api import sync_playwright

    url, data_dir = gateway
    replay = _replay_in_background(url)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1300})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "/dashboard")
            # during the replay: the session is listed as live
            page.wait_for_selector("#sessions tbody tr .live", timeout=20_000)
            replay.join(timeout=60)
            assert not replay.is_alive()
            (session,) = {t.session for t in _stored(data_dir)}
            stored = len(_stored(data_dir, session))
            assert stored == TURNS
            page.wait_for_function(f"document.querySelectorAll('#waterfall g.turn').length === {TURNS}", timeout=15_000)
            groups = page.locator("#waterfall g.turn")
            assert groups.count() == stored
            assert page.locator("#waterfall g.turn rect.decode").count() == stored
            assert page.locator("#waterfall g.turn rect.gap").count() == stored - 1  # no gap before the first
            assert session[:48] in page.locator("#sessions tbody tr").first.inner_text()
            assert page.locator("#table tbody tr").count() == 11 + 4  # time rows, then cost rows
            assert "cost per session (USD)" in page.locator("#table").inner_text()
            assert page.locator("#spend g.spend").count() == 1  # one lane: the sim's 'fast' profile is priced
            assert "$" in (page.locator("#spend g.spend").text_content() or "")
            assert "$" in page.locator("#sessions tbody tr").first.inner_text()
            assert page.locator("#distribution canvas").count() == 1
            assert page.locator("#cache canvas").count() == 1
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            keep = os.environ.get("SPLITLANE_DASHBOARD_SCREENSHOT")
            if keep:
                shutil.copy(shot, keep)
            assert errors == []
        finally:
            browser.close()


def test_session_json_follows_the_definitions(gateway: tuple[str, Path]) -> None:
    url, data_dir = gateway
    if not stored_turns(data_dir):  # run alone: replay the session here
        _replay_in_background(url).join(timeout=60)
    turns = stored_turns(data_dir)
    session = turns[0].session
    detail = httpx.get(url + "/dashboard/api/session", params={"id": session}).json()
    mine = [t for t in turns if t.session == session]
    assert len(detail["turns"]) == len(mine)
    assert detail["summary"]["wall_s"] == pytest.approx(mine[-1].t_last - mine[0].t_recv)
    for row, turn in zip(detail["turns"], mine, strict=True):
        assert row["ttft_s"] == pytest.approx(turn.ttft_s)
        assert row["end_s"] == pytest.approx(turn.t_last - mine[0].t_recv)
    overview = httpx.get(url + "/dashboard/api/overview", params={"by": "lane"}).json()
    assert overview["groups"][0]["name"] == "act"
    costs = [t.cost_usd for t in turns]
    assert all(c is not None and c > 0 for c in costs)  # the 'fast' sim profile carries a price
    assert overview["spend_usd"] == pytest.approx(sum(c for c in costs if c is not None))
    assert sum(overview["spend_by_lane"].values()) == pytest.approx(overview["spend_usd"])
    assert overview["unpriced_turns"] == 0
    row = next(r for r in overview["sessions"] if r["id"] == session)
    assert row["cost_usd"] == pytest.approx(sum(t.cost_usd or 0 for t in mine))
    assert detail["turns"][0]["cost_usd"] == pytest.approx(mine[0].cost_usd)
    assert overview["telemetry"]["dropped"] == 0
    assert httpx.get(url + "/dashboard/static/uPlot.iife.min.js").status_code == 200
