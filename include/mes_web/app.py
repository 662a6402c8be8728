"""The MES as a web app: HTML pages for people, the same data as JSON for scripts.

``create_app`` is mounted in the Airflow api-server by ``plugins/mes_ui_plugin.py``, which supplies
Airflow's own authentication; the app itself knows nothing of Airflow, so it is tested with a
plain SQLite store. Routes (relative to where it is mounted):

- ``/``: the overview of every evaluation store;
- ``/stores/{store}``: one store (status, evaluations, metric charts);
- ``/evaluations/{id}/report``: the drift report of one evaluation;
- ``/api/stores`` and ``/api/stores/{store}``: the same as JSON;
- ``/deployments/`` and ``/api/deployments``: the deployer's bundles and deployments, read-only
  (``include.mes_web.deployments``).

Every answer forbids loading anything from another host (Content-Security-Policy) and may only be
framed by the Airflow UI itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from include.bundles.deployer import Deployer
from include.errors import EvaluationNotFoundError, MonitoringError, StoreError
from include.mes.store import ModelEvaluationStore
from include.mes_web import deployments
from include.mes_web.pages import (
    TABLE_ROWS,
    StoreOverview,
    message_page,
    metric_page,
    model_status,
    overview_page,
    report_page,
    store_page,
)

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)


class StoreUnavailableError(Exception):
    """The MES cannot be opened (unreachable database, wrong connection...)."""


class _Stores:
    """Opens the MES on first use and keeps it; forgets it after a failure, to retry later."""

    def __init__(self, open_store: Callable[[], ModelEvaluationStore]) -> None:
        self._open_store = open_store
        self._store: ModelEvaluationStore | None = None
        self._lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[ModelEvaluationStore]:
        with self._lock:
            if self._store is None:
                try:
                    self._store = self._open_store()
                except StoreError as exc:
                    raise StoreUnavailableError(str(exc)) from exc
            store = self._store
        try:
            yield store
        except StoreError as exc:
            self.forget()
            raise StoreUnavailableError(str(exc)) from exc

    def forget(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None


def create_app(
    open_store: Callable[[], ModelEvaluationStore],
    *,
    authenticate: Callable[..., Any] | None = None,
    login_url: Callable[[str], str] | None = None,
    open_deployer: Callable[[], Deployer] = deployments.open_deployer,
) -> FastAPI:
    """The app; ``authenticate`` is a FastAPI dependency run before every route (it raises a
    401/403 ``HTTPException`` for a caller who is not logged in), ``login_url(next)`` where
    a browser is sent to log in, and ``open_deployer()`` the deployer the Deployments page reads
    (opened for each request: it is read rarely, and a new update shows at once)."""
    app = FastAPI(title="Model evaluation store", docs_url=None, redoc_url=None, openapi_url=None)
    stores = _Stores(open_store)
    router = APIRouter(dependencies=[Depends(authenticate)] if authenticate else [])

    @router.get("/", response_class=HTMLResponse)
    def overview() -> str:
        with stores.session() as store:
            return overview_page(_overviews(store), where=store.description)

    @router.get("/stores/{store_name:path}", response_class=HTMLResponse)
    def store_detail(store_name: str, metric: str | None = None, rows: str | None = None) -> str:
        with stores.session() as store:
            summaries = store.summaries(store_name)
            if not summaries:
                raise HTTPException(404, f"the MES holds no store named {store_name!r}")
            if metric is not None:
                return metric_page(store_name, metric, summaries)
            checks = store.check_results(store_name)
        return store_page(store_name, summaries, checks, rows=None if rows == "all" else TABLE_ROWS)

    @router.get("/evaluations/{evaluation_id}/report", response_class=HTMLResponse)
    def drift_report(evaluation_id: str) -> str:
        with stores.session() as store:
            try:
                evaluation = store.get(evaluation_id)
            except EvaluationNotFoundError:
                raise HTTPException(404, f"no evaluation {evaluation_id!r} in the MES") from None
        if not evaluation.drift:
            raise HTTPException(
                404,
                f"evaluation {evaluation.name} of {evaluation.store_name} has no drift analysis",
            )
        return report_page(evaluation)

    @router.get("/api/stores")
    def stores_json() -> list[dict[str, Any]]:
        with stores.session() as store:
            return [
                {
                    "store_name": o.name,
                    "status": o.status.outcome,
                    "status_explanation": o.status.explanation,
                    "evaluations": len(o.evaluations),
                }
                for o in _overviews(store)
            ]

    @router.get("/api/stores/{store_name:path}")
    def store_json(store_name: str) -> dict[str, Any]:
        with stores.session() as store:
            summaries = store.summaries(store_name)
            if not summaries:
                raise HTTPException(404, f"the MES holds no store named {store_name!r}")
            checks = store.check_results(store_name)
        status = model_status(summaries, checks)
        return {
            "store_name": store_name,
            "status": status.outcome,
            "status_explanation": status.explanation,
            "evaluations": [
                {**asdict(s), "checks": [asdict(c) for c in checks.get(s.evaluation_id, [])]}
                for s in summaries
            ],
        }

    app.include_router(router)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (401, 403) and login_url and _wants_html(request):
            return RedirectResponse(login_url(str(request.url)), status_code=303)
        if _wants_html(request):
            return HTMLResponse(message_page("Not available", str(exc.detail)), exc.status_code)
        return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(StoreUnavailableError)
    async def store_unavailable(request: Request, exc: StoreUnavailableError) -> Response:
        message = f"The model evaluation store cannot be read: {exc}"
        if _wants_html(request):
            return HTMLResponse(message_page("MES unavailable", message), 503)
        return JSONResponse({"detail": message}, 503)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response

    # The Deployments page. Added last, on a router of its own: the routes above are already
    # copied into the app. A missing or unreadable deployer is a message, not an error page.
    deployer_router = APIRouter(dependencies=router.dependencies)

    def read_deployer() -> deployments.DeployerOverview:
        with open_deployer() as deployer:
            return deployments.read_overview(deployer)

    @deployer_router.get("/deployments/", response_class=HTMLResponse)
    def deployments_html() -> HTMLResponse:
        try:
            return HTMLResponse(deployments.deployments_page(read_deployer()))
        except deployments.NoDeployerError as exc:
            return HTMLResponse(deployments.message_page("No deployer", str(exc)))
        except MonitoringError as exc:
            message = f"The deployer cannot be read: {exc}"
            return HTMLResponse(deployments.message_page("Deployer unavailable", message), 503)

    @deployer_router.get("/api/deployments")
    def deployments_api() -> JSONResponse:
        try:
            return JSONResponse(deployments.overview_json(read_deployer()))
        except deployments.NoDeployerError as exc:
            return JSONResponse(deployments.no_deployer_json(str(exc)))
        except MonitoringError as exc:
            return JSONResponse({"detail": f"The deployer cannot be read: {exc}"}, 503)

    app.include_router(deployer_router)
    return app


def _overviews(store: ModelEvaluationStore) -> list[StoreOverview]:
    overviews = []
    for name in store.store_names():
        summaries = store.summaries(name)
        status = model_status(summaries, store.check_results(name))
        overviews.append(StoreOverview(name, tuple(summaries), status))
    return overviews


def _wants_html(request: Request) -> bool:
    return "/api/" not in request.url.path
