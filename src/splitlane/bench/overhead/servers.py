"""The processes ``splitlane bench overhead`` measures, each its own OS process on loopback: the
fast upstream, the splitlane gateway (``splitlane serve``, default settings) and LiteLLM's proxy
(installed by the command in a virtualenv of its own, so its dependencies never touch ours)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path

from splitlane.bench.processes import Server, ServerError, free_port, start_process, wait_ready

# 1.100.0: the newest release whose dependencies this machine's package index can satisfy (later
# ones need a certifi it does not carry). ``--litellm-version`` picks another.
LITELLM_VERSION = "1.100.0"


@contextmanager
def _module_server(name: str, module: str, args: list[str], workdir: Path, ready_path: str) -> Iterator[Server]:
    """One of our bare uvicorn servers (``python -m module``, run by ``loopback.serve``: its port is its first line)."""
    log = workdir / f"{name}.log"
    with start_process([sys.executable, "-m", module, *args], log, pipe_stdout=True) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise ServerError(f"{name} did not start: {line or log.read_text(errors='replace')[-2000:]}")
        url = f"http://127.0.0.1:{line}"
        wait_ready(name, f"{url}{ready_path}", proc, log, 30)
        yield Server(name, url, proc.pid)


def upstream(workdir: Path, interval_ms: float) -> AbstractContextManager[Server]:
    args = ["--interval-ms", str(interval_ms)]
    return _module_server("upstream", "splitlane.bench.overhead.upstream", args, workdir, "/v1/models")


def bare_proxy(workdir: Path, upstream_url: str) -> AbstractContextManager[Server]:
    """The pass-through floor (``bare_proxy.py``) in front of the same upstream."""
    args = ["--upstream", upstream_url]
    return _module_server("bare", "splitlane.bench.overhead.bare_proxy", args, workdir, "/v1/models")


def splitlane_config(upstream_url: str, data_dir: Path) -> str:
    return (
        f'data_dir = "{data_dir}"\n\n'
        "[upstreams.fast]\n"
        'kind = "openai_chat"\n'
        f'base_url = "{upstream_url}/v1"\n\n'
        "[models.paced]\n"
        'upstream = "fast"\n\n'
        "[models.burst]\n"
        'upstream = "fast"\n'
    )


@contextmanager
def serve(workdir: Path, name: str, config_text: str) -> Iterator[Server]:
    """``splitlane serve --config <name>.toml`` as a user runs it, its log in ``<name>.log``."""
    config = workdir / f"{name}.toml"
    config.write_text(config_text)
    port = free_port()
    argv = [sys.executable, "-m", "splitlane", "serve", "--config", str(config), "--host", "127.0.0.1"]
    log = workdir / f"{name}.log"
    with start_process([*argv, "--port", str(port)], log) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready(name, f"{url}/health", proc, log, 60)
        yield Server(name, url, proc.pid)


def splitlane(workdir: Path, upstream_url: str) -> AbstractContextManager[Server]:
    """The gateway at its default settings (telemetry on, SQLite, info log) in front of the upstream."""
    return serve(workdir, "splitlane", splitlane_config(upstream_url, workdir / "splitlane-data"))


def litellm_config(upstream_url: str) -> str:
    entries = "".join(
        f"  - model_name: {model}\n"
        "    litellm_params:\n"
        f"      model: openai/{model}\n"
        f"      api_base: {upstream_url}/v1\n"
        "      api_key: unused\n"
        for model in ("paced", "burst")
    )
    return f"model_list:\n{entries}"


def litellm_venv(home: Path, version: str, say: Callable[[str], object] = print) -> Path:
    """The virtualenv with ``litellm[proxy]==version``, created (once) under ``home``."""
    venv = home / f"litellm-{version}"
    exe = venv / "bin" / "litellm"
    if exe.exists():
        return exe
    shutil.rmtree(venv, ignore_errors=True)
    say(f"installing litellm[proxy]=={version} into {venv} (once; about a minute)")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    done = subprocess.run([*pip, f"litellm[proxy]=={version}"], capture_output=True, text=True)
    if done.returncode != 0 or not exe.exists():
        shutil.rmtree(venv, ignore_errors=True)
        lines = [line for line in done.stderr.splitlines() if "is ignored" not in line]
        raise ServerError(f"could not install litellm[proxy]=={version}:\n" + "\n".join(lines[-10:]))
    return exe


@contextmanager
def litellm(workdir: Path, upstream_url: str, exe: Path) -> Iterator[Server]:
    """LiteLLM's proxy, one worker, as its docs start it, pointed at the same upstream."""
    config = workdir / "litellm.yaml"
    config.write_text(litellm_config(upstream_url))
    port = free_port()
    # the local cost map: at start LiteLLM would otherwise fetch it from the internet
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}
    env.pop("LITELLM_MASTER_KEY", None)
    argv = [str(exe), "--config", str(config), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    log = workdir / "litellm.log"
    with start_process(argv, log, env=env) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready("LiteLLM", f"{url}/health/liveliness", proc, log, 180)
        yield Server("litellm", url, proc.pid)


def workdir(stack: ExitStack) -> Path:
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="splitlane-overhead-")))
