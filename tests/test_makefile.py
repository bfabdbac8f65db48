"""The Makefile builds the llama-cpp-python wheel the package pins (a mismatch would compile it twice
and install a build without the Makefile's flags)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_makefile_builds_the_pinned_llama_cpp_python() -> None:
    made = re.search(r"^LLAMA_CPP_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert made is not None
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = [d for d in [*project["dependencies"], *project["optional-dependencies"]["dev"]] if "llama-cpp-python" in d]
    assert pins
    for pin in pins:
        assert pin.endswith(f"=={made.group(1)}"), pin


def test_the_wheel_is_portable_and_batch_invariant() -> None:
    flags = re.search(r"^LLAMA_CMAKE_ARGS := (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert flags is not None
    assert "-DGGML_NATIVE=OFF" in flags.group(1)
    assert "-DGGML_LLAMAFILE=OFF" in flags.group(1)
