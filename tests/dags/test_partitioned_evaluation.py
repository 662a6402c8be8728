"""A period evaluated by mapped partition tasks, through ``dag.test()``, against one task.

The tutorial's monitor with ``streaming.partitions: 3`` splits 2017Q2 into three slices of days
(``plan_slices``), summarises each in a mapped ``summarise_slice`` task, and ``build_mes``
merges them into one evaluation in the PostgreSQL MES. The same monitor with one task streams the
whole quarter (``memory_rows: 0``), and with the defaults evaluates it in memory. The merged
evaluation equals the single streamed task's exactly for counts and within the stated bounds for
the rest, and agrees with the in-memory one the same way.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from airflow.sdk import DagRunState, TaskInstanceState

from tests.dags.conftest import run
from tests.support.airflow import task_states

pytestmark = pytest.mark.integration

TUTORIAL = Path(__file__).resolve().parents[2] / "include" / "tutorial" / "fraud_tutorial.yaml"
EXACT = (
    "row_count",
    "labelled_rows",
    "label_share",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "mcc",
    "psi:card_age",
    "chi2_pvalue:merchant_category",
    "prediction_drift_chi2_pvalue",
    "prediction_drift_positive_share_change",
)


def monitor(tmp_path: Path, name: str, **streaming):
    from include.config import load_config
    from mes_model_dags import build_monitor_dag

    settings = yaml.safe_load(TUTORIAL.read_text())
    settings["streaming"] = streaming
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return build_monitor_dag(load_config(path), config_path=str(path), schedule=None, doc_md="")


def stored(url: str, quarter: str) -> tuple[dict, dict, dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        metrics, drift, quality = conn.execute(
            sa.text("select metrics, drift, quality from mes.evaluations where name = :name"),
            {"name": quarter},
        ).one()
    engine.dispose()
    return metrics, drift, quality


def assert_within_bounds(merged: dict, other: dict, bounds: dict) -> None:
    """Every metric of ``other`` in ``merged``; equal but for the ones a bound covers. (A
    streamed evaluation does not count rows repeated under the id column: they can sit in
    different chunks.)"""
    assert set(merged) == set(other) - {"duplicate_rows_dropped"}
    allowed = {
        "auc": bounds.get("performance", {}).get("auc", 0.0),
        "auc_ci_low": bounds.get("performance", {}).get("auc_ci_low", 0.0),
        "auc_ci_high": bounds.get("performance", {}).get("auc_ci_high", 0.0),
        "lift": bounds.get("performance", {}).get("lift", 0.0),
    }
    for name in EXACT:
        if name in other:
            assert merged[name] == pytest.approx(other[name], rel=1e-12, abs=1e-12), name
    for name, bound in allowed.items():
        if name in other:
            assert abs(merged[name] - other[name]) <= bound + 1e-12, name
    for name in ("log_loss", "calibration_loss"):
        if name in other:
            assert merged[name] == pytest.approx(other[name], rel=1e-9), name


def test_mapped_partitions_merge_into_the_single_task_evaluation(
    project, tmp_path, monkeypatch, smtp_sink
) -> None:
    quarter = "2017Q2"
    single = run(monitor(tmp_path, "single", memory_rows=0, chunk_rows=1_000), quarter=quarter)
    assert single.state == DagRunState.SUCCESS
    one_task, one_drift, one_quality = stored(project, quarter)
    assert one_drift["current"]["streamed"]["partitions"] == 1

    sliced = monitor(tmp_path, "sliced", memory_rows=0, chunk_rows=1_000, partitions=3)
    assert {"plan_slices", "summarise_slice", "build_mes"} <= set(sliced.task_ids)
    dag_run = run(sliced, quarter=quarter)

    assert dag_run.state == DagRunState.SUCCESS
    states = task_states(dag_run)
    assert states["build_mes"] == TaskInstanceState.SUCCESS
    slices = [ti for ti in dag_run.get_task_instances() if ti.task_id == "summarise_slice"]
    assert sorted(ti.map_index for ti in slices) == [0, 1, 2]
    assert all(ti.state == TaskInstanceState.SUCCESS for ti in slices)
    merged, merged_drift, merged_quality = stored(project, quarter)
    streamed = merged_drift["current"]["streamed"]
    assert streamed["partitions"] == 3
    assert merged["row_count"] == one_task["row_count"] > 2_000
    assert_within_bounds(merged, one_task, streamed["bounds"])
    assert merged_quality == one_quality
    assert merged_drift["drifted_features"] == one_drift["drifted_features"]
    # the slices' folders are gone once the evaluation is stored
    partials = Path(tmp_path / "mes_home" / "partials")
    assert not any(p.is_file() for p in partials.rglob("*")) if partials.exists() else True

    in_memory = run(monitor(tmp_path, "memory"), quarter=quarter)
    assert in_memory.state == DagRunState.SUCCESS
    exact, exact_drift, exact_quality = stored(project, quarter)
    assert "streamed" not in exact_drift["current"]
    assert_within_bounds(merged, exact, streamed["bounds"])
    assert merged_quality["warnings"] == exact_quality["warnings"]
    # the domain classifier reads a uniform sample on both paths: two draws, each with its
    # interval, which overlap
    assert merged["data_drift_ci_low"] <= exact["data_drift_ci_high"]
    assert exact["data_drift_ci_low"] <= merged["data_drift_ci_high"]
    assert math.isfinite(merged["estimated_auc"])


def recursive(tmp_path: Path, name: str, **streaming):
    from include.config import load_config
    from mes_model_dags import build_recursive_dag

    settings = yaml.safe_load(TUTORIAL.read_text())
    settings["streaming"] = streaming
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(settings))
    return build_recursive_dag(load_config(path), config_path=str(path), doc_md="")


def test_the_recursive_dag_evaluates_each_period_in_slices(project, tmp_path) -> None:
    quarters = ["2017Q2", "2017Q3"]
    sliced = recursive(tmp_path, "sliced", memory_rows=0, chunk_rows=1_000, partitions=2)
    dag_run = run(sliced, quarters=quarters)

    assert dag_run.state == DagRunState.SUCCESS
    instances = dag_run.get_task_instances()
    assert sorted(ti.map_index for ti in instances if ti.task_id == "summarise_slice") == [
        0,
        1,
        2,
        3,
    ]
    assert sorted(ti.map_index for ti in instances if ti.task_id == "merge_slices") == [0, 1]
    merged = {quarter: stored(project, quarter) for quarter in quarters}
    for _, drift, _ in merged.values():
        assert drift["current"]["streamed"]["partitions"] == 2

    assert run(recursive(tmp_path, "memory"), quarters=quarters).state == DagRunState.SUCCESS
    for quarter in quarters:
        exact, _, exact_quality = stored(project, quarter)
        metrics, drift, quality = merged[quarter]
        assert metrics["row_count"] == exact["row_count"] > 2_000
        assert_within_bounds(metrics, exact, drift["current"]["streamed"]["bounds"])
        assert quality["warnings"] == exact_quality["warnings"]
