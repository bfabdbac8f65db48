"""How the benchmark's own bare servers (the fast upstream, the pass-through proxy) run: uvicorn
(uvloop + httptools, no access log) on a free loopback port, which goes out as the first line of
stdout for the parent process (``servers._module_server``) to read."""

from __future__ import annotations

import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NoReturn

import uvicorn

App = Callable[[Any, Any, Any], Awaitable[None]]


async def read_body(receive: Callable[[], Awaitable[Any]]) -> bytes:
    """A request's whole body, from its ASGI messages."""
    parts: list[bytes] = []
    more = True
    while more:
        message = await receive()
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(parts)  # not += per message: a 400 KB prompt arrives in many


def serve(app: App, lifespan: Literal["on", "off"]) -> NoReturn:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)  # the parent reads the port from the first line
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        loop="uvloop",
        http="httptools",
        backlog=4096,
    )
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)
