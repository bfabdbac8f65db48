"""Gateway API keys as stored: a SHA-256 of each key, never the key, plus what the key may do."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import asdict, dataclass, replace
from fnmatch import fnmatchcase

import orjson
from sqlalchemy import ColumnElement, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.store.schema import api_keys

PREFIX = "sl-"
PERIODS = {"minute": 60, "hour": 3600, "day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400}


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One key's identity and limits; ``models`` are alias patterns, empty lists allow everything."""

    id: str
    name: str
    hash: str
    hint: str
    created_at: float
    revoked_at: float | None = None
    models: tuple[str, ...] = ()
    lanes: tuple[str, ...] = ()
    token_budget: int | None = None
    usd_budget: float | None = None  # USD per period, the turns' costs as recorded
    budget_period_s: int = PERIODS["day"]
    rpm: int | None = None
    max_streams: int | None = None
    admin: bool = False

    def allows_model(self, alias: str) -> bool:
        return not self.models or any(fnmatchcase(alias, pattern) for pattern in self.models)

    def allows_lane(self, lane: str) -> bool:
        return not self.lanes or lane in self.lanes

    def window_start(self, now: float) -> float:
        """Budgets run in fixed windows aligned to the epoch (a day is a UTC day)."""
        return now - now % self.budget_period_s

    def limits(self) -> str:
        parts = []
        if self.models:
            parts.append("models " + ",".join(self.models))
        if self.lanes:
            parts.append("lanes " + ",".join(self.lanes))
        period = next((n for n, s in PERIODS.items() if s == self.budget_period_s), f"{self.budget_period_s}s")
        if self.token_budget is not None:
            parts.append(f"{self.token_budget:,} tokens/{period}")
        if self.usd_budget is not None:
            parts.append(f"${self.usd_budget:,.2f}/{period}")
        if self.rpm is not None:
            parts.append(f"{self.rpm} req/min")
        if self.max_streams is not None:
            parts.append(f"{self.max_streams} at once")
        if self.admin:
            parts.append("admin")
        return "; ".join(parts) or "none"

    def public(self) -> dict[str, object]:
        """Everything but the hash (what ``splitlane keys list --json`` prints)."""
        return {name: value for name, value in asdict(self).items() if name != "hash"}


class KeyStoreError(ValueError):
    """No such key, or a name already taken."""


class KeyStore:
    """The ``api_keys`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, name: str, **limits: object) -> tuple[str, ApiKey]:
        """A new key: the secret (shown once, never stored) and its record."""
        if await self._find(name) is not None:
            raise KeyStoreError(f"a key named '{name}' exists already")
        secret = new_secret()
        key = ApiKey(
            id="key_" + secrets.token_hex(6),
            name=name,
            hash=digest(secret),
            hint=secret[: len(PREFIX) + 4],
            created_at=time.time(),
        )
        key = replace(key, **limits)  # type: ignore[arg-type]
        async with self.engine.begin() as connection:
            await connection.execute(insert(api_keys).values(_row(key)))
        return secret, key

    async def revoke(self, name_or_id: str) -> ApiKey:
        key = await self._find(name_or_id)
        if key is None:
            raise KeyStoreError(f"no key named '{name_or_id}'")
        if key.revoked_at is None:
            key = replace(key, revoked_at=time.time())
            async with self.engine.begin() as connection:
                await connection.execute(
                    update(api_keys).where(api_keys.c.id == key.id).values(revoked_at=key.revoked_at)
                )
        return key

    async def all(self) -> list[ApiKey]:
        async with self.engine.connect() as connection:
            rows = (await connection.execute(select(api_keys).order_by(api_keys.c.created_at))).all()
        return [_key(row._mapping) for row in rows]

    async def by_hash(self, hashed: str) -> ApiKey | None:
        return await self._one(api_keys.c.hash == hashed)

    async def _find(self, name_or_id: str) -> ApiKey | None:
        return await self._one(or_(api_keys.c.name == name_or_id, api_keys.c.id == name_or_id))

    async def _one(self, where: ColumnElement[bool]) -> ApiKey | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(api_keys).where(where))).first()
        return None if row is None else _key(row._mapping)


def _row(key: ApiKey) -> dict[str, object]:
    return {**asdict(key), "models": orjson.dumps(key.models).decode(), "lanes": orjson.dumps(key.lanes).decode()}


def _key(row: object) -> ApiKey:
    mapping = dict(row)  # type: ignore[call-overload]
    mapping["models"] = tuple(orjson.loads(mapping["models"]))
    mapping["lanes"] = tuple(orjson.loads(mapping["lanes"]))
    mapping["admin"] = bool(mapping["admin"])
    return ApiKey(**mapping)
