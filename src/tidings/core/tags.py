"""Tags as Mailgun keeps them (contract §2.1): printable ASCII, without surrounding spaces.

``clean_tag`` is the one normalisation: ``compose`` applies it to every ``o:tag`` of a send,
and the Events API's ``tags`` filter to every term, so a filter finds the tags it names.
"""

from __future__ import annotations

import re

_DROP = re.compile(r"[^\x20-\x7e]+")


def clean_tag(text: str) -> str:
    """``text`` without non-ASCII and control characters and without surrounding spaces
    (``"ÜberTag"`` -> ``"berTag"``); empty when nothing is left."""
    return _DROP.sub("", text).strip()
