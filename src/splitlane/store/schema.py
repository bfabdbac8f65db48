"""Every table of the gateway's database, in one place (SQLAlchemy Core; SQLite or PostgreSQL).

Tables are created and changed only by the versioned steps in ``store/migrations.py``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", Float, nullable=False),
)

responses = Table(
    "responses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("created_at", Integer, nullable=False),
    Column("model", String(256), nullable=False),
    Column("response", Text, nullable=False),
    Column("conversation", Text, nullable=False),
    Column("api_key", String(40), nullable=True),  # the owner: another key cannot read it; migration 4
)

# One row per turn: the metric definitions of DESIGN.md. Times are seconds since the epoch, taken
# from the gateway's monotonic clock (one anchor per process), so differences are monotonic.
turns = Table(
    "turns",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("session", String(300), nullable=False),
    Column("session_source", String(40), nullable=False),
    Column("client", String(60), nullable=False),
    Column("surface", String(20), nullable=False),
    Column("model", String(256), nullable=False),  # the alias the client asked for
    Column("lane", String(20), nullable=False),
    Column("lane_reason", String(300), nullable=False),
    Column("upstream", String(300), nullable=False),  # "upstream/model" that served it
    Column("replica", String(300), nullable=False),
    Column("fallbacks", Integer, nullable=False),  # routes that failed before this one
    Column("stream", Boolean, nullable=False),
    Column("status", String(20), nullable=False),  # ok | error | cancelled
    Column("error", String(500), nullable=True),
    Column("stop_reason", String(40), nullable=True),
    Column("t_recv", Float, nullable=False),
    Column("t_up", Float, nullable=True),
    Column("t_first", Float, nullable=True),
    Column("t_last", Float, nullable=False),
    Column("gap_before_s", Float, nullable=True),
    Column("input_tokens", Integer, nullable=False),
    Column("cached_input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("reasoning_tokens", Integer, nullable=False),
    Column("tool_calls", Integer, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("prompt_chars", Integer, nullable=False),
    Column("prompt_hash", String(32), nullable=False),  # sizes and hashes only: no content
    Column("queue_wait_s", Float, nullable=True),  # embedded engine statistics
    Column("prefill_s", Float, nullable=True),
    Column("drafted_tokens", Integer, nullable=True),
    Column("accepted_tokens", Integer, nullable=True),
    Column("api_key", String(40), nullable=True),  # the gateway key's id (never the key); migration 4
    Column("cache_write_tokens", Integer, nullable=False, server_default="0"),  # migration 5 on
    Column("cache_write_1h_tokens", Integer, nullable=False, server_default="0"),
    Column("cost_usd", Float, nullable=True),  # None: the price was unknown
    Column("price_source", String(120), nullable=True),
    Column("replica_policy", String(20), nullable=True),  # migration 6 on
    Column("replica_score", Float, nullable=True),
    Column("replica_reason", String(300), nullable=True),
    Index("turns_by_session", "session", "t_recv"),
    Index("turns_by_time", "t_recv"),
)

# Records the bounded writer queue could not take: counted, stored as soon as it can, reported.
telemetry_drops = Table(
    "telemetry_drops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("dropped", Integer, nullable=False),
)

# Capture mode: the full turn, redacted, for `splitlane capture export` (agentsession/v1).
captures = Table(
    "captures",
    metadata,
    Column("turn_id", String(40), primary_key=True),
    Column("session", String(300), nullable=False),
    Column("t_recv", Float, nullable=False),
    Column("request", Text, nullable=False),  # {"messages": [...], "tools": [...]} in Chat Completions form
    Column("output", Text, nullable=False),  # the assistant message, same form
    Index("captures_by_session", "session", "t_recv"),
)

# Gateway API keys (``splitlane keys``): only a SHA-256 of each key is kept.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),  # the key's first characters, to recognise it
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
    Column("models", Text, nullable=False),  # JSON list of alias patterns; [] = every alias
    Column("lanes", Text, nullable=False),  # JSON list of lanes; [] = every lane
    Column("token_budget", Integer, nullable=True),  # input + output tokens per period
    Column("usd_budget", Float, nullable=True),  # USD per period (turn costs as recorded); migration 5
    Column("budget_period_s", Integer, nullable=False),
    Column("rpm", Integer, nullable=True),  # requests per minute
    Column("max_streams", Integer, nullable=True),  # turns in flight at once
    Column("admin", Boolean, nullable=False),  # may read /dashboard and /metrics
)

# Per-key counts shared by gateway replicas on one PostgreSQL (auth/shared_limits.py); migration 7.
# Admissions of one key are serialized by an advisory lock; times are the database's clock.
key_requests = Table(  # each admitted turn of a key with a rate limit, for its last minute
    "key_requests",
    metadata,
    Column("key_id", String(40), nullable=False),
    Column("at", Float, nullable=False),
    Index("key_requests_by_key", "key_id", "at"),
)

key_leases = Table(  # each turn in flight of a key with a stream limit, renewed by its gateway
    "key_leases",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("key_id", String(40), nullable=False),
    Column("gateway", String(40), nullable=False),  # the process holding it: renews it, frees it at exit
    Column("expires_at", Float, nullable=False),  # a gateway killed mid-turn frees its leases by then
    Index("key_leases_by_key", "key_id"),
)

key_spend = Table(  # tokens used and USD spent per key and budget window
    "key_spend",
    metadata,
    Column("key_id", String(40), primary_key=True),
    Column("window_start", Float, primary_key=True),
    Column("tokens", BigInteger, nullable=False),
    Column("usd", Float, nullable=False),
)
