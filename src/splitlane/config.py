"""One typed config, loaded once at start and passed down explicitly.

Every key is documented in ``docs/config.md``. With no config file the gateway serves the embedded
engine under the alias ``local``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

UpstreamKind = Literal["openai_chat", "openai_responses", "anthropic", "local"]

DEFAULT_ALIAS = "local"


class ConfigError(Exception):
    """The config file cannot be used; the message says which key and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UpstreamConfig(_Strict):
    kind: UpstreamKind
    base_url: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    connect_timeout_s: float = 10.0
    idle_timeout_s: float = 300.0  # longest silence between two chunks of a stream
    max_connections: int = 256
    # local engine only
    model_path: Path | None = None  # default: the packaged Gemma 3 270M Q4_K_M
    n_ctx: int = 8192
    n_threads: int | None = None

    @model_validator(mode="after")
    def _needs_base_url(self) -> UpstreamConfig:
        if self.kind != "local" and not self.base_url:
            raise ValueError(f"an upstream of kind '{self.kind}' needs base_url")
        return self

    def api_key(self) -> str | None:
        """The key, read from the environment at call time; never stored in the config."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class ModelConfig(_Strict):
    upstream: str
    model: str | None = None  # the name sent upstream; default: the alias itself


class Config(_Strict):
    listen: str = "127.0.0.1:8080"
    data_dir: Path = Field(default_factory=lambda: Path(os.environ.get("SPLITLANE_HOME", "~/.splitlane")))
    max_body_bytes: int = 32 * 1024 * 1024
    default_max_tokens: int = 4096  # sent to upstreams that need one when the client gave none
    upstreams: dict[str, UpstreamConfig] = Field(default_factory=dict)
    models: dict[str, ModelConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _defaults_and_references(self) -> Config:
        if not self.upstreams and not self.models:
            self.upstreams[DEFAULT_ALIAS] = UpstreamConfig(kind="local")
            self.models[DEFAULT_ALIAS] = ModelConfig(upstream=DEFAULT_ALIAS)
        for alias, model in self.models.items():
            if model.upstream not in self.upstreams:
                raise ValueError(f"models.{alias}.upstream names '{model.upstream}', which is not in [upstreams]")
        return self

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def db_path(self) -> Path:
        return self.data_dir.expanduser() / "splitlane.db"


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
