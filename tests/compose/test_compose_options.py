"""parse_send_form: Mailgun's field rules and error texts."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.compose.headers import given_message_id
from tidings.compose.options import parse_send_form
from tidings.core.model import Address, Attachment, SendRequest, Upload
from tidings.errors import BadRequest, TooLarge

GHOST_DATE = "Wed, 03 Dec 2025 00:00:00 GMT"
GHOST_EPOCH = 1_764_720_000.0
NOW = GHOST_EPOCH - 3600.0
BASE: list[tuple[str, str | Upload]] = [
    ("from", "Sender <s@example.com>"),
    ("to", "r@example.org"),
    ("text", "hi"),
]


def parse(fields: list[tuple[str, str | Upload]], **kw: Any) -> SendRequest:
    opts: dict[str, Any] = {
        "mime": False,
        "max_recipients": 1000,
        "max_message_bytes": 25 * 1024 * 1024,
        "max_schedule_days": 7,
        "now": NOW,
    }
    opts.update(kw)
    return parse_send_form(fields, **opts)


def refused(fields: list[tuple[str, str | Upload]], **kw: Any) -> BadRequest:
    with pytest.raises(BadRequest) as info:
        parse(fields, **kw)
    return info.value


def test_minimal_send_and_defaults() -> None:
    req = parse([*BASE, ("subject", "Hello")])
    assert req.sender == (Address("Sender", "s@example.com"),)
    assert req.to == (Address("", "r@example.org"),)
    assert (req.subject, req.text, req.html, req.amp_html) == ("Hello", "hi", None, None)
    assert (req.testmode, req.dkim, req.require_tls, req.skip_verification) == (
        False,
        None,
        False,
        False,
    )
    assert req.tags == () and req.headers == () and req.variables == {}
    assert req.recipient_variables is None and not req.is_batch
    assert req.deliver_at is None and req.mime is None


# -- addresses ---------------------------------------------------------------------------


def test_from_missing() -> None:
    err = refused([("to", "r@example.org"), ("text", "hi")])
    assert err.status == 400
    assert err.message == "from parameter is missing."


@pytest.mark.parametrize("bad", ["sdsdsd", "a b@example.com", "Jane <>", "x@", "@x.org"])
def test_from_invalid(bad: str) -> None:
    err = refused([("from", bad), ("to", "r@example.org"), ("text", "hi")])
    assert err.status == 400
    assert err.message == "'from' parameter is not a valid address. please check documentation."


def test_to_missing() -> None:
    err = refused([("from", "s@example.com"), ("text", "hi")])
    assert err.message == "to parameter is missing."


@pytest.mark.parametrize("field", ["to", "cc", "bcc"])
@pytest.mark.parametrize(
    "bad", ["not-an-address", "a@b@c.org", "x@-bad.org", "x@a..org", "two words@x.org"]
)
def test_recipient_invalid(field: str, bad: str) -> None:
    fields: list[tuple[str, str | Upload]] = [*BASE, (field, bad)]
    err = refused(fields)
    assert err.status == 400
    assert err.message == f"{field} parameter is not a valid address. please check documentation."


def test_recipients_repeated_comma_separated_quoted_and_deduplicated() -> None:
    req = parse(
        [
            ("from", "s@example.com"),
            ("to", '"Doe, Jane" <j@x.org>, b@y.org'),
            ("to", "B@Y.org"),
            ("to", "c@z.org,d@z.org"),
            ("cc", "J@x.org, e@z.org"),
            ("bcc", "f@z.org"),
            ("text", "hi"),
        ]
    )
    assert req.to == (
        Address("Doe, Jane", "j@x.org"),
        Address("", "b@y.org"),
        Address("", "c@z.org"),
        Address("", "d@z.org"),
    )
    assert [a.email for a in req.recipients] == [
        "j@x.org",
        "b@y.org",
        "c@z.org",
        "d@z.org",
        "e@z.org",
        "f@z.org",
    ]


def test_display_names_unicode_and_encoded_words() -> None:
    req = parse(
        [
            ("from", "=?utf-8?q?J=C3=B6rg?= <j@example.com>"),
            ("from", "Zoë <z@example.com>"),
            ("to", "Ünïcode Name <u@example.org>, plain@localhost"),
            ("text", "hi"),
        ]
    )
    assert req.sender == (Address("Jörg", "j@example.com"), Address("Zoë", "z@example.com"))
    assert req.to == (Address("Ünïcode Name", "u@example.org"), Address("", "plain@localhost"))


def test_too_many_recipients_counts_unique_envelope_addresses() -> None:
    ok: list[tuple[str, str | Upload]] = [
        *BASE,
        ("cc", "a@x.org"),
        ("bcc", "R@example.org"),
        ("bcc", "b@x.org"),
    ]
    assert len(parse(ok, max_recipients=3).recipients) == 3
    err = refused([*ok, ("cc", "c@x.org")], max_recipients=3)
    assert err.message == "Too many recipients: the limit is 3."
    err = refused(
        [("from", "s@x.org"), *[("to", f"u{i}@x.org") for i in range(1001)], ("text", "t")]
    )
    assert err.message == "Too many recipients: the limit is 1000."


# -- bodies ------------------------------------------------------------------------------


def test_body_required() -> None:
    err = refused([("from", "s@x.org"), ("to", "r@x.org"), ("subject", "s"), ("text", "")])
    assert err.message == (
        "Need at least one of 'text', 'html', 'amp-html' or 'template' parameters specified."
    )


@pytest.mark.parametrize("field", ["text", "html", "amp-html"])
def test_any_one_body_field_is_enough(field: str) -> None:
    req = parse([("from", "s@x.org"), ("to", "r@x.org"), (field, "<b>x</b>")])
    assert "<b>x</b>" in (req.text, req.html, req.amp_html)


def test_html_and_template_together_refused() -> None:
    err = refused([*BASE, ("html", "<p>x</p>"), ("template", "welcome")])
    assert err.message == "Only one parameters 'html' or 'template' is allowed."


UNKNOWN_WELCOME = (
    "template 'welcome' not found: this server stores no templates;"
    " send 'text', 'html' or 'amp-html' instead"
)


@pytest.mark.parametrize(
    "fields",
    [
        [("from", "s@x.org"), ("to", "r@x.org"), ("template", "welcome")],
        [*BASE, ("template", "welcome"), ("t:variables", '{"name": "Ann"}')],
        [("from", "s@x.org"), ("to", "r@x.org"), ("amp-html", "<p>x</p>"), ("template", "welcome")],
    ],
)
def test_a_named_template_does_not_exist(fields: list[tuple[str, str | Upload]]) -> None:
    # No Templates API, so no template exists on any domain: the body would be empty.
    assert refused(fields).message == UNKNOWN_WELCOME


def test_unknown_template_refused_on_mime_sends_too() -> None:
    mime = Upload("MimeMessage", "message/rfc822", b"From: s@x.org\r\nSubject: s\r\n\r\nbody\r\n")
    err = refused([("to", "r@x.org"), ("message", mime), ("template", "welcome")], mime=True)
    assert err.message == UNKNOWN_WELCOME


def test_unknown_template_name_is_shortened_in_the_message() -> None:
    err = refused([*BASE, ("template", "t" * 5000)])
    assert err.message.startswith("template '" + "t" * 128 + "...' not found")


def test_empty_template_is_no_template() -> None:
    assert parse([*BASE, ("template", "")]).template == ""
    err = refused([("from", "s@x.org"), ("to", "r@x.org"), ("template", "")])
    assert err.message.startswith("Need at least one of")


def test_body_sent_as_file_is_read_as_utf8() -> None:
    req = parse([*BASE, ("html", Upload("page.html", "text/html", "<p>é</p>".encode()))])
    assert req.html == "<p>é</p>"


# -- booleans and tracking ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(word, True) for word in ("yes", "YES", "true", "True", "1")],
        *[(word, False) for word in ("no", "No", "false", "False", "0")],
    ],
)
def test_booleans(raw: str, expected: bool) -> None:
    req = parse(
        [
            *BASE,
            ("o:testmode", raw),
            ("o:dkim", raw),
            ("o:require-tls", raw),
            ("o:skip-verification", raw),
        ]
    )
    assert (req.testmode, req.dkim, req.require_tls, req.skip_verification) == (expected,) * 4


@pytest.mark.parametrize("field", ["o:testmode", "o:dkim", "o:require-tls", "o:skip-verification"])
def test_bad_boolean_names_the_field(field: str) -> None:
    err = refused([*BASE, (field, "maybe")])
    assert err.status == 400
    assert err.message == f"{field} parameter must be yes or no, not 'maybe'."


def test_tracking_flags_normalised() -> None:
    req = parse(
        [
            *BASE,
            ("o:tracking", "True"),
            ("o:tracking-clicks", "HTMLOnly"),
            ("o:tracking-opens", "false"),
            ("o:tracking-pixel-location-top", "htmlonly"),
        ]
    )
    assert (req.tracking, req.tracking_clicks, req.tracking_opens, req.tracking_pixel_top) == (
        "yes",
        "htmlonly",
        "no",
        "htmlonly",
    )


def test_tracking_bad_values() -> None:
    err = refused([*BASE, ("o:tracking-clicks", "sometimes")])
    assert err.message == (
        "o:tracking-clicks parameter must be yes, no or htmlonly, not 'sometimes'."
    )
    err = refused([*BASE, ("o:tracking-opens", "htmlonly")])
    assert err.message == "o:tracking-opens parameter must be yes or no, not 'htmlonly'."


# -- tags --------------------------------------------------------------------------------


def test_tags_cleaned_and_deduplicated() -> None:
    req = parse(
        [
            *BASE,
            ("o:tag", "ghost-email"),
            ("o:tag", "bulk-email"),
            ("o:tag", "Bulk-Email"),
            ("o:tag", "café"),
            ("o:tag", "a\x1fb\tc"),
            ("o:tag", "ü"),
            ("o:tag", "  "),
        ]
    )
    assert req.tags == ("ghost-email", "bulk-email", "caf", "abc")


def test_ten_tags_allowed_eleven_refused() -> None:
    ten: list[tuple[str, str | Upload]] = [("o:tag", f"t{i}") for i in range(10)]
    assert len(parse([*BASE, *ten]).tags) == 10
    err = refused([*BASE, *ten, ("o:tag", "t10")])
    assert err.status == 400
    assert err.message == "Too many tags: a message may have at most 10 o:tag values, got 11."
    # Duplicates do not count against the limit.
    assert len(parse([*BASE, *ten, ("o:tag", "T9")]).tags) == 10


def test_tag_length_limit() -> None:
    assert parse([*BASE, ("o:tag", "x" * 128)]).tags == ("x" * 128,)
    err = refused([*BASE, ("o:tag", "x" * 129)])
    assert err.message.startswith("o:tag values are limited to 128 characters")


# -- scheduling --------------------------------------------------------------------------


def test_deliverytime_rfc2822_as_ghost_sends_it() -> None:
    assert parse([*BASE, ("o:deliverytime", GHOST_DATE)]).deliver_at == GHOST_EPOCH
    numeric = parse([*BASE, ("o:deliverytime", "Wed, 03 Dec 2025 01:00:00 +0100")])
    assert numeric.deliver_at == GHOST_EPOCH


def test_deliverytime_epoch_float() -> None:
    assert parse([*BASE, ("o:deliverytime", f"{NOW + 61.266}")]).deliver_at == pytest.approx(
        NOW + 61.266
    )


def test_deliverytime_recent_past_means_now() -> None:
    assert parse([*BASE, ("o:deliverytime", str(NOW - 240))]).deliver_at is None


def test_deliverytime_in_the_past_refused() -> None:
    err = refused([*BASE, ("o:deliverytime", str(NOW - 360))])
    assert err.message == "o:deliverytime parameter is in the past."


def test_deliverytime_too_far_ahead() -> None:
    assert parse([*BASE, ("o:deliverytime", str(NOW + 7 * 86400))]).deliver_at is not None
    err = refused([*BASE, ("o:deliverytime", str(NOW + 7 * 86400 + 1))])
    assert err.message == "o:deliverytime parameter is more than 7 days in the future."
    err = refused([*BASE, ("o:deliverytime", str(NOW + 2 * 86400))], max_schedule_days=1)
    assert err.message == "o:deliverytime parameter is more than 1 days in the future."


@pytest.mark.parametrize("bad", ["tomorrow", "nan", "inf", "", "32 Foo 2025"])
def test_deliverytime_unparseable(bad: str) -> None:
    err = refused([*BASE, ("o:deliverytime", bad)])
    assert err.status == 400
    assert err.message.startswith("o:deliverytime parameter is not a valid date")


# -- v:, h:, recipient-variables, other options ------------------------------------------


def test_variables_are_strings_and_json_stays_raw() -> None:
    req = parse(
        [
            *BASE,
            ("v:meta2", "2"),
            ("v:obj", '{"a": 1}'),
            ("v:meta2", "3"),
            ("v:email-id", "abc"),
        ]
    )
    assert req.variables == {"meta2": "3", "obj": '{"a": 1}', "email-id": "abc"}


def test_headers_keep_order_and_casing() -> None:
    req = parse(
        [
            *BASE,
            ("h:Reply-To", "r@x.org"),
            ("h:X-Anymail-Test", "value"),
            ("h:x-lower", " spaced "),
            ("h:Reply-To", "again@x.org"),
        ]
    )
    assert req.headers == (
        ("Reply-To", "r@x.org"),
        ("X-Anymail-Test", "value"),
        ("x-lower", "spaced"),
        ("Reply-To", "again@x.org"),
    )


@pytest.mark.parametrize("name", ["h:Bad Name", "h:Bad:Name", "h:", "h:Naïve"])
def test_bad_header_names(name: str) -> None:
    err = refused([*BASE, (name, "v")])
    assert err.message == f"{name!r} is not a valid header name."


@pytest.mark.parametrize("value", ["a\r\nBcc: x@y.org", "a\nb", "a\rb"])
def test_header_values_with_line_breaks_refused(value: str) -> None:
    err = refused([*BASE, ("h:X-Test", value)])
    assert err.message == "h:X-Test parameter must not contain line breaks."


def test_recipient_variables_parsed() -> None:
    req = parse([*BASE, ("recipient-variables", '{"r@example.org": {"name": "R", "n": 1}}')])
    assert req.recipient_variables == {"r@example.org": {"name": "R", "n": 1}}
    assert req.is_batch
    assert parse([*BASE, ("recipient-variables", "{}")]).is_batch
    assert not parse([*BASE, ("recipient-variables", "  ")]).is_batch


def test_recipient_variables_malformed() -> None:
    err = refused([*BASE, ("recipient-variables", '{"r@example.org": ')])
    assert err.message == "recipient-variables parameter is not a valid JSON"


@pytest.mark.parametrize("raw", ["[]", '"x"', '{"r@example.org": 1}', '{"a": []}'])
def test_recipient_variables_wrong_shape(raw: str) -> None:
    err = refused([*BASE, ("recipient-variables", raw)])
    assert err.message.startswith("recipient-variables parameter must be a JSON object")


def test_other_options_kept_and_unknown_fields_ignored() -> None:
    req = parse(
        [
            *BASE,
            ("o:sending-ip", "10.0.0.1"),
            ("t:version", "v2"),
            ("o:archive-to", "https://a.example"),
            ("sender", "whatever"),
            ("api_key", "nope"),
            ("message", "ignored on /messages"),
        ]
    )
    assert req.options == {
        "o:sending-ip": "10.0.0.1",
        "t:version": "v2",
        "o:archive-to": "https://a.example",
    }
    assert req.mime is None


def test_options_limited_to_16kb_total() -> None:
    half = "x" * (8 * 1024)
    assert parse([*BASE, ("v:a", half), ("h:X-B", half[:-20])]).variables["a"] == half
    err = refused([*BASE, ("v:a", half), ("h:X-B", half), ("o:tag", "t")])
    assert err.status == 400
    assert err.message == (
        "Send options (parameters starting with o:, h:, or v:) are limited to 16KB total"
    )


# -- files and size ----------------------------------------------------------------------


def test_attachments_and_inline() -> None:
    req = parse(
        [
            *BASE,
            ("attachment", Upload("vedhæftet fil.csv", "text/csv", b"a,b\n")),
            ("attachment", Upload(None, None, b"\x00\x01")),
            ("attachment", Upload("C:\\fakepath\\report.pdf", "", b"%PDF")),
            ("inline", Upload("logo.png", "image/png", b"\x89PNG")),
            ("attachment", "plain string content"),
        ]
    )
    assert req.attachments == (
        Attachment("vedhæftet fil.csv", "text/csv", b"a,b\n", inline=False),
        Attachment("attachment", "application/octet-stream", b"\x00\x01", inline=False),
        Attachment("report.pdf", "application/pdf", b"%PDF", inline=False),
        Attachment("logo.png", "image/png", b"\x89PNG", inline=True),
        Attachment("attachment", "text/plain", b"plain string content", inline=False),
    )


def test_message_too_large() -> None:
    with pytest.raises(TooLarge) as info:
        parse([*BASE, ("html", "x" * (1024 * 1024 + 1))], max_message_bytes=1024 * 1024)
    assert info.value.status == 413
    assert info.value.message == "Message size exceeds the limit of 1 MB"
    with pytest.raises(TooLarge) as info:
        parse([*BASE, ("attachment", Upload("a.bin", None, b"x" * 2000))], max_message_bytes=1000)
    assert info.value.message == "Message size exceeds the limit of 1000 bytes"


# -- messages.mime -----------------------------------------------------------------------

MIME = b"From: Sender <s@example.com>\r\nTo: r@example.org\r\nSubject: hi\r\n\r\nbody\r\n"


def test_mime_form() -> None:
    upload = Upload("MimeMessage", None, MIME)
    req = parse([("to", "r@example.org"), ("message", upload)], mime=True)
    assert req.mime == MIME and req.to == (Address("", "r@example.org"),)
    as_text = parse([("to", "r@example.org"), ("message", MIME.decode())], mime=True)
    assert as_text.mime == MIME


def test_mime_form_requires_to_and_message() -> None:
    err = refused([("message", MIME.decode())], mime=True)
    assert err.message == "to parameter is missing."
    err = refused([("to", "r@example.org")], mime=True)
    assert err.message == "message parameter is missing."
    err = refused([("to", "r@example.org"), ("message", "")], mime=True)
    assert err.message == "message parameter is missing."


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"just some text\n", "line 1 is not a header field"),
        (b"\r\nbody only\r\n", "it has no headers"),
        (b" folded: x\r\nFrom: a@x.org\r\n\r\nb", "it starts with a folded line"),
        (b"Subject: x\n\nbody\n", "it has no From header"),
        (b"From: nobody\n\nbody\n", "its From header is not a valid address"),
        (b"From: a@x.org\nContent-Type: multipart/mixed\n\nx\n", "multipart but has no boundary"),
        (
            b'From: a@x.org\nContent-Type: multipart/mixed; boundary="zz"\n\nx\n',
            "its multipart boundary 'zz' is not in the body",
        ),
    ],
)
def test_broken_mime_refused(data: bytes, why: str) -> None:
    err = refused([("to", "r@example.org"), ("message", Upload("m", None, data))], mime=True)
    assert err.status == 400
    assert err.message.startswith("message is not a valid MIME message: ")
    assert why in err.message


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("ÜberTag", "berTag"), (" a\x1fb\tc ", "abc"), ("ü", ""), ("bulk-email", "bulk-email")],
)
def test_clean_tag_is_what_o_tag_keeps(raw: str, clean: str) -> None:
    """core.tags.clean_tag is the one normalisation; the Events API tag filter uses it too."""
    from tidings.core.tags import clean_tag

    assert clean_tag(raw) == clean
    assert parse([*BASE, ("o:tag", raw)]).tags == ((clean,) if clean else ())


@pytest.mark.parametrize(
    "value",
    [
        "<a b>c@x>",
        "no-at-sign",
        "<a@b",
        "a@b>",
        "<a@@b>",
        "<a..b@example.com>",
        "<é@example.com>",
        "<a@example.com> trailing",
        "<" + "x" * 980 + "@example.com>",
        "<%recipient.id%>",  # placeholders are only substituted in a batch send
    ],
)
def test_message_id_must_be_an_rfc5322_msg_id(value: str) -> None:
    err = refused([*BASE, ("h:Message-Id", value)])
    assert err.message.startswith("h:Message-Id parameter is not a valid Message-ID: ")


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("<custom.1@example.com>", "custom.1@example.com"),
        ("custom.2@example.com", "custom.2@example.com"),
        ("<x@[192.0.2.1]>", "x@[192.0.2.1]"),
        ("<%recipient.id%@my.host>", "%recipient.id%@my.host"),  # valid as it is
        ("", None),  # empty means none given
        ("<>", None),
    ],
)
def test_valid_message_ids_with_or_without_brackets(value: str, kept: str | None) -> None:
    assert given_message_id(parse([*BASE, ("h:Message-Id", value)])) == kept


def test_only_the_message_id_in_use_is_checked() -> None:
    req = parse([*BASE, ("h:Message-Id", "not valid"), ("h:Message-Id", "<ok@example.com>")])
    assert req.headers[-1] == ("Message-Id", "<ok@example.com>")


def test_batch_message_id_with_placeholders_is_checked_per_recipient() -> None:
    rv = '{"r@example.org": {"mid": "m1@example.com"}}'
    req = parse([*BASE, ("h:Message-Id", "<%recipient.mid%>"), ("recipient-variables", rv)])
    assert req.is_batch


def test_long_header_name_refused() -> None:
    err = refused([*BASE, ("h:X-" + "n" * 300, "v")])
    assert "is not a valid header name: over 256 characters" in err.message
