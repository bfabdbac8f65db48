"""Carry provider data through a surface that only has one opaque string for it.

An Anthropic client keeps a thinking block's ``signature``; a Responses client keeps a reasoning
item's ``encrypted_content``. When the data came from a different provider than the one the
surface speaks, it is packed into that string and unpacked when the client sends it back, so a
signature is only ever replayed to the provider that made it.
"""

from __future__ import annotations

import base64
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
