"""Reading a request body: size limit, content-encoding, JSON, schema validation with errors that name the field."""

from __future__ import annotations

import zlib
from typing import Any, TypeVar

import orjson
import zstandard
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
    raw = decoded(b"".join(chunks), request.headers.get("content-encoding", ""), max_bytes)
    if not raw.strip():
        raise InvalidRequest("request body is empty; expected a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc


def decoded(raw: bytes, encoding: str, max_bytes: int) -> bytes:
    """The body as sent before ``content-encoding`` (gzip, deflate, zstd), never more than
    ``max_bytes`` of it: a small body that inflates past the limit is refused like a large one."""
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        return raw
    try:
        if coding in ("gzip", "x-gzip", "deflate"):
            inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
            body = inflate.decompress(raw, max_bytes + 1)
            complete = inflate.eof
        elif coding == "zstd":
            with zstandard.ZstdDecompressor().stream_reader(raw) as reader:
                body = reader.read(max_bytes + 1)
            complete = True
        else:
            raise InvalidRequest(f"content-encoding '{encoding}' is not supported: send gzip, deflate, zstd or none")
    except (zlib.error, zstandard.ZstdError) as exc:
        raise InvalidRequest(f"request body is not valid {coding} data: {exc}") from exc
    if len(body) > max_bytes:
        raise RequestTooLarge(f"request body exceeds the limit of {max_bytes} bytes once decompressed ({coding})")
    if not complete:
        raise InvalidRequest(f"request body is truncated {coding} data")
    return body


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
