"""Per-key limits shared by every gateway replica on one PostgreSQL.

Each admission of a key with limits is one transaction that holds the key's advisory lock, so the
admissions of one key, from any replica, happen one at a time against one set of rows; the clock is
the database's, so replicas' clocks need not agree:

- requests per minute: a row per admitted turn in ``key_requests``, counted over the last minute
  (rows older than that are deleted by the next admission). Exact: never over ``rpm``.
- turns in flight: a lease per turn in ``key_leases``, deleted when the turn ends and renewed by its
  gateway every ``lease_s / 3``; the leases of a gateway killed mid-turn expire after ``lease_s``
  (until then they count: a refusal, never an overshoot). Exact: never over ``max_streams``.
- tokens and USD per budget window: one ``key_spend`` row per key and window, added to atomically
  (``INSERT … ON CONFLICT DO UPDATE``) when a turn ends; a turn is admitted while the row is under
  budget, so the overshoot is what the turns already in flight when it is crossed cost — across all
  replicas, the same bound as one gateway has (at most ``max_streams`` turns where the key has one).
  A window's row starts from what the telemetry store recorded in it (an upgrade keeps the budget).

Keys without limits never touch the database. If the database cannot be reached, a turn is counted
by this process alone (``LocalLimits``) and a warning is logged: while that lasts, each replica
enforces the limits on its own, so N replicas admit at most N times the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import anyio
from sqlalchemy import TextClause, delete, func, text, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from splitlane.auth.keys import ApiKey
from splitlane.auth.limits import (
    MINUTE,
    Admission,
    Counts,
    Limits,
    LocalLimits,
    has_budget,
    recorded_use,
    refusal,
    remaining_usd,
)
from splitlane.store.database import open_engine
from splitlane.store.schema import key_leases, key_spend

log = logging.getLogger("splitlane.auth")
T = TypeVar("T")

KEY_LOCK = 0x5EA2  # advisory lock namespace of keys' admissions (hashtext(key id) within it)
NOW = func.extract("epoch", func.clock_timestamp())
# The key's lock, then the database's clock (a subquery with a volatile function is not folded into
# the outer query: the lock is taken first).
LOCKED_NOW = text(
    "SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT pg_advisory_xact_lock(:ns, hashtext(:key))) AS locked"
)
# The deletions are not seen by the counts (one snapshot): the counts say the same with their own bounds.
COUNTS = text(
    """WITH gone_requests AS (DELETE FROM key_requests WHERE key_id = :key AND at <= :since),
     gone_leases AS (DELETE FROM key_leases WHERE key_id = :key AND expires_at <= :now)
SELECT (SELECT count(*) FROM key_requests WHERE key_id = :key AND at > :since) AS requests,
       (SELECT min(at) FROM key_requests WHERE key_id = :key AND at > :since) AS oldest,
       (SELECT count(*) FROM key_leases WHERE key_id = :key AND expires_at > :now) AS streams,
       (SELECT tokens FROM key_spend WHERE key_id = :key AND window_start = :window) AS tokens,
       (SELECT usd FROM key_spend WHERE key_id = :key AND window_start = :window) AS usd"""
)
# A turn's end, in the window of the database's clock (textual statements: SQLAlchemy's cache key of
# an upsert construct cost more than the round trip).
CHARGE = text(
    """INSERT INTO key_spend (key_id, window_start, tokens, usd)
VALUES (:key, floor(extract(epoch FROM clock_timestamp()) / :period) * :period, :tokens, :usd)
ON CONFLICT (key_id, window_start)
DO UPDATE SET tokens = key_spend.tokens + excluded.tokens, usd = key_spend.usd + excluded.usd"""
)
RELEASE = text("DELETE FROM key_leases WHERE id = :lease")
ADD_REQUEST = "INSERT INTO key_requests (key_id, at) VALUES (:key, :now)"
ADD_LEASE = "INSERT INTO key_leases (id, key_id, gateway, expires_at) VALUES (:lease, :key, :gateway, :expires)"
STORE_ERRORS = (SQLAlchemyError, OSError, asyncio.TimeoutError)
WARN_EVERY_S = 60.0


def _has_limits(key: ApiKey) -> bool:
    return key.rpm is not None or key.max_streams is not None or has_budget(key)


class SharedLimits:
    """``lease_s``: how long a stream lease outlives its gateway; ``timeout_s``: the longest an
    admission waits for the database before the turn is counted locally."""

    def __init__(self, engine: AsyncEngine, lease_s: float = 30.0, timeout_s: float = 5.0, owned: bool = False) -> None:
        self.engine = engine
        self.owned = owned  # disposed of by aclose
        self.lease_s = lease_s
        self.timeout_s = timeout_s
        self.gateway = "gw_" + secrets.token_hex(6)
        self.local = LocalLimits()  # while the database cannot be reached
        self.fallbacks = 0  # turns counted locally for that reason, since start
        self._warned = float("-inf")
        self._renewer: asyncio.Task[None] | None = None
        self._ended: set[str] = set()  # leases of ended turns whose delete failed

    async def admit(self, key: ApiKey) -> Admission:
        if not _has_limits(key):
            return Admission(key, None, shared=True)
        try:
            return await self._stored(lambda: self._admit(key))
        except STORE_ERRORS as exc:
            self._fell_back("admit", exc)
            return await self.local.admit(key)

    async def release(self, admission: Admission) -> None:
        if not admission.shared:
            self.local.release_now(admission)
            return
        if admission.lease is None:
            return
        with anyio.CancelScope(shield=True):  # a client gone mid-stream still frees its slot
            try:
                await self._stored(lambda: self._execute(RELEASE, {"lease": admission.lease}))
            except STORE_ERRORS as exc:
                self._fell_back("release", exc)
                self._ended.add(admission.lease)  # deleted by the renewer, never renewed again

    async def charge(self, key: ApiKey, tokens: int, usd: float | None) -> None:
        if not has_budget(key):
            return
        values = {"key": key.id, "period": key.budget_period_s, "tokens": tokens, "usd": usd or 0.0}
        try:
            await self._stored(lambda: self._execute(CHARGE, values))
        except STORE_ERRORS as exc:
            self._fell_back("charge", exc)
            await self.local.charge(key, tokens, usd)

    async def _admit(self, key: ApiKey) -> Admission:
        """Three round trips under the key's lock: lock and read the clock, drop what has expired and
        count, record the turn."""
        async with self._transaction() as connection:
            now = float((await connection.execute(LOCKED_NOW, {"ns": KEY_LOCK, "key": key.id})).scalar_one())
            window = key.window_start(now)
            values = {"key": key.id, "now": now, "since": now - MINUTE, "window": window}
            row = (await connection.execute(COUNTS, values)).one()
            counts = Counts(
                requests=int(row.requests),
                oldest_s=0.0 if row.oldest is None else now - float(row.oldest),
                streams=int(row.streams),
                window_left_s=window + key.budget_period_s - now,
                **await self._spend(connection, key, window, row),
            )
            refused = refusal(key, counts)
            if refused is not None:
                raise refused
            lease = "lease_" + secrets.token_hex(8) if key.max_streams is not None else None
            inserts = [ADD_REQUEST] * (key.rpm is not None) + [ADD_LEASE] * (lease is not None)
            if inserts:
                statement = inserts[0] if len(inserts) == 1 else f"WITH request AS ({inserts[0]}) {inserts[1]}"
                values = {"key": key.id, "now": now, "lease": lease, "gateway": self.gateway}
                await connection.execute(text(statement), {**values, "expires": now + self.lease_s})
        return Admission(key, remaining_usd(key, counts.usd), lease, shared=True)

    async def _spend(self, connection: AsyncConnection, key: ApiKey, window: float, row: Any) -> dict[str, Any]:
        """The window's tokens and USD; its first turn starts them from what telemetry recorded in it."""
        if not has_budget(key):
            return {}
        if row.tokens is not None:
            return {"tokens": int(row.tokens), "usd": float(row.usd)}
        mine = key_spend.c.key_id == key.id
        await connection.execute(delete(key_spend).where(mine, key_spend.c.window_start < window))
        tokens, usd = await recorded_use(connection, key.id, window)
        seeded = upsert(key_spend).values(key_id=key.id, window_start=window, tokens=tokens, usd=usd)
        seeded = seeded.on_conflict_do_update(  # a turn ended meanwhile (charges take no lock): its row stands
            index_elements=[key_spend.c.key_id, key_spend.c.window_start], set_={"tokens": key_spend.c.tokens}
        )
        stored = (await connection.execute(seeded.returning(key_spend.c.tokens, key_spend.c.usd))).one()
        return {"tokens": int(stored.tokens), "usd": float(stored.usd)}

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _statement(self) -> AsyncIterator[AsyncConnection]:
        """For one statement (atomic by itself): no BEGIN and COMMIT round trips around it."""
        async with self.engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def _execute(self, statement: TextClause, values: dict[str, Any]) -> None:
        async with self._statement() as connection:
            await connection.execute(statement, values)

    async def _stored(self, work: Callable[[], Awaitable[T]]) -> T:
        """``work`` against the database within ``timeout_s``; once more if it found its pooled
        connection dropped (they are not pinged before each use: that is a round trip a turn)."""
        with anyio.fail_after(self.timeout_s):
            try:
                return await work()
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                return await work()

    def _fell_back(self, what: str, exc: BaseException) -> None:
        if what == "admit":
            self.fallbacks += 1
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.warning(
                "the shared key limits cannot %s in the database (%s): counting in this process only, "
                "so each replica enforces the limits alone until it is back",
                what,
                type(exc).__name__,
            )

    def start(self) -> None:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_forever(), name="splitlane-key-leases")

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                async with self._statement() as connection:
                    if self._ended:
                        ended = set(self._ended)
                        await connection.execute(delete(key_leases).where(key_leases.c.id.in_(ended)))
                        self._ended -= ended
                    await connection.execute(
                        update(key_leases)
                        .where(key_leases.c.gateway == self.gateway)
                        .values(expires_at=NOW + self.lease_s)
                    )
            except STORE_ERRORS as exc:
                self._fell_back("renew stream leases", exc)

    async def aclose(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        with contextlib.suppress(*STORE_ERRORS):
            async with self._statement() as connection:  # turns cut at shutdown free their slots now
                await connection.execute(delete(key_leases).where(key_leases.c.gateway == self.gateway))
        if self.owned:
            await self.engine.dispose()


def limits_for(engine: AsyncEngine) -> Limits:
    """Shared counts on PostgreSQL (replicas may share it), this process's own on SQLite. The shared
    counts have a connection pool of their own whose commits do not wait for the WAL flush (counts,
    not records: a PostgreSQL crash loses at most its last fraction of a second of them), so an
    admission does not wait on the disk nor on the telemetry writer's connections."""
    if engine.dialect.name != "postgresql":
        return LocalLimits(engine)
    return SharedLimits(open_engine(engine.url.render_as_string(hide_password=False), counts=True), owned=True)
