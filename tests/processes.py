"""`splitlane serve` in a process of its own, for tests of what only a real process shows (signals,
several gateway replicas on one database)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_process(config: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The gateway of ``config`` (which listens on ``port``), once its /health answers; killed at the end."""
    server = subprocess.Popen(
        [sys.executable, "-m", "splitlane", "serve", "-c", str(config), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
