"""%recipient.KEY% substitution."""

from __future__ import annotations

from tidings.compose.variables import by_address, has_placeholders, substitute, values_for

VALUES = {
    "name": "Jane",
    "v:user": "alice",
    "h:List-Unsubscribe": "<mailto:u@x.org>",
    "message_id": "abc.1@example.com",
    "n": 3,
    "ok": True,
    "none": None,
    "obj": {"city": "Oslo"},
    "dotted.key": "literal",
}


def sub(text: str) -> str:
    return substitute(text, "jane@x.org", VALUES)


def test_bare_recipient_is_the_address() -> None:
    assert sub("To: %recipient%") == "To: jane@x.org"


def test_keys_with_colons_and_dots() -> None:
    assert sub("%recipient.v:user%|%recipient.h:List-Unsubscribe%") == "alice|<mailto:u@x.org>"
    assert sub("<%recipient.message_id%>") == "<abc.1@example.com>"
    assert sub("%recipient.dotted.key%") == "literal"
    assert sub("%recipient.obj.city%") == "Oslo"


def test_non_string_values_render_as_json() -> None:
    assert sub("%recipient.n% %recipient.ok% [%recipient.none%]") == "3 true []"
    assert sub("%recipient.obj%") == '{"city": "Oslo"}'


def test_unknown_keys_become_empty() -> None:
    assert sub("Hi %recipient.first_name%!") == "Hi !"
    assert substitute("Hi %recipient.name%", "b@x.org", {}) == "Hi "


def test_other_variables_untouched() -> None:
    text = "<%tag_unsubscribe_email%> %unsubscribe_url% 100% %recipients% %recipient.name%"
    assert sub(text) == "<%tag_unsubscribe_email%> %unsubscribe_url% 100% %recipients% Jane"
    assert not has_placeholders("%unsubscribe_url% and %recipient .x%")
    assert has_placeholders("a %recipient.x% b")


def test_lookup_by_address_is_case_insensitive() -> None:
    table = by_address({"Jane@X.org": {"name": "Jane"}, "b@x.org": {"name": "B"}})
    assert values_for(table, "jane@x.org") == {"name": "Jane"}
    assert values_for(table, "B@X.ORG") == {"name": "B"}
    assert values_for(table, "nobody@x.org") == {}
