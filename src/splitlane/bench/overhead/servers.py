"""The processes ``splitlane bench overhead`` measures, each its own OS process on loopback: the
fast upstream, the splitlane gateway (``splitlane serve``, default settings), LiteLLM's proxy
(installed by the command in a virtualenv of its own, so its dependencies never touch ours) and
Portkey's gateway (installed by the command with npm into a folder of its own, run by ``node``)."""

from __future__ import annotations

import json
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
# Portkey's gateway from npm, with @hono/node-server held at 1.13.0: from 1.14 on (checked 1.14.4,
# 1.19.15 on Node 20; 1.19.19 on Node 18, 20 and 22) its lightweight Response keeps the upstream fetch
# response's immutable headers, Portkey appends its own to them, and every streamed request answers
# {"status": "failure", "message": "Something went wrong"}. 1.12.2 and 1.13.0 stream.
PORTKEY_VERSION = "1.15.2"
PORTKEY_HONO_NODE_SERVER = "1.13.0"
# Portkey listens on every interface (it passes no host to @hono/node-server's serve, which then
# listens on 0.0.0.0): this preload turns a listen on every interface into one on loopback.
LOOPBACK_PRELOAD = """const net = require("net");
const listen = net.Server.prototype.listen;
const EVERY = new Set([undefined, null, "0.0.0.0", "::"]);
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number") {
    if (typeof args[1] === "function") args.splice(1, 0, "127.0.0.1");
    else if (EVERY.has(args[1])) args[1] = "127.0.0.1";
  } else if (args[0] && typeof args[0] === "object" && args[0].port !== undefined && EVERY.has(args[0].host)) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
"""


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


def portkey_install(home: Path, version: str, say: Callable[[str], object] = print) -> Path:
    """The folder with ``@portkey-ai/gateway@version`` (and its pinned server), installed (once) under ``home``."""
    folder = home / f"portkey-{version}"
    script = folder / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
    if script.exists():
        return folder
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise ServerError(
            "Portkey's gateway needs Node.js and npm on the PATH (`make agents` installs the CLIs with them)"
        )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    say(f"installing @portkey-ai/gateway@{version} into {folder} (once; about a minute)")
    manifest = {
        "private": True,
        "dependencies": {"@portkey-ai/gateway": version},
        "overrides": {"@hono/node-server": PORTKEY_HONO_NODE_SERVER},
    }
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--omit=dev", "--ignore-scripts"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not script.exists():
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerError(
            f"could not install @portkey-ai/gateway@{version}:\n" + "\n".join(done.stderr.splitlines()[-10:])
        )
    return folder


def portkey_headers(upstream_url: str) -> dict[str, str]:
    """How a request names its upstream to Portkey: an OpenAI-compatible provider at a custom host."""
    return {"x-portkey-provider": "openai", "x-portkey-custom-host": f"{upstream_url}/v1"}


@contextmanager
def portkey(workdir: Path, folder: Path) -> Iterator[Server]:
    """Portkey's gateway as its README starts it on Node (``--headless``: no web console), on loopback."""
    port = free_port()
    script = folder / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
    node = shutil.which("node") or "node"
    preload = workdir / "loopback.cjs"
    preload.write_text(LOOPBACK_PRELOAD)
    argv = [node, "--require", str(preload), str(script), f"--port={port}", "--headless"]
    log = workdir / "portkey.log"
    with start_process(argv, log, env={**os.environ, "NODE_ENV": "production"}) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_ready("Portkey", f"{url}/", proc, log, 60)
        yield Server("portkey", url, proc.pid)


def workdir(stack: ExitStack) -> Path:
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="splitlane-overhead-")))
