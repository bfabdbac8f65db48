"""How loaded each replica is: the gateway's own count of turns in flight there, and the numbers
the replica reports itself (vLLM's and SGLang's Prometheus ``/metrics``), polled in the background.

A replica's load is this gateway's turns in flight there now plus everyone else's: the requests
the server said it was running or holding waiting, less this gateway's own turns at the time of
that report (so a turn of ours that has ended since is not counted twice, and other gateways'
and tenants' traffic is). A report older than three poll periods plus the poll's own timeout is
not used. The poller never blocks routing: routing reads the last numbers it has.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from prometheus_client.parser import text_string_to_metric_families

from splitlane.config import UpstreamConfig
from splitlane.core.errors import SplitlaneError
from splitlane.upstream.http import HttpClient, get_raw

log = logging.getLogger("splitlane.routing")

# (waiting requests, running requests, KV-cache use 0..1): each server's names for them
WAITING = ("vllm:num_requests_waiting", "sglang:num_queue_reqs")
RUNNING = ("vllm:num_requests_running", "sglang:num_running_reqs")
KV_USAGE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage")


@dataclass(frozen=True, slots=True)
class Reported:
    """What a replica said about itself at ``at`` (``time.monotonic()``)."""

    waiting: float
    running: float
    kv_usage: float | None
    at: float
    own: int = 0  # this gateway's turns in flight there when the report came


def parse_metrics(text: str, at: float) -> Reported | None:
    """The load figures in a Prometheus text exposition (None: it has none of them)."""
    values: dict[str, float] = defaultdict(float)
    seen: set[str] = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (*WAITING, *RUNNING, *KV_USAGE):
                values[sample.name] += sample.value  # summed over the model_name/engine labels
                seen.add(sample.name)
    if not seen:
        return None

    def first(names: tuple[str, ...]) -> float | None:
        return next((values[n] for n in names if n in seen), None)

    return Reported(first(WAITING) or 0.0, first(RUNNING) or 0.0, first(KV_USAGE), at)


class LoadBoard:
    """Turns in flight per replica (this gateway's) and each replica's last report."""

    def __init__(self, poll_s: float = 1.0) -> None:
        self.poll_s = poll_s
        # a busy server answers /metrics late (vLLM's under load: most of a second on two cores)
        self.poll_timeout_s = max(2 * poll_s, 2.0)
        self.inflight: dict[str, int] = defaultdict(int)
        self.reported: dict[str, Reported] = {}

    def started(self, replica: str) -> None:
        self.inflight[replica] += 1

    def ended(self, replica: str) -> None:
        self.inflight[replica] = max(0, self.inflight[replica] - 1)

    def report(self, replica: str, now: float | None = None) -> Reported | None:
        reported = self.reported.get(replica)
        now = time.monotonic() if now is None else now
        if reported is None or now - reported.at > 3 * self.poll_s + self.poll_timeout_s:
            return None
        return reported

    def load(self, replica: str, now: float | None = None) -> float:
        """Turns in flight from here plus what others run and queue there (fresh reports only)."""
        reported = self.report(replica, now)
        own = float(self.inflight[replica])
        if reported is None:
            return own
        return own + max(0.0, reported.running + reported.waiting - reported.own)


def metrics_root(base_url: str) -> str:
    """The server's root, where ``/metrics`` is (an OpenAI-style base URL ends in ``/v1``)."""
    return base_url.rstrip("/").removesuffix("/v1")


class MetricsPoller:
    """Polls ``/metrics`` of each replica of the upstreams that ask for it (``balance.metrics``)."""

    def __init__(self, board: LoadBoard, upstreams: Iterable[tuple[UpstreamConfig, str]]) -> None:
        self.board = board
        self._clients = [(url, HttpClient(config, metrics_root(url))) for config, url in upstreams]
        self._task: asyncio.Task[None] | None = None
        self._failing: set[str] = set()

    def start(self) -> None:
        if self._clients and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="splitlane-metrics-poller")

    async def poll_once(self) -> None:
        await asyncio.gather(*(self._poll(url, client) for url, client in self._clients))

    async def _run(self) -> None:
        while True:
            await self.poll_once()
            await asyncio.sleep(self.board.poll_s)

    async def _poll(self, url: str, client: HttpClient) -> None:
        try:
            async with asyncio.timeout(self.board.poll_timeout_s):
                status, raw = await get_raw(client, url, "/metrics")
            if status != 200:
                raise ValueError(f"HTTP {status}")
            reported = parse_metrics(raw.decode("utf-8", "replace"), time.monotonic())
        except (SplitlaneError, TimeoutError, ValueError) as exc:
            if url not in self._failing:
                log.warning("replica %s: no load figures from /metrics (%s); routing uses its own counts", url, exc)
                self._failing.add(url)
            return
        self._failing.discard(url)
        if reported is not None:
            self.board.reported[url] = replace(reported, own=self.board.inflight[url])

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await asyncio.gather(*(client.aclose() for _, client in self._clients))
