"""One async SQLAlchemy engine for the gateway's own state: SQLite by default (WAL mode), or
PostgreSQL by URL (several gateway replicas sharing one store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def sqlite_url(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{path}"


def async_url(url: str) -> str:
    """``postgresql://…`` as users write it, with the async driver SQLAlchemy needs."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def open_engine(url: str, counts: bool = False) -> AsyncEngine:
    """``counts`` (PostgreSQL): for counters on the request path — commits do not wait for the WAL
    flush (a database crash may lose their last moments, never their consistency) and a connection
    is not pinged before each use (a round trip each; the caller retries a dropped one)."""
    url = async_url(url)
    if not url.startswith("sqlite"):
        if counts:
            settings = {"server_settings": {"synchronous_commit": "off"}}
            return create_async_engine(url, pool_recycle=300, connect_args=settings)
        return create_async_engine(url, pool_pre_ping=True)
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # a killed process loses no committed turn
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine
