"""The web application: JSON API under /api/v1, server-rendered pages, static files, background dispatcher."""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from synfab import __version__
from synfab.bootstrap import CONTEXTS, build_database
from synfab.core.config import Settings, get_settings
from synfab.core.db import Database
from synfab.core.jobs import Job, run_jobs
from synfab.core.outbox import OutboxDispatcher
from synfab.people.service.security import RateLimiter
from synfab.web import errors
from synfab.web.deps import verify_csrf
from synfab.web.middleware import RequestContextMiddleware
from synfab.web.templating import WEB, NavItem

# Contexts with routers (api.py and/or pages.py), in navigation order.
ROUTED = (*CONTEXTS, "connect.files")


def _optional(module: str) -> object | None:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


def _jobs() -> list[Job]:
    """Every context's periodic jobs (`<context>/jobs.py`, `JOBS`)."""
    found: list[Job] = []
    for name in CONTEXTS:
        module = _optional(f"synfab.{name}.jobs")
        if module is not None:
            found.extend(module.JOBS)  # type: ignore[attr-defined]
    return found


def settle_heap() -> None:
    """For a server process, once its app is built: what is loaded by then (modules, the app, the models) lives as
    long as the process, so it is moved out of the garbage collector's reach — a full collection then walks only
    what requests create, and an order change is not held up 100 ms by a walk over everything (see
    docs/BENCHMARKS.md, propagation). Not for tests, which build many apps in one process."""
    gc.collect()
    gc.freeze()


def create_app(db: Database | None = None, settings: Settings | None = None, *, dispatcher: bool = True) -> FastAPI:
    settings = settings or get_settings()
    db = db or build_database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = OutboxDispatcher(db, max_attempts=settings.outbox_max_attempts,
                                  backoff_s=settings.outbox_backoff_s, poll_s=settings.outbox_poll_s)
        app.state.dispatcher = worker
        task = asyncio.create_task(worker.run_forever()) if dispatcher else None
        periodic = asyncio.create_task(run_jobs(db, _jobs())) if dispatcher else None
        connectors = None
        if dispatcher and settings.run_connectors:
            from synfab.connect.api import telemetry_pipeline
            from synfab.connect.manager import ConnectorManager

            connectors = ConnectorManager(db, telemetry_pipeline(app))
            connectors.start()
        app.state.connectors = connectors
        try:
            yield
        finally:
            if connectors is not None:
                await connectors.stop()
            elif app.state.telemetry is not None:
                await asyncio.to_thread(app.state.telemetry.stop)
            worker.stop()
            if periodic is not None:
                periodic.cancel()
                with suppress(asyncio.CancelledError):
                    await periodic
            if task is not None:
                with suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=5)

    app = FastAPI(
        title="synfab", version=__version__, lifespan=lifespan,
        description="Smart factory collaborative control — 智慧工厂协同管控",
        openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
        dependencies=[Depends(verify_csrf)],
    )
    app.state.db = db
    app.state.settings = settings
    app.state.telemetry = None  # the machine-data pipeline, made when first needed (connect.api)
    app.state.connectors = None
    app.state.sign_in_limiter = RateLimiter(limit=20, window=60.0)
    errors.install(app)
    app.add_middleware(RequestContextMiddleware, db=db, settings=settings)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    nav: list[NavItem] = []
    routers: list[APIRouter] = []
    from synfab.web import pages as web_pages

    for name in ROUTED:
        for part in ("api", "pages"):
            module = _optional(f"synfab.{name}.{part}")
            if module is not None:
                routers.append(module.router)  # type: ignore[attr-defined]
                nav.extend(getattr(module, "NAV", []))
    routers.append(web_pages.router)
    nav.extend(web_pages.NAV)
    for router in routers:
        app.include_router(router)
    from synfab.web.live import live_stream

    app.add_route("/api/v1/live", live_stream, methods=["GET"], include_in_schema=False)
    app.state.nav = nav
    app.state.routers = routers
    errors.document(app, api_routes(app))
    return app


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every route the app serves, with its full path (for route-table tests and tools)."""
    return [r for router in app.state.routers for r in router.routes if isinstance(r, APIRoute)]
