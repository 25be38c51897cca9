"""Frozen records passed between layers: a parsed send, its composed message, its copies.

The API and SMTP edges turn what a client sent into a ``SendRequest``; ``compose`` turns
that into a ``Composed`` message with one ``RecipientCopy`` per envelope recipient; the
queue stores both and the delivery worker personalizes each copy. No I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address as _HeaderAddress
from typing import Any

__all__ = ["Address", "Attachment", "Composed", "RecipientCopy", "SendRequest", "Upload"]


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox: an optional display name and a bare ``local@domain``."""

    name: str
    email: str

    @property
    def formatted(self) -> str:
        """RFC 5322 display form, unencoded: ``"Doe, Jane" <j@x.org>`` or ``j@x.org``."""
        if not self.name:
            return self.email
        local, _, domain = self.email.rpartition("@")
        return str(_HeaderAddress(self.name, local, domain))


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart form, as the API layer hands it over."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class Attachment:
    """An ``attachment`` or ``inline`` file of a send."""

    filename: str
    content_type: str
    data: bytes
    #: ``inline`` parts get ``Content-Disposition: inline`` and ``Content-ID: <filename>``.
    inline: bool


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Everything a ``/messages`` or ``/messages.mime`` form said, checked and normalised."""

    sender: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    amp_html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    #: ``o:tag`` values: ASCII, deduplicated case-insensitively, at most 10.
    tags: tuple[str, ...] = ()
    #: ``h:`` headers in the order given, names as the client spelled them.
    headers: tuple[tuple[str, str], ...] = ()
    #: ``v:`` custom data; values are strings (a JSON object stays its raw text).
    variables: dict[str, str] = field(default_factory=dict)
    #: ``recipient-variables``; ``None`` when the send is not a batch send.
    recipient_variables: dict[str, dict[str, Any]] | None = None
    #: ``o:deliverytime`` as epoch seconds; ``None`` means deliver now.
    deliver_at: float | None = None
    testmode: bool = False
    dkim: bool | None = None
    #: Tracking overrides as ``"yes"``, ``"no"`` or ``"htmlonly"``; ``None`` = domain setting.
    tracking: str | None = None
    tracking_clicks: str | None = None
    tracking_opens: str | None = None
    tracking_pixel_top: str | None = None
    require_tls: bool = False
    skip_verification: bool = False
    #: Every other ``o:`` and ``t:`` field, by its full name, last value wins.
    options: dict[str, str] = field(default_factory=dict)
    #: The uploaded message of ``messages.mime``.
    mime: bytes | None = None
    template: str | None = None

    @property
    def is_batch(self) -> bool:
        """A batch send (``recipient-variables`` given): one personalized copy per recipient."""
        return self.recipient_variables is not None

    @property
    def recipients(self) -> tuple[Address, ...]:
        """Envelope recipients: to, cc, bcc, deduplicated case-insensitively, order kept."""
        seen: set[str] = set()
        out: list[Address] = []
        for addr in (*self.to, *self.cc, *self.bcc):
            key = addr.email.lower()
            if key not in seen:
                seen.add(key)
                out.append(addr)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class RecipientCopy:
    """What one envelope recipient gets: ids, headers and data with variables substituted."""

    recipient: str
    #: Bracketless Message-ID of this copy (``%recipient.*%`` substituted).
    message_id: str
    #: This copy's ``from``, ``to``, ``subject`` and bracketless ``message-id``.
    headers: dict[str, str]
    #: ``v:`` values substituted for this recipient.
    variables: dict[str, str]
    #: This recipient's ``recipient-variables`` entry; ``None`` when the send had none.
    substitutions: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Composed:
    """A composed message, ready to be stored and queued."""

    #: What the API answers as ``id`` (bracketless). For batch sends with
    #: ``h:Message-Id: <%recipient.message_id%>`` this is the unsubstituted value, as on Mailgun.
    message_id: str
    #: The stored message; for batch sends a template that still carries the placeholders.
    mime: bytes
    size: int
    #: Message-level ``from``, ``to``, ``subject`` and bracketless ``message-id``, for events.
    headers: dict[str, str]
    #: ``{"filename", "content-type", "size"}`` of each non-inline attachment.
    attachments: list[dict[str, Any]]
    recipients: tuple[RecipientCopy, ...]
    #: Bare address of the first From.
    envelope_sender: str
    request: SendRequest

    @property
    def tags(self) -> tuple[str, ...]:
        return self.request.tags

    @property
    def variables(self) -> dict[str, str]:
        return self.request.variables

    @property
    def deliver_at(self) -> float | None:
        return self.request.deliver_at

    @property
    def testmode(self) -> bool:
        return self.request.testmode
