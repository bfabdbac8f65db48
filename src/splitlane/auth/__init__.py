"""Gateway API keys: stored hashed, checked per request, with per-key limits."""
