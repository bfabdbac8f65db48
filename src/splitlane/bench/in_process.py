"""Servers the benches (and ``splitlane sim``) start inside their own process: the simulator and the
embedded gateway, each on a free loopback port in a thread of its own (its own event loop, so the
client measuring it does not share one with it)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from splitlane.api.app import create_app
from splitlane.config import Config


def sim_settings(profile: str, overrides: dict[str, str], seed: int | None = None) -> Config:
    """A gateway config whose only upstream is the simulator, answering any model name."""
    return Config.model_validate(
        {
            "data_dir": Path(os.environ.get("SPLITLANE_HOME", "~/.splitlane")).expanduser() / "sim",
            "upstreams": {"sim": {"kind": "sim", "sim_profile": profile, "sim": overrides, "sim_seed": seed}},
            "models": {"sim": {"upstream": "sim"}},
            "catch_all": "sim",
        }
    )


@contextmanager
def serve_in_thread(app: Any, start_timeout_s: float = 120.0) -> Iterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", loop="uvloop", http="httptools")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"serve-{port}")
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError(f"the in-process server on port {port} did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def serve_config(config: Config) -> Iterator[str]:
    with serve_in_thread(create_app(config)) as url:
        yield url
