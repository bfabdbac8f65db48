"""One typed config, loaded once at start and passed down explicitly.

Every key is documented in ``docs/config.md``. With no config file the gateway serves the embedded
engine under the alias ``local``.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from splitlane.engine.models import DEFAULT_MODEL, PackagedModel, packaged
from splitlane.sim_profiles import load_profile

UpstreamKind = Literal["openai_chat", "openai_responses", "anthropic", "local", "sim"]
LaneName = Literal["plan", "act", "background"]
# Where a Chat Completions upstream puts reasoning (upstream/openai_chat/reasoning.py).
ReasoningFormat = Literal["none", "reasoning_content", "reasoning", "reasoning_details", "think_tags"]

DEFAULT_ALIAS = "local"


class ConfigError(Exception):
    """The config file cannot be used; the message says which key and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CacheConfig(_Strict):
    """An upstream's prompt-cache policy (docs/config.md, "Prompt caching")."""

    # anthropic upstreams: a request from a surface that cannot mark breakpoints (Chat, Responses)
    # and carries none gets them: tools, system, and a rolling pair on the latest turns (4 at most)
    breakpoints: Literal["auto", "off"] = "auto"
    ttl: Literal["5m", "1h"] | None = None  # the TTL of the breakpoints the gateway adds (None: 5 min)
    # openai_chat / openai_responses upstreams: prompt_cache_key = the session id when the client sent none
    prompt_cache_key: bool = True


class BalanceConfig(_Strict):
    """How the ``prefix`` and ``least_loaded`` policies weigh an upstream's replicas (routing/balance.py)."""

    # poll each replica's Prometheus /metrics (vLLM, SGLang) for waiting requests and KV-cache use
    metrics: bool = False
    poll_s: float = Field(default=1.0, gt=0)
    imbalance: float = Field(default=4.0, ge=0)  # prefix: past this many turns apart, the least loaded wins
    block_chars: int = Field(default=512, ge=16)  # prefix: the block the prompt is hashed in (~128 tokens)
    prefix_ttl_s: float = Field(default=600.0, gt=0)  # prefix: how long a replica is taken to keep a prefix
    unreachable_cooldown_s: float = Field(default=10.0, ge=0)  # a replica that refused a connection goes last


class PriceConfig(_Strict):
    """USD per million tokens. ``cached_input`` (cache reads) and ``cache_write`` default to the
    input price (a provider without prompt-cache prices), ``cache_write_1h`` to ``cache_write``.
    Or ``per_hour``: a server rented by the hour, each turn paying for its time on it, shared with
    the turns it had in flight at once (docs/costs.md)."""

    input: float | None = Field(default=None, ge=0)
    output: float | None = Field(default=None, ge=0)
    cached_input: float | None = Field(default=None, ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    cache_write_1h: float | None = Field(default=None, ge=0)
    per_hour: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_kind(self) -> PriceConfig:
        tokens = self.input is not None or self.output is not None
        if self.per_hour is not None and tokens:
            raise ValueError("a price is per token (input, output, ...) or per_hour, not both")
        if self.per_hour is None and (self.input is None or self.output is None):
            raise ValueError("a price per token needs input and output (USD per million tokens), or give per_hour")
        return self


FREE = PriceConfig(input=0, output=0)


def _price(value: object) -> object:
    """``price = 0``: free (the embedded engine, a self-hosted server)."""
    if value == 0 and not isinstance(value, bool):
        return FREE
    return value


Price = Annotated[PriceConfig, BeforeValidator(_price)]


class UpstreamConfig(_Strict):
    kind: UpstreamKind
    base_url: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    connect_timeout_s: float = 10.0
    idle_timeout_s: float = Field(default=300.0, gt=0)  # longest silence between two events of a stream
    total_timeout_s: float = Field(default=1800.0, gt=0)  # longest a whole turn may take, first byte to end
    max_connections: int = 256
    # No first event by then: fall back (before anything reached the client). Default: 120 s for
    # remote upstreams; none for the embedded engine, whose cold prefill of a long prompt takes minutes.
    first_byte_timeout_s: float | None = None
    replicas: list[str] = Field(default_factory=list)  # several base URLs of one server
    # which replica serves a turn (routing/balance.py): session affinity, the longest cached
    # prefix, the least loaded, or each in turn
    routing: Literal["session", "prefix", "least_loaded", "round_robin"] = "session"
    balance: BalanceConfig = Field(default_factory=lambda: BalanceConfig())
    region: str | None = None  # for data-residency policies (allowed_regions)
    cache: CacheConfig = Field(default_factory=lambda: CacheConfig())
    # what a request of another protocol carries that this upstream cannot express (a server tool,
    # a document block, ...): "reject" answers 400 naming it; "drop" leaves it out with a warning
    unsupported: Literal["reject", "drop"] = "reject"
    reasoning_format: ReasoningFormat | None = None  # openai_chat only; unset: read either field, send none
    # what this upstream's tokens cost (every model it serves), when a model alias gives no price;
    # unset: free for local, sim and loopback/private addresses, else the price dataset (docs/costs.md)
    price: Price | None = None
    # local engine only: a packaged model by name (engine/models.py; default smollm2-135m-instruct)
    # or any GGUF file
    model: str | None = None
    model_path: Path | None = None
    n_ctx: int = 16384  # longest sequence (prompt + output) of one request: Codex's first is ~10K
    n_seq: int = Field(default=4, ge=1, le=64)  # sequences held at once: running requests + cached sessions
    kv_cells: int | None = None  # with kv_unified: the KV cache all sequences share, in tokens (default 2 x n_ctx)
    # false (default): a KV stream of n_ctx cells per sequence (n_ctx x n_seq in all; attention reads
    # only its own sequence's cells); true: one cache of kv_cells shared by all (less memory)
    kv_unified: bool = False
    n_batch: int = Field(default=512, ge=32)  # tokens per engine step
    n_threads: int | None = None
    flash_attn: bool = True
    speculation: bool = True  # drafts from the session's own tokens, verified exactly
    max_output_tokens: int | None = None  # local only: a cap on any request's max tokens
    stop: list[str] = Field(default_factory=list)  # local only: stop strings added to every request
    seed: int | None = None  # local only: the sampling seed of every request that sends none (repeatable runs)
    # sim only: a named timing profile, overrides of its parameters, a seed for its jitter
    sim_profile: str = "fast"
    sim: dict[str, str] = Field(default_factory=dict)
    sim_seed: int | None = None

    @model_validator(mode="after")
    def _known_sim_profile(self) -> UpstreamConfig:
        if self.kind == "sim":
            load_profile(self.sim_profile, self.sim)
        return self

    @model_validator(mode="after")
    def _one_local_model(self) -> UpstreamConfig:
        if self.model is not None:
            if self.kind != "local":
                raise ValueError("model names a packaged model of the embedded engine (kind 'local' only)")
            if self.model_path is not None:
                raise ValueError("give model or model_path, not both")
            packaged(self.model)
        return self

    def packaged_model(self) -> PackagedModel | None:
        """The packaged model this local upstream runs (None: a model_path of the user's)."""
        return None if self.model_path is not None else packaged(self.model or DEFAULT_MODEL)

    def model_file(self) -> Path:
        """The GGUF this local upstream loads."""
        if self.model_path is not None:
            return self.model_path
        return packaged(self.model or DEFAULT_MODEL).path()

    @model_validator(mode="after")
    def _sendable_headers(self) -> UpstreamConfig:
        for name, value in self.headers.items():
            if not name or any(c in name for c in ":\r\n") or any(c in value for c in "\r\n"):
                raise ValueError(f"headers: {name!r} cannot be sent (an empty name, a colon or a line break)")
            try:
                f"{name}{value}".encode("latin-1")
            except UnicodeEncodeError:
                raise ValueError(f"headers: {name!r} is not Latin-1 text, as HTTP headers must be") from None
        return self

    @model_validator(mode="after")
    def _needs_base_url(self) -> UpstreamConfig:
        if self.kind not in ("local", "sim") and not (self.base_url or self.replicas):
            raise ValueError(f"an upstream of kind '{self.kind}' needs base_url or replicas")
        return self

    @property
    def first_byte_timeout(self) -> float | None:
        if self.first_byte_timeout_s is not None:
            return self.first_byte_timeout_s
        return None if self.kind in ("local", "sim") else 120.0

    def replica_urls(self) -> list[str | None]:
        """One entry per replica (the local engine is one replica without a URL)."""
        return list(self.replicas) if self.replicas else [self.base_url]

    def api_key(self) -> str | None:
        """The key, read from the environment at call time; never stored in the config."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class LimitsConfig(_Strict):
    """What a model accepts: the longest prompt (tokens) and the most output tokens of one reply."""

    context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)


class ModelConfig(_Strict):
    """A model alias: one upstream for all lanes, or one ``upstream/model`` per lane; or a name
    that points at another alias with a fixed lane (a client's per-mode model setting)."""

    upstream: str | None = None
    model: str | None = None  # the name sent upstream; default: the alias itself
    lanes: dict[LaneName, str] = Field(default_factory=dict)  # lane -> "upstream/model"
    fallbacks: list[str] = Field(default_factory=list)  # "upstream/model", tried in order
    alias: str | None = None  # this name means another alias ...
    lane: LaneName | None = None  # ... always in this lane
    allowed_regions: list[str] | None = None
    price: Price | None = None  # what this alias's turns cost (docs/costs.md)
    lane_price: dict[LaneName, Price] = Field(default_factory=dict)  # per lane, over ``price``
    context_window: int | None = Field(default=None, ge=1)  # what clients are told (routing/limits.py)
    max_output_tokens: int | None = Field(default=None, ge=1)
    lane_limits: dict[LaneName, LimitsConfig] = Field(default_factory=dict)  # per lane, over the two above

    @model_validator(mode="after")
    def _one_way(self) -> ModelConfig:
        if self.alias is None and self.upstream is None and not self.lanes:
            raise ValueError("a model needs upstream, lanes, or alias")
        if self.alias is not None and self.lane is None:
            raise ValueError("a model that names an alias needs a lane")
        return self


class RuleConfig(_Strict):
    """A user rule: every condition given must hold; the first matching rule picks the lane."""

    lane: LaneName
    name: str = ""
    header: str | None = None  # "name" (present) or "name: value" (equal, case-insensitive)
    model: str | None = None  # fnmatch pattern on the requested model
    has_tools: bool | None = None
    text: str | None = None  # substring of the last user message
    min_input_tokens: int | None = None  # estimated prompt size
    max_input_tokens: int | None = None


# Secrets a captured turn must not keep (added to by ``telemetry.capture_redact``).
DEFAULT_REDACTIONS = (
    r"sk-[A-Za-z0-9_-]{16,}",  # OpenAI / Anthropic keys
    r"AKIA[0-9A-Z]{16}",  # AWS access key ids
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"xox[abposr]-[A-Za-z0-9-]{10,}",  # Slack tokens
    r"(?i:bearer)\s+[A-Za-z0-9._~+/=-]{16,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
)


class TelemetryConfig(_Strict):
    queue_size: int = Field(
        default=10_000, ge=1
    )  # records waiting for the writer; beyond it they are dropped and counted
    batch_size: int = Field(default=500, ge=1)  # rows per transaction, at most
    durable_wait_s: float = Field(default=2.0, ge=0)  # a turn's end waits this long, at most, for its row's commit
    capture: bool = False  # store full turns (redacted) for `splitlane capture export`
    capture_redact: list[str] = Field(default_factory=list)  # more regexes to redact, beyond the defaults
    capture_redact_defaults: bool = True

    @model_validator(mode="after")
    def _patterns_compile(self) -> TelemetryConfig:
        import re

        for pattern in self.capture_redact:
            try:
                re.compile(f"(?:{pattern})")  # as the redactor joins them: inline flags must be scoped, (?i:...)
            except re.error as exc:
                raise ValueError(f"capture_redact pattern {pattern!r} is not a regular expression: {exc}") from exc
        return self

    def redactions(self) -> list[str]:
        return [*(DEFAULT_REDACTIONS if self.capture_redact_defaults else ()), *self.capture_redact]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Config(_Strict):
    listen: str = "127.0.0.1:8080"
    data_dir: Path = Field(default_factory=lambda: Path(os.environ.get("SPLITLANE_HOME", "~/.splitlane")))
    # Gateway API keys (`splitlane keys`): "auto" requires them unless the gateway listens on
    # loopback only; "off" is refused on any other address.
    auth: Literal["auto", "required", "off"] = "auto"
    auth_refresh_s: float = Field(default=2.0, gt=0)  # a revoked key stops working within this
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    max_messages: int = Field(default=10_000, ge=1)  # messages (input items) in one request
    max_tokens_cap: int | None = Field(default=None, ge=1)  # a larger max_tokens is lowered to this
    websockets: bool = True  # the Responses API over a WebSocket too (Codex's supports_websockets); off: 426
    keepalive_s: float = Field(default=15.0, ge=0)  # a silent stream gets a ping this often (0: never)
    shutdown_grace_s: int = Field(default=30, ge=0)  # SIGTERM: in-flight streams may finish this long
    default_max_tokens: int = 4096  # sent to upstreams that need one when the client gave none
    upstreams: dict[str, UpstreamConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    rules: list[RuleConfig] = Field(default_factory=list)
    default_lane: LaneName = "act"
    allowed_regions: list[str] | None = None  # applies to every model without its own
    max_sessions: int = 10_000  # per-session routing state kept (least recently seen evicted)
    catch_all: str | None = None  # an alias that serves model names no alias matches (else 404)
    # The gateway's database (telemetry, stored responses): SQLite under data_dir by default;
    # "postgresql://user:password@host/db" for several gateway replicas sharing one store.
    database_url: str | None = None
    telemetry: TelemetryConfig = Field(default_factory=lambda: TelemetryConfig())

    @model_validator(mode="after")
    def _defaults_and_references(self) -> Config:
        if not self.upstreams and not self.models:
            self.upstreams[DEFAULT_ALIAS] = UpstreamConfig(kind="local")
            self.models[DEFAULT_ALIAS] = ModelConfig(upstream=DEFAULT_ALIAS)
        for alias, model in self.models.items():
            if model.upstream is not None and model.upstream not in self.upstreams:
                raise ValueError(f"models.{alias}.upstream names '{model.upstream}', which is not in [upstreams]")
            targets = [(f"lanes.{k}", v) for k, v in model.lanes.items()]
            targets += [(f"fallbacks.{i}", v) for i, v in enumerate(model.fallbacks)]
            for key, target in targets:
                upstream = target.split("/", 1)[0]
                if "/" not in target or upstream not in self.upstreams:
                    raise ValueError(
                        f"models.{alias}.{key} = '{target}': expected 'upstream/model' naming one of "
                        f"[upstreams] ({', '.join(self.upstreams)})"
                    )
        if self.auth == "off" and not is_loopback(self.host):
            raise ValueError(f"auth = 'off' is refused when listening on {self.listen}: only loopback may be open")
        if self.catch_all is not None and self.catch_all not in self.models:
            raise ValueError(f"catch_all names '{self.catch_all}', which is not in [models]")
        for alias, model in self.models.items():
            if model.alias is not None and (model.alias not in self.models or self.models[model.alias].alias):
                raise ValueError(f"models.{alias}.alias names '{model.alias}', which is not a model with upstreams")
        return self

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def auth_required(self) -> bool:
        return self.auth == "required" or (self.auth == "auto" and not is_loopback(self.host))

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def db_path(self) -> Path:
        return self.data_dir.expanduser() / "splitlane.db"

    def database(self) -> str:
        """The database URL: ``database_url``, else SQLite under ``data_dir``."""
        if self.database_url:
            return self.database_url
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{self.db_path}"


def load_config(path: Path | None = None, **overrides: object) -> Config:
    data: dict[str, object] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from exc


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f" in {path}" if path else ""
    lines = [f"invalid config{where}:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        lines.append(f"  {key}: {err['msg']}")
    return "\n".join(lines)
