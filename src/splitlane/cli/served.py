"""What a running gateway says of its aliases (``GET /v1/models``): their context window, output
limit and tool search, for the client settings ``splitlane setup`` and ``launch`` give."""

from __future__ import annotations

import json
import urllib.request
from typing import Any


def served_models(url: str, key: str | None = None, timeout_s: float = 2.0) -> dict[str, dict[str, Any]] | None:
    """Each alias's entry, or None when no gateway answers at ``url`` (or it refuses the key)."""
    request = urllib.request.Request(url.rstrip("/").removesuffix("/v1") + "/v1/models")
    if key:
        request.add_header("authorization", f"Bearer {key}")
    try:  # a loopback probe: stdlib is enough
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            body = json.loads(answer.read())
    except (OSError, ValueError):
        return None
    return {entry["id"]: entry for entry in body.get("data", []) if isinstance(entry, dict) and "id" in entry}
