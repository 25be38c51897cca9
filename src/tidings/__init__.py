"""tidings: a self-hosted email sending and tracking service that speaks the Mailgun HTTP API."""

__version__ = "0.1.0"
