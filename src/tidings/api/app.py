"""``create_fastapi(services)``: the routers and the error handlers (``runtime`` puts the
send path, ``routes.messages.SendPath``, in front of it)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse

from tidings import __version__
from tidings.api import errors
from tidings.api.deps import Services
from tidings.api.health import DatabaseCheck
from tidings.api.routes import capture, credentials, domains, events, queues, stored


def create_fastapi(services: Services) -> FastAPI:
    app = FastAPI(
        title="tidings",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # A path with a trailing slash is a 404, never a redirect: a client that follows a
        # 307 keeps its method, and DELETE .../credentials/ (an empty login) would have become
        # DELETE .../credentials, every credential of the domain.
        redirect_slashes=False,
    )
    app.state.services = services
    # Ready as built, for a runtime started around the app; ``Runtime.asgi()``'s lifespan
    # clears it until start-up has completed and again when shutdown begins (``stopping``).
    app.state.ready = True
    app.state.stopping = False
    app.state.health = DatabaseCheck()
    errors.install(app)

    @app.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        """200 when the process is ready and the database answers; 503 saying what is not."""
        state = request.app.state
        if not state.ready:
            status = "stopping" if state.stopping else "starting"
            return JSONResponse({"status": status}, status_code=503)
        problem = await state.health.problem(state.services.engine)
        if problem is not None:
            return JSONResponse({"status": "unavailable", "message": problem}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    for module in (events, capture, stored, queues, domains, credentials):
        app.include_router(module.router)
    return app
