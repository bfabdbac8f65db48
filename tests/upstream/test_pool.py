"""The upstream hop's HTTP/1.1 client against a scripted server on loopback: what goes on the
wire, the three ways a body ends, keep-alive reuse and its limits, and every way it fails."""

from __future__ import annotations

import asyncio
import functools
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvloop

from splitlane.upstream.connection import BadHeader, ConnectFailed, ConnectionLost, ReadTimeout
from splitlane.upstream.pool import Pool


def on_both_loops(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run on asyncio's own loop and on uvloop (the gateway's): their transports differ."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))
        uvloop.run(test(*args, **kwargs))

    return run


Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


@dataclass
class Server:
    url: str
    connections: int = 0
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # a client connection ended


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    return head + await reader.readexactly(length)


@asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[Server]:
    """A server that runs ``script(reader, writer, n)`` for its n-th connection (from 1)."""
    server = Server("")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            await script(reader, writer, server.connections)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            server.closed.set()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"http://127.0.0.1:{port}/v1"
    async with listener:
        yield server


def answering(answer: bytes, then_one_more: bool = False) -> Script:
    """Each connection reads a request and sends ``answer`` (then, with ``then_one_more``, takes
    the next request unanswered), and closes."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        if then_one_more:
            await read_request(reader)

    return script


async def fetch(pool: Pool) -> bytes:
    """One request's whole answer, its connection given back."""
    response = await pool.request("POST", "/x", {}, b"{}")
    try:
        return await response.read()
    finally:
        response.release()


def keep_serving(body: bytes = b'{"ok":true}') -> Script:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()

    return script


@on_both_loops
async def test_one_write_carries_the_request_and_the_connection_is_kept() -> None:
    seen: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            seen.append(await read_request(reader))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    async with scripted(script) as server:
        pool = Pool(server.url)
        for _ in range(3):
            headers = {"authorization": "Bearer k", "Accept-Encoding": "gzip", "content-length": "1"}
            response = await pool.request("POST", "/chat/completions", headers, b'{"a":1}')
            assert (response.status, response.headers["content-type"]) == (200, "application/json")
            assert await response.read() == b"{}"
            response.release()
        await pool.aclose()
    port = server.url.split(":")[2].split("/")[0]
    assert (
        seen[0]
        == (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: identity\r\n"
            'authorization: Bearer k\r\nContent-Length: 7\r\n\r\n{"a":1}'
        ).encode()
    )
    assert server.connections == 1  # kept alive and reused


@on_both_loops
async def test_prewarmed_connections_serve_the_first_requests() -> None:
    async with scripted(keep_serving()) as server:
        pool = Pool(server.url, limit=2)
        await pool.prewarm(2)
        await asyncio.sleep(0.05)
        assert server.connections == 2  # opened before any request
        assert pool.in_use == 0
        assert await asyncio.gather(fetch(pool), fetch(pool)) == [b'{"ok":true}'] * 2
        assert server.connections == 2  # and used by them: no third connect
        await pool.aclose()


@on_both_loops
async def test_chunked_body_arrives_as_it_is_sent() -> None:
    gate = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"6\r\ndata: \r\n")
        await writer.drain()
        await gate.wait()  # the client must have the first chunk before the second exists
        writer.write(b"3\r\n1\n\n\r\n0\r\n\r\n")
        await writer.drain()
        await read_request(reader)  # the connection is reused for another request

    async with scripted(script) as server:
        pool = Pool(server.url)
        response = await pool.request("POST", "/x", {}, b"{}")
        chunks = response.chunks()
        assert await asyncio.wait_for(anext(chunks), 5) == b"data: "
        gate.set()
        assert [c async for c in chunks] == [b"1\n\n"]
        assert response.complete
        response.release()
        assert pool.in_use == 0
        await pool.aclose()


@on_both_loops
async def test_an_informational_answer_is_passed_over() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
    slow = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 4\r\n\r\nslow"
    async with scripted(answering(early + slow)) as server:
        pool = Pool(server.url)
        response = await pool.request("POST", "/x", {}, b"{}")
        assert (response.status, response.headers) == (429, {"retry-after": "3", "content-length": "4"})
        assert await response.read() == b"slow"
        response.release()
        await pool.aclose()


@on_both_loops
async def test_bytes_after_the_answer_end_the_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: 5\r\n\r\nstale")  # nobody asked for it
            await writer.drain()

    async with scripted(script) as server:
        pool = Pool(server.url)
        first = await pool.request("POST", "/x", {}, b"{}")
        assert await first.read() == b"ok"
        await asyncio.sleep(0.2)  # the stray answer arrives before the response is released
        assert first.status == 200  # and changes nothing of it
        first.release()
        assert await fetch(pool) == b"ok"  # not the stray "stale": a new connection
        await pool.aclose()
    assert server.connections == 2


@pytest.mark.parametrize(
    ("answer", "then_one_more", "body"),
    [
        # a body without a length ends with the connection, and "Connection: close" is never reused
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it", False, b"all of it"),
        # a kept-alive connection takes the next request and closes without a word (a server whose
        # keep-alive ran out as the request came): the request goes out again, once, on a new one
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True, b"ok"),
    ],
    ids=["read-to-close", "stale-keep-alive-retried"],
)
@on_both_loops
async def test_each_of_two_requests_gets_its_answer_on_a_connection_of_its_own(
    answer: bytes, then_one_more: bool, body: bytes
) -> None:
    async with scripted(answering(answer, then_one_more)) as server:
        pool = Pool(server.url)
        assert [await fetch(pool), await fetch(pool)] == [body, body]
        await pool.aclose()
    assert server.connections == 2


@on_both_loops
async def test_a_fresh_connection_that_is_closed_unanswered_is_an_error() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)  # and close: not retried, the request may have been acted on

    async with scripted(script) as server:
        pool = Pool(server.url)
        with pytest.raises(ConnectionLost):
            await pool.request("POST", "/x", {}, b"{}")
        assert pool.in_use == 0
        await pool.aclose()
    assert server.connections == 1


@on_both_loops
async def test_a_connection_lost_mid_body_is_an_error_not_an_end() -> None:
    async with scripted(answering(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")) as server:
        pool = Pool(server.url)
        response = await pool.request("POST", "/x", {}, b"{}")
        with pytest.raises(ConnectionLost):
            await asyncio.wait_for(response.read(), 5)
        response.release()
        assert pool.in_use == 0
        await pool.aclose()


@on_both_loops
async def test_a_response_released_before_its_end_closes_its_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
        await writer.drain()
        await reader.read()  # until the client closes

    async with scripted(script) as server:
        pool = Pool(server.url)
        response = await pool.request("POST", "/x", {}, b"{}")
        assert await anext(response.chunks()) == b"a"
        response.release()
        await asyncio.wait_for(server.closed.wait(), 5)  # the server saw the close: no half-read reuse
        assert pool.in_use == 0
        await pool.aclose()


@on_both_loops
async def test_a_header_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    async with scripted(keep_serving()) as server:
        pool = Pool(server.url)
        with pytest.raises(BadHeader):
            await pool.request("POST", "/x", {"x-evil": "a\r\nHost: elsewhere"}, b"{}")
        with pytest.raises(BadHeader, match="Latin-1"):
            await pool.request("POST", "/x", {"x-name": "Zoë ✓"}, b"{}")
        await pool.aclose()
    assert server.connections == 0


@on_both_loops
async def test_connect_failures_and_read_timeouts() -> None:
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    listener.close()
    await listener.wait_closed()
    pool = Pool(f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectFailed):
        await pool.request("POST", "/x", {}, b"{}")
    assert pool.in_use == 0

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with scripted(silent) as server:
        pool = Pool(server.url)
        with pytest.raises(ReadTimeout):
            await pool.request("POST", "/x", {}, b"{}", read_timeout_s=0.2)
        assert pool.in_use == 0
        await pool.aclose()


@on_both_loops
async def test_the_pool_limit_makes_requests_wait_for_a_connection() -> None:
    async with scripted(keep_serving()) as server:
        pool = Pool(server.url, limit=1)
        first = await pool.request("POST", "/x", {}, b"{}")
        second = asyncio.ensure_future(pool.request("POST", "/x", {}, b"{}"))
        await asyncio.sleep(0.1)
        assert not second.done()  # waiting for the one connection
        await first.read()
        first.release()
        response = await asyncio.wait_for(second, 5)
        assert await response.read() == b'{"ok":true}'
        response.release()
        await pool.aclose()
    assert server.connections == 1


def test_only_http_urls_make_a_pool() -> None:
    with pytest.raises(ValueError, match="http"):
        Pool("ftp://example.com")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, made by the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (Debian: apt-get install openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_upstreams_are_verified_and_spoken_to(certificate: tuple[str, str]) -> None:
    cert, key = certificate
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)

    async def scenario() -> None:
        listener = await asyncio.start_server(lambda r, w: keep_serving()(r, w, 1), "127.0.0.1", 0, ssl=served)
        port = listener.sockets[0].getsockname()[1]
        async with listener:
            trusted = Pool(f"https://127.0.0.1:{port}/v1", ssl_context=ssl.create_default_context(cafile=cert))
            assert await fetch(trusted) == b'{"ok":true}'
            await trusted.aclose()
            untrusted = Pool(f"https://127.0.0.1:{port}/v1")  # the system's CAs: a self-signed server is refused
            with pytest.raises(ConnectFailed, match="CERTIFICATE_VERIFY_FAILED"):
                await untrusted.request("POST", "/x", {}, b"{}")
            await untrusted.aclose()

    asyncio.run(scenario())
    uvloop.run(scenario())


@on_both_loops
async def test_a_reader_that_falls_behind_pauses_the_upstream() -> None:
    """The client stops reading the socket once a few MiB wait unread: the upstream's writes block
    (instead of the gateway buffering a whole answer in memory), and resume as it is read."""
    size = 32 * 2**20
    sent_all = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"x" * 2**20
        for _ in range(size // len(block)):
            writer.write(block)
            await writer.drain()
        sent_all.set()

    async with scripted(script) as server:
        pool = Pool(server.url)
        response = await pool.request("POST", "/x", {}, b"{}")
        await asyncio.sleep(0.5)
        assert not sent_all.is_set()  # held back: nothing read yet
        assert len(await response.read()) == size
        assert sent_all.is_set()
        response.release()
        await pool.aclose()
