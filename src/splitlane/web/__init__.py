"""The dashboard the gateway serves at /dashboard (reads telemetry queries only)."""
