"""Who may call: the gateway key of each request (``Authorization: Bearer``, ``x-api-key``, or
HTTP Basic's password for a browser on ``/dashboard``), checked before routing, refusals in the
surface's own error format; per-key request rate, streams in flight, token and money budgets
(``x-splitlane-budget-remaining-usd`` on each turn of a key with a money budget).

A pure ASGI middleware: a turn's slot is held until its response (a whole stream) has been sent.
"""

from __future__ import annotations

import base64
import binascii

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from splitlane.api.surfaces import for_request
from splitlane.auth.keyring import KeyRing
from splitlane.auth.keys import ApiKey
from splitlane.auth.limits import Admission, Limits
from splitlane.core.errors import AuthenticationFailed, PermissionDenied, RateLimited, SplitlaneError

OPEN_PATHS = frozenset({"/health"})  # a liveness probe; it says nothing but "ok" when keys are required
ADMIN_PREFIXES = ("/dashboard", "/metrics")
MISSING = (
    "missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>' (create one: splitlane keys create)"
)


def credential(headers: Headers) -> str | None:
    """The key a request presents, if any."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password or user or None
    return None


def caller(scope: Scope) -> ApiKey | None:
    """The key of this request (None when keys are not required)."""
    key: ApiKey | None = scope.get("state", {}).get("api_key")
    return key


def caller_id(scope: Scope) -> str | None:
    """The id of this request's key: what owns its stored responses and tags its telemetry."""
    key = caller(scope)
    return None if key is None else key.id


async def authorize(keys: KeyRing, headers: Headers, path: str) -> ApiKey:
    """The key of a request to ``path``, or the refusal."""
    secret = credential(headers)
    if not secret:
        raise AuthenticationFailed(MISSING)
    key = await keys.lookup(secret)
    if key is None:
        raise AuthenticationFailed("invalid or revoked API key")
    if path.startswith(ADMIN_PREFIXES) and not key.admin:
        raise PermissionDenied(f"key '{key.name}' may not read {path} (create an admin key: --admin)")
    return key


class Guard:
    """``turns``: the paths whose POST is a turn (admitted against the key's limits, its slot held
    until the whole response has been sent)."""

    def __init__(self, app: ASGIApp, turns: frozenset[str]) -> None:
        self.app = app
        self.turns = turns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services = scope["app"].state.services
        keys: KeyRing = services.keys
        limits: Limits = services.limits
        path: str = scope["path"]
        if not keys.required or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        turn = scope["method"] == "POST" and path in self.turns
        try:
            key = await authorize(keys, Headers(scope=scope), path)
            admission = await limits.admit(key) if turn else None
        except SplitlaneError as exc:
            await _refuse(scope, send, exc)
            return
        scope.setdefault("state", {})["api_key"] = key
        if admission is None:
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, _with_budget(send, admission))
        finally:
            await limits.release(admission)


BUDGET_HEADER = b"x-splitlane-budget-remaining-usd"


def _with_budget(send: Send, admission: Admission) -> Send:
    """A key with a money budget: each turn's response says what was left of it when the turn began."""
    if admission.remaining_usd is None:
        return send
    value = f"{admission.remaining_usd:.6f}".encode()

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (BUDGET_HEADER, value)]}
        await send(message)

    return sending


async def _refuse(scope: Scope, send: Send, error: SplitlaneError) -> None:
    path: str = scope["path"]
    names = {k.decode("latin-1"): "" for k, _ in scope["headers"]}
    status, body = for_request(path, names).render_error(error)
    headers = [(b"content-type", b"application/json")]
    if isinstance(error, AuthenticationFailed):
        challenge = b'Basic realm="splitlane"' if path.startswith(ADMIN_PREFIXES) else b"Bearer"
        headers.append((b"www-authenticate", challenge))
    if isinstance(error, RateLimited) and error.retry_after_s is not None:
        headers.append((b"retry-after", str(max(1, round(error.retry_after_s))).encode()))
    payload = orjson.dumps(body)
    headers.append((b"content-length", str(len(payload)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
