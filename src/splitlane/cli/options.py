"""Parsing shared by CLI options."""

from __future__ import annotations

from collections.abc import Sequence

import typer


def parse_pairs(items: Sequence[str], option: str) -> dict[str, str]:
    """Repeated ``name=value`` options as a dict; anything else is a usage error naming ``option``."""
    pairs = dict(item.split("=", 1) for item in items if "=" in item)
    if len(pairs) != len(items):
        raise typer.BadParameter("expected name=value", param_hint=option)
    return pairs
