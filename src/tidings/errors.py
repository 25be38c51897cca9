"""The exception tree. ``api.errors`` is the one place these become HTTP statuses.

    TidingsError
     ├── BadRequest            400: the request is malformed or breaks a Mailgun rule
     │    └── TooLarge         413: the message or a part is over a size limit
     ├── Unauthorized          401: no key, or a key we do not know
     ├── Forbidden             403: a valid key that may not do this
     └── NotFound              404: an unknown domain, message, page ...

Every error carries a human message (Mailgun's text where Mailgun has one) and may
carry context (domain, message id, recipient) for logs; secrets never go into either.
"""

from __future__ import annotations

from typing import Any


class TidingsError(Exception):
    status = 500

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        if not self.context:
            return self.message
        ctx = ", ".join(f"{k}={v!r}" for k, v in sorted(self.context.items()))
        return f"{self.message} ({ctx})"


class BadRequest(TidingsError):
    status = 400


class TooLarge(BadRequest):
    status = 413


class Unauthorized(TidingsError):
    status = 401


class Forbidden(TidingsError):
    status = 403


class NotFound(TidingsError):
    status = 404
