"""The one place errors become HTTP statuses and Mailgun's ``{"message": ...}`` bodies."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Match

from tidings.errors import TidingsError, Unauthorized

log = logging.getLogger("tidings.api")


def forbidden() -> Response:
    # Mailgun answers a bad or missing key with 401 and the bare text "Forbidden".
    return PlainTextResponse(
        "Forbidden", status_code=401, headers={"WWW-Authenticate": 'Basic realm="MG API"'}
    )


def error_response(request: Request, exc: TidingsError) -> Response:
    """The response for ``exc``: Mailgun's status and ``{"message": ...}`` (401: ``Forbidden``)."""
    if isinstance(exc, Unauthorized):
        log.info("401 %s %s", request.method, request.url.path)
        return forbidden()
    log.info("%d %s %s: %s", exc.status, request.method, request.url.path, exc)
    return JSONResponse({"message": exc.message}, status_code=exc.status)


async def _tidings_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TidingsError)
    return error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and request.url.path.startswith("/v1/analytics/"):
        # Mailgun's analytics APIs answer an unknown path with ``error``, not ``message``
        # (mailgun-python's tests look for it): contract §1.1.
        return JSONResponse({"error": f"{request.url.path} not found"}, status_code=404)
    text = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, str(exc.detail))
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(_allowed(request))}
    return JSONResponse({"message": text}, status_code=exc.status_code, headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "POST", "PUT", "PATCH")


def _allowed(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's).
    Each method is tried against the routes as they match requests, so routers included
    into the app are looked into as well."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
    msg = f"Invalid parameter '{where}': {first.get('msg', 'invalid')}" if where else "Bad request"
    return JSONResponse({"message": msg}, status_code=400)


def client_gone(request: Request) -> None:
    """A client that closed its connection before its request was read: not our error."""
    log.info("client went away during %s %s", request.method, request.url.path)


async def _client_disconnect(request: Request, exc: Exception) -> Response:
    client_gone(request)
    return Response(status_code=400)  # never reaches the client; it has gone


#: Set on an exception whose 500 has been logged and answered: Starlette raises it again after
#: the answer, and ``SendPath`` then drops it instead of letting uvicorn log it a second time.
ANSWERED = "_tidings_answered"


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("500 %s %s", request.method, request.url.path)
    setattr(exc, ANSWERED, True)
    return JSONResponse({"message": "Internal Server Error"}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(TidingsError, _tidings_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnect)
    app.add_exception_handler(Exception, _unexpected)
