"""``%recipient.KEY%`` substitution for batch sends (Mailgun's recipient-variables).

``%recipient%`` is the recipient's address; ``%recipient.KEY%`` is the KEY of that
recipient's entry in ``recipient-variables``. Keys may hold ``:`` and ``.`` (anymail
sends ``%recipient.v:user%`` and ``%recipient.h:List-Unsubscribe%``). A key the
recipient lacks becomes the empty string, as on Mailgun. Other ``%...%`` variables
(``%unsubscribe_url%``, ``%tag_unsubscribe_email%``) are left for the tracking layer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MARKER", "by_address", "has_placeholders", "render_value", "substitute", "values_for"]

#: Every placeholder contains this; a cheap test before the regex runs.
MARKER = "%recipient"

_PLACEHOLDER = re.compile(r"%recipient(?:\.([^%\s]+))?%")


def has_placeholders(text: str) -> bool:
    return MARKER in text and _PLACEHOLDER.search(text) is not None


def render_value(value: Any) -> str:
    """A recipient-variables value as text: strings as they are, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _lookup(values: Mapping[str, Any], key: str) -> Any:
    if key in values:
        return values[key]
    # ``%recipient.a.b%`` may also mean a nested object; the literal key wins when both exist.
    node: Any = values
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def substitute(text: str, address: str, values: Mapping[str, Any]) -> str:
    """Replace ``%recipient%`` and ``%recipient.KEY%`` in ``text`` for one recipient."""
    if MARKER not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key is None:
            return address
        return render_value(_lookup(values, key))

    return _PLACEHOLDER.sub(repl, text)


def by_address(
    recipient_variables: Mapping[str, Mapping[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Index recipient-variables by lower-cased address (addresses match case-insensitively)."""
    table: dict[str, dict[str, Any]] = {}
    for key, value in recipient_variables.items():
        table.setdefault(key.strip().lower(), dict(value))
    return table


def values_for(table: Mapping[str, dict[str, Any]], address: str) -> dict[str, Any]:
    """The entry of ``address`` in a ``by_address`` table; ``{}`` when it has none."""
    return table.get(address.lower(), {})
