"""The Mailgun-compatible HTTP API (FastAPI)."""
