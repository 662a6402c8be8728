"""The tasks of a partitioned evaluation: plan the slices, summarise each, merge into the MES.

With ``streaming.partitions`` above 1 in a model's configuration, its monitor DAG evaluates the
run's period (its recursive DAG each period of the run, :func:`evaluate_in_slices`) as
``plan_slices`` (the period's slices of days and a folder for each under
``$MES_HOME/partials``, which every worker of a deployment mounts), ``summarise_slice`` mapped
over the slices (each reads its days in chunks and saves a summary; on Celery the workers share
them) and a merge (``build_mes``), which merges the summaries into one evaluation, stores it and
removes the folders. Each function opens the model's workspace, as ``mes_model_dags._evaluate``
does.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from airflow.sdk import task


def _workspace(config_path: str | None):
    from include.config import load_config
    from mes_dag_defaults import open_workspace

    return open_workspace(load_config(config_path))


def partials_folder(store_name: str, period: str, run_id: str) -> Path:
    """Where the slices of one run's period are summarised (shared by the workers)."""
    from include.paths import mes_home

    safe = [re.sub(r"[^A-Za-z0-9_.-]+", "_", part) for part in (store_name, period, run_id)]
    return mes_home() / "partials" / safe[0] / safe[1] / safe[2]


STALE_AFTER_SECONDS = 2 * 86_400
"""Slices' folders older than this (a run that failed before its merge) are removed when the
same store plans new ones: a retry within the day still finds its own."""


def prune_partials(store_folder: Path, *, older_than: float = STALE_AFTER_SECONDS) -> list[Path]:
    """Remove the run folders (``<period>/<run_id>``) under ``store_folder`` not touched for
    ``older_than`` seconds; the folders removed."""
    removed = []
    cutoff = time.time() - older_than
    for run in sorted(store_folder.glob("*/*")):
        if (
            run.is_dir()
            and max((p.stat().st_mtime for p in run.rglob("*")), default=run.stat().st_mtime)
            < cutoff
        ):
            shutil.rmtree(run, ignore_errors=True)
            removed.append(run)
    return removed


def plan_slices(
    config_path: str | None, period: str, run_id: str, model_version: str | None = None
) -> dict:
    """The model version (``model_version``, else prepared as for any evaluation), the period
    and one folder per slice."""
    from include.periods import Period
    from include.workflow import prepare_project

    workspace = _workspace(config_path)
    try:
        version = model_version or prepare_project(workspace).version
        count = len(Period.parse(period).slices(workspace.config.streaming.partitions))
        folder = partials_folder(workspace.config.store_name, period, run_id)
        prune_partials(folder.parent.parent)
    finally:
        workspace.close()
    return {
        "period": period,
        "model_version": version,
        "folders": [str(folder / f"slice-{index:03d}") for index in range(count)],
    }


def summarise_slice(config_path: str | None, plan: dict, folder: str) -> str:
    """Summarise the slice whose folder is ``folder`` (its index is in its name)."""
    from include.model.registry import load_model
    from include.workflow import summarise_slice as summarise

    index = plan["folders"].index(folder)
    workspace = _workspace(config_path)
    try:
        model = load_model(workspace.config, plan["model_version"], workspace.models)
        shutil.rmtree(folder, ignore_errors=True)  # a retry starts from nothing
        summarise(
            workspace,
            plan["period"],
            index,
            len(plan["folders"]),
            model=model,
            folder=folder,
        )
    finally:
        workspace.close()
    return folder


def merge_slices(config_path: str | None, plan: dict, folders: list[str]) -> dict:
    """Merge the slices' summaries into the period's evaluation, store it, remove the folders;
    the run's summary of the evaluation (as ``_evaluate`` returns)."""
    from include.model.registry import load_model
    from include.workflow import evaluate_slices, summarise

    if sorted(folders) != sorted(plan["folders"]):
        raise RuntimeError(
            f"the slices summarised ({len(folders)}) are not the slices planned "
            f"({len(plan['folders'])}): run the DAG again"
        )
    workspace = _workspace(config_path)
    try:
        model = load_model(workspace.config, plan["model_version"], workspace.models)
        evaluation_id, evaluation = evaluate_slices(
            workspace, plan["period"], plan["folders"], model=model
        )
        built = summarise(workspace, evaluation_id, evaluation)
        built = {**built, "model": workspace.config.name, "store": workspace.config.store_name}
        built["partitions"] = len(folders)
    finally:
        workspace.close()
    shutil.rmtree(Path(plan["folders"][0]).parent, ignore_errors=True)
    return built


def evaluate_in_slices(config_path: str | None, periods, model_version):
    """The recursive DAG's tasks for ``periods`` (an XComArg of period names) in slices: plan
    every period, summarise every slice of every period (mapped once over all of them, so the
    workers share them), then merge each period once every slice is summarised. Returns the
    mapped merge, whose results are the periods' run summaries (as ``_evaluate``'s)."""

    @task
    def plan_period(quarter: str, model_version: str, dag_run=None) -> dict:
        return plan_slices(config_path, quarter, dag_run.run_id, model_version)

    @task
    def every_slice(plans: list[dict]) -> list[dict]:
        done = list(plans[: len(plans)])  # one slice, not iteration (see publish)
        return [{"plan": plan, "folder": folder} for plan in done for folder in plan["folders"]]

    @task(task_id="summarise_slice")
    def summarise(plan: dict, folder: str) -> str:
        return summarise_slice(config_path, plan, folder)

    @task(task_id="merge_slices")
    def merge(plan: dict) -> dict:
        """Merge one period's slices into its evaluation, into the store."""
        return merge_slices(config_path, plan, plan["folders"])

    plans = plan_period.partial(model_version=model_version).expand(quarter=periods)
    summarised = summarise.expand_kwargs(every_slice(plans))
    merged = merge.expand(plan=plans)
    summarised >> merged
    return merged
