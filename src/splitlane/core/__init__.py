"""Canonical request, parts, events, usage and errors: no pydantic, httpx or starlette here."""
