"""splitlane: one self-hosted endpoint for coding agents."""

__version__ = "0.1.0"
