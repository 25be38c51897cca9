"""Mailgun send form fields -> ``SendRequest``.

Each field is read by one row of a table, ``field -> (attribute, combiner, converter)``,
in the manner of django-anymail's ``BasePayload`` attribute tables: the converter parses
one value, the combiner folds repeated fields together. Rules about the request as a
whole (required fields, limits, the schedule window) run afterwards, in Mailgun's order.
Fields we do not know are ignored, as Mailgun ignores them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidings.compose import convert as c
from tidings.compose.addresses import unique
from tidings.compose.limits import MAX_TAGS, OPTIONS_LIMIT, PAST_GRACE_SECONDS, check_size
from tidings.compose.upload import check_mime
from tidings.compose.variables import has_placeholders
from tidings.core import ids
from tidings.core.model import SendRequest, Upload
from tidings.errors import BadRequest

__all__ = ["parse_send_form"]

_Spec = tuple[str, c.Combiner, c.Converter]

#: Exact field names. Attribute names are ``SendRequest`` fields.
FIELDS: dict[str, _Spec] = {
    "from": ("sender", c.extend, c.addresses),
    "to": ("to", c.extend, c.addresses),
    "cc": ("cc", c.extend, c.addresses),
    "bcc": ("bcc", c.extend, c.addresses),
    "subject": ("subject", c.last, c.text),
    "text": ("text", c.last, c.text),
    "html": ("html", c.last, c.text),
    "amp-html": ("amp_html", c.last, c.text),
    "template": ("template", c.last, c.text),
    "attachment": ("attachments", c.append, c.attachment(inline=False)),
    "inline": ("attachments", c.append, c.attachment(inline=True)),
    "recipient-variables": ("recipient_variables", c.last, c.recipient_variables),
    "message": ("mime", c.last, c.message),
    "o:tag": ("tags", c.append, c.tag),
    "o:deliverytime": ("deliver_at", c.last, c.deliverytime),
    "o:testmode": ("testmode", c.last, c.boolean),
    "o:dkim": ("dkim", c.last, c.boolean),
    "o:require-tls": ("require_tls", c.last, c.boolean),
    "o:skip-verification": ("skip_verification", c.last, c.boolean),
    "o:tracking": ("tracking", c.last, c.flag(htmlonly=True)),
    "o:tracking-clicks": ("tracking_clicks", c.last, c.flag(htmlonly=True)),
    "o:tracking-opens": ("tracking_opens", c.last, c.flag(htmlonly=False)),
    "o:tracking-pixel-location-top": ("tracking_pixel_top", c.last, c.flag(htmlonly=True)),
}

#: Field-name prefixes, tried when no exact name matches.
PREFIXES: dict[str, _Spec] = {
    "h:": ("headers", c.append, c.header),
    "v:": ("variables", c.merge, c.variable),
    "o:": ("options", c.merge, c.option),
    "t:": ("options", c.merge, c.option),
}

_ADDRESS_FIELDS = ("sender", "to", "cc", "bcc")
_BODY_FIELDS = ("text", "html", "amp_html", "template")
#: How much of a refused value (a template name, a Message-ID) an error message repeats.
_SHOWN = 128


def _length(value: c.Value) -> int:
    return len(value.data) if isinstance(value, Upload) else len(value)


def _collect(fields: Sequence[tuple[str, c.Value]], *, mime: bool) -> dict[str, Any]:
    got: dict[str, Any] = {}
    options_size = 0
    for name, value in fields:
        prefix = name[:2]
        if prefix in PREFIXES:
            options_size += len(name) + _length(value)
        spec = FIELDS.get(name) or PREFIXES.get(prefix)
        if spec is None or (name == "message" and not mime):
            continue
        attr, combine, convert = spec
        got[attr] = combine(got.get(attr), convert(name, value))
    if options_size > OPTIONS_LIMIT:
        raise BadRequest(
            "Send options (parameters starting with o:, h:, or v:) are limited to 16KB total"
        )
    return got


def _check_required(got: dict[str, Any], *, mime: bool) -> None:
    if mime:
        if not got.get("to"):
            raise BadRequest("to parameter is missing.")
        if not got.get("mime"):
            raise BadRequest("message parameter is missing.")
        check_mime(got["mime"])
        return
    if not got.get("sender"):
        raise BadRequest("from parameter is missing.")
    if not got.get("to"):
        raise BadRequest("to parameter is missing.")
    if not any(got.get(f) for f in _BODY_FIELDS):
        raise BadRequest(
            "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified."
        )
    if got.get("html") and got.get("template"):
        raise BadRequest("Only one parameters 'html' or 'template' is allowed.")


def _check_template(got: dict[str, Any]) -> None:
    """A named template must exist on the domain, and we store none (there is no Templates
    API): a send that names one would go out with an empty body, so it is refused.

    Mailgun's documents give no text for an unknown template (reports have it queue the send
    and never deliver it); we answer 400 in Mailgun's shape instead. When templates arrive
    this becomes a lookup of the domain's templates.
    """
    name = got.get("template")
    if name:
        shown = name if len(name) <= _SHOWN else name[:_SHOWN] + "..."
        raise BadRequest(
            f"template '{shown}' not found: this server stores no templates;"
            " send 'text', 'html' or 'amp-html' instead"
        )


def _check_message_id(got: dict[str, Any]) -> None:
    """The ``h:Message-Id`` in use (the last one not empty) must be an RFC 5322 msg-id.

    In a batch send one holding ``%recipient...%`` is checked per recipient once
    substituted (``copies``), as Ghost sends ``<%recipient.message_id%>``.
    """
    for name, value in reversed(got.get("headers", ())):
        mid = ids.strip_brackets(value) if name.lower() == "message-id" else ""
        if not mid:
            continue
        if got.get("recipient_variables") is not None and has_placeholders(mid):
            return
        if not ids.is_message_id(mid):
            shown = value if len(value) <= _SHOWN else value[:_SHOWN] + "..."
            raise BadRequest(
                f"h:Message-Id parameter is not a valid Message-ID: {shown!r}. "
                "Use <left-part@domain> as RFC 5322 section 3.6.4 defines it."
            )
        return


def _unique_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.lower(), tag)
    if len(seen) > MAX_TAGS:
        raise BadRequest(
            f"Too many tags: a message may have at most {MAX_TAGS} o:tag values, got {len(seen)}."
        )
    return tuple(seen.values())


def _schedule(when: float | None, *, now: float, max_days: int) -> float | None:
    if when is None:
        return None
    if when < now - PAST_GRACE_SECONDS:
        raise BadRequest("o:deliverytime parameter is in the past.")
    if when > now + max_days * 86400:
        raise BadRequest(f"o:deliverytime parameter is more than {max_days} days in the future.")
    return when if when > now else None


def _content_size(got: dict[str, Any]) -> int:
    if got.get("mime") is not None:
        return len(got["mime"])
    size = sum(len(got[f].encode("utf-8")) for f in ("text", "html", "amp_html") if got.get(f))
    return size + sum(len(a.data) for a in got.get("attachments", ()))


def parse_send_form(
    fields: Sequence[tuple[str, str | Upload]],
    *,
    mime: bool,
    max_recipients: int,
    max_message_bytes: int,
    max_schedule_days: int,
    now: float,
) -> SendRequest:
    """Read a ``/messages`` (``mime=False``) or ``/messages.mime`` form, repeats kept in order.

    Raises ``BadRequest`` (400) with Mailgun's message for a broken rule and ``TooLarge``
    (413) when the content is over ``max_message_bytes``.
    """
    got = _collect(fields, mime=mime)
    for attr in _ADDRESS_FIELDS:
        if attr in got:
            got[attr] = unique(got[attr])
    _check_required(got, mime=mime)
    _check_message_id(got)
    envelope = unique((*got.get("to", ()), *got.get("cc", ()), *got.get("bcc", ())))
    if len(envelope) > max_recipients:
        raise BadRequest(f"Too many recipients: the limit is {max_recipients}.")
    if "tags" in got:
        got["tags"] = _unique_tags(got["tags"])
    got["deliver_at"] = _schedule(got.get("deliver_at"), now=now, max_days=max_schedule_days)
    check_size(_content_size(got), max_message_bytes)
    _check_template(got)
    return SendRequest(**got)
