"""The genai-prices dataset (offline, in the package): one lookup of a model at the provider whose
API a base URL is, for its prices (telemetry/prices.py) and its context window (routing/limits.py)."""

from __future__ import annotations

import warnings

from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, Provider


def find_model(model: str, base_url: str | None) -> tuple[Provider, ModelInfo] | None:
    """The dataset's entry for ``model`` at that provider (any provider that lists it when the URL
    names none); None when it does not know the model."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return data_snapshot.get_snapshot().find_provider_model(model, None, None, base_url)
    except LookupError:
        return None
