"""Identifiers with the prefixes each API uses (``resp_``, ``msg_``, ``call_``, ``toolu_`` ...)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"
