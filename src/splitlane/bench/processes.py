"""Processes the benchmarks start on loopback: started with their output in a log file, waited
for until they answer, stopped (SIGTERM, then SIGKILL) when the benchmark ends."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil


class ServerError(RuntimeError):
    """A process the benchmark needs did not start; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    url: str
    pid: int

    def process(self) -> psutil.Process:
        return psutil.Process(self.pid)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def start_process(
    argv: Sequence[str], log: Path, env: dict[str, str] | None = None, pipe_stdout: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """The process, its output in ``log`` (stdout piped instead when the caller reads it)."""
    with log.open("wb") as out:
        stdout = subprocess.PIPE if pipe_stdout else out
        proc = subprocess.Popen(argv, stdout=stdout, stderr=out, env=env, stdin=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(name: str, url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise ServerError(f"{name} exited with status {proc.returncode} while starting:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as answer:  # a loopback probe: stdlib is enough
                if answer.status == 200:
                    return
        except (OSError, ValueError):  # refused, reset, timed out, an HTTP error status
            pass
        time.sleep(0.2)
    raise ServerError(f"{name} did not answer {url} within {timeout_s:.0f} s (log: {log})")
