"""Command-line ``name=value`` overrides of a frozen dataclass of numbers (sim profiles, synthetic
session specs)."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any, TypeVar

T = TypeVar("T")


def with_overrides(instance: T, overrides: dict[str, str], what: str) -> T:
    """A copy of ``instance`` with fields set from strings; an unknown name or a non-number raises
    ``ValueError`` naming it and the known ones."""
    known = {f.name: f.type for f in fields(instance)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, raw in overrides.items():
        if key not in known:
            raise ValueError(f"unknown {what} parameter '{key}' (known: {', '.join(known)})")
        try:
            values[key] = int(raw) if known[key] in ("int", int) else float(raw)
        except ValueError as exc:
            raise ValueError(f"{what} parameter '{key}' must be a number, got '{raw}'") from exc
    return replace(instance, **values)  # type: ignore[type-var]
