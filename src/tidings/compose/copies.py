"""One ``RecipientCopy`` per envelope recipient, and the ``Composed`` record around them.

Without recipient-variables every copy shares the message's headers and data. With
them (a batch send) each copy gets its own Message-ID, headers and ``v:`` values with
``%recipient.*%`` substituted; ``personalize`` applies the same to the stored template.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidings.compose.headers import shown_addresses
from tidings.compose.variables import by_address, has_placeholders, substitute, values_for
from tidings.core.ids import is_message_id, strip_brackets
from tidings.core.model import Address, Composed, RecipientCopy, SendRequest
from tidings.errors import BadRequest

__all__ = ["finish", "recipient_copies"]


def recipient_copies(
    req: SendRequest,
    recipients: tuple[Address, ...],
    headers: dict[str, str],
    *,
    own_to: bool,
    fallback_id: str,
) -> tuple[RecipientCopy, ...]:
    """Copies for ``recipients``.

    ``own_to``: a batch copy's To is only its recipient. ``fallback_id``: the Message-ID of
    a batch copy whose ``h:Message-Id`` substitutes to nothing (its variable is missing).
    A Message-ID that substitutes to something that is not a msg-id is a ``BadRequest``.
    From and To are shown as the personalized message carries them (``shown_addresses``).
    """
    if req.recipient_variables is None:
        return tuple(
            RecipientCopy(a.email, headers["message-id"], dict(headers), dict(req.variables), None)
            for a in recipients
        )
    table = by_address(req.recipient_variables)
    per_copy_id = has_placeholders(headers["message-id"])
    copies: list[RecipientCopy] = []
    for addr in recipients:
        values = values_for(table, addr.email)

        def sub(text: str, email: str = addr.email, values: dict[str, Any] = values) -> str:
            return substitute(text, email, values)

        message_id = headers["message-id"]
        if per_copy_id:
            message_id = strip_brackets(sub(message_id)) or fallback_id
            if not is_message_id(message_id):
                raise BadRequest(
                    f"Message-ID {message_id[:128]!r} of {addr.email} (after substituting "
                    "recipient-variables) is not a valid Message-ID: use <left-part@domain>."
                )
        own = {
            "from": _addresses(headers["from"], sub),
            "to": addr.formatted if own_to else _addresses(headers["to"], sub),
            "subject": sub(headers["subject"]),
            "message-id": message_id,
        }
        variables = {k: sub(v) for k, v in req.variables.items()}
        copies.append(RecipientCopy(addr.email, message_id, own, variables, values))
    return tuple(copies)


def _addresses(template: str, sub: Callable[[str], str]) -> str:
    """An address header of one copy: re-read only when substitution changed it."""
    value = sub(template)
    return template if value == template else shown_addresses(value)


def finish(
    req: SendRequest,
    mime: bytes,
    headers: dict[str, str],
    *,
    envelope_sender: str,
    attachments: list[dict[str, Any]],
    own_to: bool,
    fallback_id: str,
) -> Composed:
    """Assemble the ``Composed`` record for a message whose bytes are ``mime``."""
    return Composed(
        message_id=headers["message-id"],
        mime=mime,
        size=len(mime),
        headers=headers,
        attachments=attachments,
        recipients=recipient_copies(
            req, req.recipients, headers, own_to=own_to, fallback_id=fallback_id
        ),
        envelope_sender=envelope_sender,
        request=req,
    )
