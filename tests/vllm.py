"""A real vLLM fleet on 127.0.0.1 for the contract and routing tests (``make vllm`` installs it).

Each replica is ``tools/vllm/serve.py`` (vLLM's own server) on the packaged SmolLM2 135M, with
prefix caching, the prompt-token details that carry ``cached_tokens``, and Hermes tool calls;
each bound to its own core so two replicas do not fight over one. Started once per test session,
on first use, and stopped at its end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VLLM = ROOT / ".vllm"
MODEL = VLLM / "models" / "smollm2-135m-instruct"
SERVED = "smollm2"
START_S = 300.0  # ~40 s each when the machine is quiet; more while the suite runs beside them


def unavailable() -> str | None:
    """Why no vLLM can run here (None: it can)."""
    reason = VLLM / "unavailable"
    if reason.exists():
        return f"vLLM cannot be installed on this machine: {reason.read_text().strip()}"
    if not (VLLM / ".installed").exists():
        return "vLLM is not installed: run `make vllm` (make test does)"
    return None


def need_vllm() -> None:
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI") and not (VLLM / "unavailable").exists():
        pytest.fail(f"CI runs make test, which installs vLLM: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[bytes] | None  # None: a replica someone else runs (SPLITLANE_TEST_VLLM_PORTS)
    log: Path | None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.root + "/health", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def launch(core: str, logs: Path) -> Replica:
    port = free_port()
    log = logs / f"vllm-{port}.log"
    env = {
        **os.environ,
        "VLLM_TARGET_DEVICE": "cpu",
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": core,
        "VLLM_CACHE_ROOT": str(VLLM / "cache"),
        "HF_HUB_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
    }
    args = [
        str(VLLM / "bin" / "python"),
        str(ROOT / "tools" / "vllm" / "serve.py"),
        str(MODEL),
        "--served-model-name", SERVED,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--max-model-len", "4096",
        "--enable-prefix-caching",
        "--enable-prompt-tokens-details",
        "--dtype", "bfloat16",
        "--enable-auto-tool-choice",
        "--tool-call-parser", "hermes",
        "--enforce-eager",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return Replica(port, process, log)


def start_fleet(count: int, logs: Path) -> list[Replica]:
    """``count`` replicas, started together; returns once every one answers /health. With
    ``SPLITLANE_TEST_VLLM_PORTS`` (comma-separated), the replicas already running there instead
    (while working on these tests: a fleet costs ~40 s to start)."""
    if ports := os.environ.get("SPLITLANE_TEST_VLLM_PORTS"):
        running = [Replica(int(port), None, None) for port in ports.split(",")[:count]]
        if not all(replica.healthy() for replica in running):
            raise RuntimeError(f"SPLITLANE_TEST_VLLM_PORTS={ports}: not every replica answers /health")
        return running
    cores = os.cpu_count() or 1
    replicas = [launch(str(i % cores) if count > 1 else f"0-{cores - 1}", logs) for i in range(count)]
    deadline = time.monotonic() + START_S
    try:
        for replica in replicas:
            assert replica.process is not None
            assert replica.log is not None
            while not replica.healthy():
                if replica.process.poll() is not None or time.monotonic() > deadline:
                    tail = replica.log.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"vLLM on port {replica.port} did not start:\n{tail}")
                time.sleep(1.0)
    except BaseException:
        for replica in replicas:
            replica.stop()
        raise
    return replicas
