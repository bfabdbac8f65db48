"""The floor of any Python gateway on this stack: a pass-through proxy on the same server and client
splitlane uses (uvicorn + uvloop + httptools in, its pooled HTTP/1.1 client out) that parses
nothing — the request body and every upstream read are forwarded as they are. ``splitlane bench
overhead --targets …,bare`` measures it beside splitlane: what splitlane adds over it is what
routing, translation, telemetry and limits cost; what it adds over direct is the price of a Python
hop at all.

Run as ``python -m splitlane.bench.overhead.bare_proxy --upstream URL``; prints its port.
"""

from __future__ import annotations

import argparse

from starlette.types import Receive, Scope, Send

from splitlane.bench.overhead import loopback
from splitlane.upstream.pool import Pool

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"content-length", b"host"})


class BareProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.pool: Pool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = await loopback.read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k not in HOP_BY_HOP}
        assert self.pool is not None
        response = await self.pool.request(scope["method"], scope["path"], headers, body)
        try:
            out = [(b"content-type", response.headers.get("content-type", "application/json").encode("latin-1"))]
            await send({"type": "http.response.start", "status": response.status, "headers": out})
            async for data in response.chunks():
                await send({"type": "http.response.body", "body": data, "more_body": True})
        finally:
            response.release()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = Pool(self.upstream, limit=1024)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.pool is not None:
                    await self.pool.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="the upstream's base URL (scheme://host:port)")
    args = parser.parse_args(argv)
    loopback.serve(BareProxy(args.upstream), lifespan="on")


if __name__ == "__main__":
    main()
