"""Stored Responses API objects, for ``previous_response_id`` and ``GET /v1/responses/{id}``.

Each row keeps the response object as sent and the conversation it closes, as Responses input
items (the expanded history plus this response's output), so a follow-up that names it as
``previous_response_id`` works whatever upstream served it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.store.schema import responses


@dataclass(frozen=True, slots=True)
class StoredResponse:
    response: dict[str, Any]
    conversation: list[dict[str, Any]]


class ResponseStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def put(self, response: dict[str, Any], conversation: list[dict[str, Any]], owner: str | None = None) -> None:
        """Store ``response`` under its id; an upstream's response object (a same-protocol hop keeps
        the upstream's ids) that reuses an id replaces the older row."""
        async with self.engine.begin() as connection:
            await connection.execute(delete(responses).where(responses.c.id == response["id"]))
            await connection.execute(
                insert(responses).values(
                    id=response["id"],
                    created_at=int(response.get("created_at") or time.time()),
                    model=str(response.get("model") or ""),
                    response=orjson.dumps(response).decode(),
                    conversation=orjson.dumps(conversation).decode(),
                    api_key=owner,
                )
            )

    async def get(self, response_id: str, owner: str | None = None) -> StoredResponse | None:
        """The stored response; with ``owner`` (keys required) only if that key created it."""
        query = select(responses.c.response, responses.c.conversation).where(responses.c.id == response_id)
        if owner is not None:
            query = query.where(responses.c.api_key == owner)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return StoredResponse(orjson.loads(row.response), orjson.loads(row.conversation))
