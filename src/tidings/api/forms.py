"""Reading form bodies with repeated keys kept, as every Mailgun client relies on.

Urlencoded bodies are parsed with the standard library (fast for the 20 KB HTML of a typical
send); multipart goes through Starlette with limits raised above Mailgun's own (a 1,000
recipient batch has more than Starlette's default 1,000 fields), and Mailgun's limits are then
enforced with Mailgun's errors.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request

from tidings.core.model import Upload
from tidings.errors import BadRequest, TooLarge

MAX_FIELDS = 20_000

Fields = list[tuple[str, str | Upload]]


async def read_form(request: Request, *, max_bytes: int) -> Fields:
    """The body's fields in order, repeats kept; files become :class:`Upload`."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes + 1024 * 1024:
        raise TooLarge(f"Request body is larger than the {max_bytes // (1024 * 1024)} MB limit")
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded" or not ctype:
        body = await request.body()
        if len(body) > max_bytes + 1024 * 1024:
            raise TooLarge(f"Request body is larger than the {max_bytes // (1024 * 1024)} MB limit")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        except ValueError as exc:
            raise BadRequest(f"Malformed form body: {exc}") from None
        return list(pairs)
    if ctype == "multipart/form-data":
        try:
            form = await request.form(
                max_files=MAX_FIELDS, max_fields=MAX_FIELDS, max_part_size=max_bytes
            )
        except MultiPartException as exc:
            raise BadRequest(f"Malformed multipart body: {exc.message}") from None
        out: Fields = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                out.append(
                    (
                        name,
                        Upload(filename=value.filename, content_type=value.content_type, data=data),
                    )
                )
            else:
                out.append((name, value))
        await form.close()
        return out
    raise BadRequest(
        f"Unsupported Content-Type {ctype!r}: use multipart/form-data or "
        "application/x-www-form-urlencoded"
    )
