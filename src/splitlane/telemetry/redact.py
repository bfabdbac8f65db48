"""Redaction of captured content: every string in a JSON value, pattern by pattern."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MARK = "[REDACTED]"


class Redactor:
    def __init__(self, patterns: Iterable[str]) -> None:
        joined = "|".join(f"(?:{p})" for p in patterns)
        self.pattern = re.compile(joined) if joined else None

    def __call__(self, value: Any) -> Any:
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub(MARK, value)
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value
