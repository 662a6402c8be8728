"""A model evaluation store holding the tutorial's three evaluations, built the way the DAGs do.

Generates the tutorial data (small), trains the Q1 model, evaluates 2017Q2-Q4 with the full drift
analysis, and records the tutorial's check (``data drift < 0.45``) on the latest evaluation, as
``data_drift_monitor``'s ``mes_warn`` task does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from include.checks import parse_checks, run_checks
from include.config import load_config
from include.tutorial.datasets import generate_tutorial_data
from include.workflow import Workspace, evaluate_period, train

QUARTERS = ("2017Q2", "2017Q3", "2017Q4")
TUTORIAL_CHECK = {"name": "data drift < 0.45", "metric": "data_drift", "soft_max": 0.45}


def build_tutorial_mes(mes_url: str, folder: Path, *, rows_per_quarter: int = 3_000) -> dict:
    """Evaluate Q2-Q4 into the MES at ``mes_url``; quarter -> evaluation id."""
    workspace = Workspace.open(
        config=load_config(),
        datasets=folder / "datasets",
        models=folder / "models",
        mes_url=mes_url,
        reports=folder / "reports",
    )
    try:
        generate_tutorial_data(
            workspace.datasets, workspace.config, transactions_per_quarter=rows_per_quarter
        )
        model = train(workspace)
        ids = {q: evaluate_period(workspace, q, model=model)[0] for q in QUARTERS}
        latest = workspace.mes.get(ids[QUARTERS[-1]])
        workspace.mes.record_checks(
            latest.evaluation_id,
            run_checks(parse_checks([TUTORIAL_CHECK]), latest.metrics),
            checked_by={
                "dag_id": "data_drift_monitor",
                "run_id": "manual__test",
                "task_id": "mes_warn",
            },
        )
        return ids
    finally:
        workspace.close()


def sqlite_workspace(folder: Path, config) -> Workspace:
    """A workspace of ``config`` under ``folder``, its MES an SQLite file there."""
    return Workspace.open(
        config=config,
        datasets=folder / "datasets",
        models=folder / "models",
        mes_url=f"sqlite:///{folder / 'mes.sqlite'}",
        reports=folder / "reports",
    )


def copied_workspace(template: Path, folder: Path, config) -> Workspace:
    """:func:`sqlite_workspace` under ``folder`` with a copy of ``template``'s data and models
    (generated and trained once per module), and an MES of its own."""
    for part in ("datasets", "models"):
        shutil.copytree(template / part, folder / part)
    return sqlite_workspace(folder, config)


def trained_template(folder: Path, config, *, rows: int = 3_000, **generate) -> Path:
    """``folder`` holding the tutorial's data (``rows`` a quarter; ``generate``: more arguments
    of ``generate_tutorial_data``, e.g. ``label_delay_days``) and the Q1 model trained on it,
    for :func:`copied_workspace`."""
    made = sqlite_workspace(folder, config)
    try:
        generate_tutorial_data(made.datasets, transactions_per_quarter=rows, **generate)
        train(made)
    finally:
        made.close()
    return folder
