"""compose: Mailgun send forms -> SendRequest -> RFC 5322 messages. Pure, no I/O.

``options.parse_send_form`` reads the form, ``mime.compose`` / ``mime.compose_mime`` build
the stored message and its per-recipient copies, ``mime.personalize`` gives each batch
recipient its substituted bytes.
"""

from tidings.compose.mime import compose, compose_mime, personalize
from tidings.compose.options import parse_send_form

__all__ = ["compose", "compose_mime", "parse_send_form", "personalize"]
