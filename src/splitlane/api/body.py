"""Reading a request body: size limit, JSON, schema validation with errors that name the field."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from splitlane.core.errors import InvalidRequest, RequestTooLarge

M = TypeVar("M", bound=BaseModel)


async def read_json(request: Request, max_bytes: int) -> Any:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise RequestTooLarge(f"request body is {declared} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestTooLarge(f"request body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise InvalidRequest(f"request body must be a JSON object, not {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        field = _field(errors[0]["loc"])
        same = [e for e in errors if _field(e["loc"]) == field]
        if len(same) > 1:  # a union: say what would have been accepted
            accepted = ", ".join(dict.fromkeys(str(e["loc"][-1]) for e in same))
            message = (
                f"{field}: invalid value of type {type(_value(data, same[0]['loc'])).__name__} (accepted: {accepted})"
            )
        else:
            message = f"{field}: {errors[0]['msg']}"
        raise InvalidRequest(message, param=field) from exc


def _is_type_tag(part: object) -> bool:
    """pydantic puts union member names (``str``, ``list[dict[str,any]]``) into error locations."""
    return isinstance(part, str) and (
        part in ("str", "int", "float", "bool", "none") or "[" in part or part.startswith(("function-", "literal"))
    )


def _field(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if _is_type_tag(part):
            break
        parts.append(str(part))
    return ".".join(parts) or "(body)"


def _value(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        if _is_type_tag(part):
            break
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def client_headers(request: Request) -> dict[str, str]:
    """Request headers minus credentials, for routing, session ids and forwarding."""
    secret = {"authorization", "x-api-key", "cookie", "proxy-authorization"}
    return {k.lower(): v for k, v in request.headers.items() if k.lower() not in secret}
