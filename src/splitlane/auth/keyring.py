"""The keys a running gateway accepts: read from the store, kept in memory, re-read every few
seconds by a task of their own (a revoked key stops working within ``refresh_s``; no request waits
for that read); an unknown key is looked up at once (a new key works immediately), at most 20
times a second, so that guessing keys cannot load the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.auth.keys import ApiKey, KeyStore, digest

log = logging.getLogger("splitlane.auth")

MISS_LOOKUPS_PER_S = 20.0  # unknown keys looked up in the store, at most (bursts of as many)


class KeyRing:
    """``required`` False: the gateway is open (loopback only, see ``Config.auth_required``)."""

    def __init__(self, engine: AsyncEngine, required: bool, refresh_s: float = 2.0) -> None:
        self.engine = engine
        self.required = required
        self.store = KeyStore(engine)
        self.refresh_s = refresh_s
        self._by_hash: dict[str, ApiKey] = {}
        self._loaded = float("-inf")
        self._lookups = MISS_LOOKUPS_PER_S  # a token bucket
        self._lookups_at = time.monotonic()
        self._lock = asyncio.Lock()
        self._refresher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Re-read the keys every ``refresh_s`` in the background (only when keys are required)."""
        if self.required and self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_forever(), name="splitlane-keyring")

    async def aclose(self) -> None:
        refresher, self._refresher = self._refresher, None
        if refresher is not None:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_s)
            try:
                await self.refresh()
            except Exception:  # e.g. a new key's budget query: the loaded keys stay, the task lives on
                log.exception("cannot refresh the API keys; keeping the ones loaded")

    async def lookup(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or None."""
        hashed = digest(secret)
        now = time.monotonic()
        # without the background task (or when it has fallen a whole period behind), the request
        # itself re-reads: a revoked key must not outlive its bound
        stale_after = self.refresh_s if self._refresher is None else 2 * self.refresh_s
        if now - self._loaded >= stale_after:
            await self.refresh(self.refresh_s)
        key = self._by_hash.get(hashed)
        if key is None and self._may_look_up(now):
            found = await self.store.by_hash(hashed)
            if found is not None and found.revoked_at is None:
                key = self._by_hash.setdefault(hashed, found)
        return key

    def _may_look_up(self, now: float) -> bool:
        self._lookups = min(MISS_LOOKUPS_PER_S, self._lookups + (now - self._lookups_at) * MISS_LOOKUPS_PER_S)
        self._lookups_at = now
        if self._lookups < 1.0:
            return False
        self._lookups -= 1.0
        return True

    async def refresh(self, unless_younger_than: float = 0.0) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded < unless_younger_than:
                return  # another request refreshed while this one waited
            try:
                keys = await self.store.all()
            except Exception:
                log.exception("cannot read the API keys; keeping the ones loaded")
                self._loaded = time.monotonic()
                return
            self._by_hash = {key.hash: key for key in keys if key.revoked_at is None}  # limits may have changed
            self._loaded = time.monotonic()

    def active(self) -> list[ApiKey]:
        return list(self._by_hash.values())
