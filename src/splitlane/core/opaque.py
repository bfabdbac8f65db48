"""Carry provider data through a surface that only has one opaque string for it.

An Anthropic client keeps a thinking block's ``signature``; a Responses client keeps a reasoning
item's ``encrypted_content``. When the data came from a different provider than the one the
surface speaks, it is packed into that string and unpacked when the client sends it back, so a
signature is only ever replayed to the provider that made it.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from splitlane.core.parts import ProviderData

_PREFIX = "slpd1."


def pack(provider_data: ProviderData) -> str:
    raw = orjson.dumps({k: dict(v) for k, v in provider_data.items()})
    return _PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def unpack(value: str) -> ProviderData | None:
    """The packed provider data, or None when ``value`` is some provider's own string."""
    if not value.startswith(_PREFIX):
        return None
    try:
        decoded: Any = orjson.loads(base64.urlsafe_b64decode(value[len(_PREFIX) :]))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(decoded, dict) or not all(isinstance(v, dict) for v in decoded.values()):
        return None
    return decoded


def replay(
    items: Any,
    kind: str,
    field: str,
    provider: str,
    rebuild: Callable[[dict[str, Any], Mapping[str, Any]], dict[str, Any]] = lambda item, mine: {**item, **mine},
) -> list[Any] | None:
    """A same-protocol hop's edit of a list of the client's blocks or items (a copy, or None when
    nothing changes): each ``kind`` entry whose ``field`` holds packed data gets ``provider``'s own
    data back, or is left out when that provider made none of it (a signature or encrypted
    reasoning is only ever sent to the provider that made it); ``rebuild`` makes the entry from
    the client's and that data."""
    if not isinstance(items, list):
        return None
    out: list[Any] = []
    changed = False
    for item in items:
        value = item.get(field) if isinstance(item, dict) and item.get("type") == kind else None
        data = unpack(value) if isinstance(value, str) else None
        if data is None:
            out.append(item)
            continue
        changed = True
        mine = data.get(provider)
        if mine:
            out.append(rebuild(item, mine))
    return out if changed else None
