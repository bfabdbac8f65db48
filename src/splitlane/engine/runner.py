"""The only module that imports llama_cpp: the model, its KV cache and one batched decode.

Built on llama.cpp's low-level API: one context holds several sequences in one unified KV cache
(a prefix shared by two sequences is stored once), each step decodes one ``llama_batch`` that
mixes every sequence's new tokens, and sampling runs in C on the logits row of a batch position
(``llama_sampler_sample``), so no Python work is proportional to the vocabulary. Everything here
runs on the engine thread, except ``tokenize`` (reads only the vocabulary).
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
from llama_cpp.llama_grammar import json_schema_to_gbnf

from splitlane.core.errors import InternalError, InvalidRequest


@dataclass(frozen=True, slots=True)
class SamplingParams:
    temperature: float = 1.0
    top_p: float = 0.95
    top_k: int = 64
    seed: int | None = None
    ignore_eos: bool = False  # keep generating past end-of-generation tokens (benchmark replay)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0 or self.top_k == 1


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    model_path: Path
    n_ctx: int = 8192  # the longest sequence (prompt + output) one request may have
    n_seq: int = 4  # sequences held at once: running requests plus cached sessions
    kv_cells: int | None = None  # with kv_unified: the cache all sequences share (default n_ctx * 2)
    # False: a KV stream per sequence, n_ctx cells each (n_ctx * n_seq in all, kv_cells unused): a
    # query attends over its own sequence's cells only, not every cell of every cached session, and
    # a mixed step (one prompt's chunk + others' decode tokens) cost 1.18 s instead of 1.68 at 8K
    # tokens each; prefixes are shared by copying a whole stream instead of by reference
    kv_unified: bool = False
    n_batch: int = 512  # tokens per decode step (prefill chunks share a step with decoding)
    n_threads: int | None = None
    flash_attn: bool = True  # 1.2-1.4x faster prefill and decode at 6K tokens of context on 2 cores
    # llama.cpp's repacked CPU matmuls: ~5% faster prefill here, but verifying k drafted tokens then
    # costs 12x one token at k=16 (7x without), and logits depend more on how tokens were batched
    repack: bool = False


@dataclass(frozen=True, slots=True)
class BatchToken:
    token: int
    pos: int
    seq: int
    logits: bool


def rope_stretch(n_train: int, n_ctx: int) -> dict[str, int | float]:
    """Context settings for a context past the model's trained one: YaRN stretches the rotary
    positions (as llama-server's ``--rope-scaling yarn``). SmolLM2 (trained on 8K) asked about an
    11K-token file answered on topic with it and looped on one sentence without it; short prompts
    answer as before. Names as llama.cpp's context parameters (and llama-cpp-python's settings)."""
    if not 0 < n_train < n_ctx:
        return {}
    return {"rope_scaling_type": llama_cpp.LLAMA_ROPE_SCALING_TYPE_YARN, "rope_freq_scale": n_train / n_ctx,
            "yarn_orig_ctx": n_train}  # fmt: skip


def trained_context(model_path: Path) -> int:
    """The context length a GGUF was trained on (0: it does not say); only its header and vocabulary are read."""
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    llama_cpp.llama_log_set(_quiet, ctypes.c_void_p(0))
    model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), params)
    if not model:
        raise InternalError(f"cannot load the model {model_path}")

    def meta(key: str) -> str:
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_model_meta_val_str(model, key.encode(), buf, len(buf))
        return buf.value.decode() if n >= 0 else ""

    try:  # a vocabulary-only load reads the header's keys but not the hyperparameters
        length = meta(f"{meta('general.architecture')}.context_length")
        return int(length) if length.isdigit() else 0
    finally:
        llama_cpp.llama_model_free(model)


class KvFull(Exception):
    """The KV cache has no room for this batch; free some cells and try again."""


def grammar_of(json_schema: str) -> str:
    """The GBNF grammar that constrains output to ``json_schema``; a schema it cannot express is the
    client's error (pure Python: call it off the event loop for large schemas)."""
    try:
        return str(json_schema_to_gbnf(json_schema))
    except Exception as exc:  # the converter asserts, raises KeyError/ValueError/RecursionError on odd schemas
        raise InvalidRequest(
            "tools: the forced tool's parameters are not a JSON schema this engine can follow "
            f"({exc or type(exc).__name__})",
            param="tools",
        ) from exc


class Sampler:
    """One request's sampler chain (lives in C)."""

    def __init__(self, runner: Runner, params: SamplingParams, grammar: str | None) -> None:
        chain_params = llama_cpp.llama_sampler_chain_default_params()
        chain_params.no_perf = True
        self._ptr = llama_cpp.llama_sampler_chain_init(chain_params)
        add = llama_cpp.llama_sampler_chain_add
        if grammar is not None:
            constrained = llama_cpp.llama_sampler_init_grammar(runner.vocab, grammar.encode(), b"root")
            if not constrained:
                llama_cpp.llama_sampler_free(self._ptr)
                raise InvalidRequest("tools: the forced tool's parameters make a grammar llama.cpp cannot parse")
            add(self._ptr, constrained)
        if params.greedy:
            add(self._ptr, llama_cpp.llama_sampler_init_greedy())
        else:
            add(self._ptr, llama_cpp.llama_sampler_init_top_k(params.top_k))
            add(self._ptr, llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
            add(self._ptr, llama_cpp.llama_sampler_init_temp(params.temperature))
            seed = llama_cpp.LLAMA_DEFAULT_SEED if params.seed is None else params.seed & 0xFFFFFFFF
            add(self._ptr, llama_cpp.llama_sampler_init_dist(seed))
        self._ctx = runner.ctx

    def sample(self, index: int) -> int:
        """The next token from the logits of batch position ``index`` of the last decode."""
        return int(llama_cpp.llama_sampler_sample(self._ptr, self._ctx, index))

    def free(self) -> None:
        if self._ptr is not None:
            llama_cpp.llama_sampler_free(self._ptr)
            self._ptr = None


def _ignore(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    """llama.cpp's own log (hundreds of lines per model load) stays out of the gateway's output."""


_quiet = llama_cpp.llama_log_callback(_ignore)  # kept referenced: C holds the pointer


class Runner:
    def __init__(self, config: RunnerConfig) -> None:
        llama_cpp.llama_log_set(_quiet, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
        model_params = llama_cpp.llama_model_default_params()
        model_params.use_extra_bufts = config.repack
        self.model = llama_cpp.llama_model_load_from_file(str(config.model_path).encode(), model_params)
        if not self.model:
            raise InternalError(f"cannot load the model {config.model_path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_ctx = config.n_ctx
        self.n_seq = config.n_seq
        self.n_batch = config.n_batch
        params = llama_cpp.llama_context_default_params()
        for key, value in rope_stretch(llama_cpp.llama_model_n_ctx_train(self.model), self.n_ctx).items():
            setattr(params, key, value)
        self.unified = config.kv_unified
        if self.unified:
            params.n_ctx = max(config.kv_cells or self.n_ctx * 2, self.n_ctx)
        else:
            params.n_ctx = self.n_ctx * config.n_seq
        params.n_batch = params.n_ubatch = config.n_batch
        params.n_seq_max = config.n_seq
        params.kv_unified = self.unified
        params.swa_full = True  # sliding-window layers keep every position: prefixes stay reusable
        params.no_perf = True
        params.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if config.flash_attn else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        threads = config.n_threads or max(1, os.cpu_count() or 1)
        params.n_threads = params.n_threads_batch = threads
        self.ctx = llama_cpp.llama_init_from_model(self.model, params)
        if not self.ctx:
            raise InternalError("cannot create the llama.cpp context")
        self.kv_cells = llama_cpp.llama_n_ctx(self.ctx)
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(config.n_batch, 0, 1)
        self._piece = ctypes.create_string_buffer(256)
        self.metadata = self._metadata()

    def _metadata(self) -> dict[str, str]:
        out: dict[str, str] = {}
        buf = ctypes.create_string_buffer(1 << 16)
        for i in range(llama_cpp.llama_model_meta_count(self.model)):
            n = llama_cpp.llama_model_meta_key_by_index(self.model, i, buf, len(buf))
            if n < 0:
                continue
            key = buf.value.decode("utf-8", "replace")
            need = llama_cpp.llama_model_meta_val_str_by_index(self.model, i, None, 0)
            value = ctypes.create_string_buffer(max(need, 0) + 1)
            llama_cpp.llama_model_meta_val_str_by_index(self.model, i, value, len(value))
            out[key] = value.value.decode("utf-8", "replace")
        return out

    def tokenize(self, text: str) -> list[int]:
        """Safe from any thread: tokenizing reads only the vocabulary."""
        data = text.encode("utf-8")
        size = len(data) + 8
        while True:
            out = (llama_cpp.llama_token * size)()
            n = llama_cpp.llama_tokenize(self.vocab, data, len(data), out, size, False, True)
            if n >= 0:
                return list(out[:n])
            size = -n

    def token_bytes(self, token: int) -> bytes:
        n = llama_cpp.llama_token_to_piece(self.vocab, token, self._piece, len(self._piece), 0, False)
        return self._piece.raw[:n] if n > 0 else b""

    def is_end(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def sampler(self, params: SamplingParams, grammar: str | None = None) -> Sampler:
        return Sampler(self, params, grammar)

    def decode(self, tokens: Sequence[BatchToken]) -> None:
        """Decode one batch (at most ``n_batch`` tokens); raises ``KvFull`` when the cache has no room."""
        batch = self.batch
        for i, t in enumerate(tokens):
            batch.token[i] = t.token
            batch.pos[i] = t.pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = t.seq
            batch.logits[i] = t.logits
        batch.n_tokens = len(tokens)
        status = llama_cpp.llama_decode(self.ctx, batch)
        if status == 1:
            raise KvFull
        if status != 0:
            raise InternalError(f"llama_decode failed with status {status}")

    def forget(self, seq: int, start: int = 0) -> None:
        """Drop positions ``start..`` of sequence ``seq`` from the KV cache."""
        if not llama_cpp.llama_memory_seq_rm(self.memory, seq, start, -1):
            llama_cpp.llama_memory_seq_rm(self.memory, seq, 0, -1)
            raise InternalError(f"the KV cache refused to truncate sequence {seq} at {start}")

    def share(self, source: int, target: int, length: int, start: int = 0) -> None:
        """Let ``target`` see positions ``start..length`` of ``source`` (whose first ``start``
        positions it holds already). In one unified cache the cells are shared, not copied; across
        streams llama.cpp copies only a whole stream (at the next decode), so ``target`` gets all of
        ``source`` and drops what lies past ``length``."""
        if self.unified:
            llama_cpp.llama_memory_seq_cp(self.memory, source, target, start, length)
            return
        llama_cpp.llama_memory_seq_cp(self.memory, source, target, -1, -1)
        self.forget(target, length)

    def close(self) -> None:
        llama_cpp.llama_batch_free(self.batch)
        llama_cpp.llama_free(self.ctx)
        llama_cpp.llama_model_free(self.model)
