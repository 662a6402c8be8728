"""The MES inside the Airflow UI: a page per evaluation store, linked from the navigation.

Registers, for the api-server:

- a FastAPI app mounted at ``/mes`` (``include.mes_web.app``): the stores with their model
  status, the evaluations with their metrics and check outcomes, a chart per metric, and each
  evaluation's drift report; the same data as JSON under ``/mes/api/``;
- an external view, **Browse → Model evaluations**, which shows that app inside the UI;
- an external view, **Browse → Deployments**, the same app's read-only page of the deployer
  (``/mes/deployments/``: published bundles, deployments, their active bundle, whether they are
  out of sync, their history), the same as JSON at ``/mes/api/deployments``.

The MES read is the deployment's own: connection ``mes_db``, else the embedded SQLite store under
``$MES_HOME``. Airflow does not authenticate plugin apps, so every route here requires the caller
to be logged in to this Airflow (the UI's session cookie or an API token), through the
api-server's own ``get_user`` dependency: Airflow exposes it nowhere else, and re-implementing
JWT validation would be worse. A browser that is not logged in is sent to the login page.

The deployer read is the one the ``bundle_release`` DAG uses: connection ``deployer_db``, else
``DEPLOYER_DATABASE_URL`` or the SQLite file under ``$MES_HOME``; the bundle store
``MES_BUNDLE_STORE``.

Importing this module stays cheap (it runs in every Airflow process that loads plugins): the app
and the MES code are only imported by the api-server, on the first request.
"""

from __future__ import annotations

import threading
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/mes"


def _login_url(next_url: str) -> str:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=next_url)


def _open_store() -> Any:
    from mes_hook import MESHook

    # The page only reads: a SELECT-only role will do.
    return MESHook().get_conn(read_only=True)


def _open_deployer() -> Any:
    from include.mes_web.deployments import open_deployer
    from mes_hook import MESHook

    return open_deployer(MESHook(mes_conn_id="deployer_db").get_uri())


def build_app() -> Any:
    """The MES app as the api-server mounts it, with Airflow's authentication."""
    from airflow.api_fastapi.core_api.security import get_user

    from include.mes_web.app import create_app

    return create_app(
        _open_store, authenticate=get_user, login_url=_login_url, open_deployer=_open_deployer
    )


class _BuiltOnFirstRequest:
    """An ASGI app that builds the real one when the first request arrives."""

    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = build_app()
        await self._app(scope, receive, send)


class MESUIPlugin(AirflowPlugin):
    name = "model_evaluation_store"
    fastapi_apps = [  # noqa: RUF012 - the attribute names and types are Airflow's
        {"app": _BuiltOnFirstRequest(), "url_prefix": URL_PREFIX, "name": "Model evaluation store"}
    ]
    external_views = [  # noqa: RUF012
        {
            "name": "Model evaluations",
            # Relative: the UI resolves it against its base URL, so a sub-path deployment works.
            "href": "mes/",
            "url_route": "mes",
            "destination": "nav",
            "category": "browse",
        },
        {
            "name": "Deployments",
            "href": "mes/deployments/",
            "url_route": "deployments",
            "destination": "nav",
            "category": "browse",
        },
    ]
