"""Every DAG file imports cleanly, fast, with nothing heavy at module level, tags and retries.

Each file is imported in a fresh interpreter (so modules another test loaded do not hide what the
file imports itself), after Airflow's SDK and the providers it uses: what the file adds on top
is what the DAG processor pays at every parse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if p.name != "__init__.py")
# Files whose DAGs come from the configuration folder (tests/dags/test_model_dags.py): with the
# default folder, holding only the tutorial's model, they define none.
MODEL_DAG_FILES = ("model_monitors.py", "model_config_errors.py")
HEAVY_MODULES = (
    "pandas",
    "numpy",
    "sklearn",
    "scipy",
    "pyarrow",
    "great_expectations",
    "include.workflow",
    "include.mes",
    "include.drift",
)

PROBE = """
import json, runpy, sys, time
import airflow.sdk
from airflow.sdk import DAG, Asset, Param, dag, task
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
before = set(sys.modules)
started = time.perf_counter()
namespace = runpy.run_path(sys.argv[1])
seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": seconds,
    "new_modules": sorted(set(sys.modules) - before),
}))
"""


@pytest.fixture(scope="module")
def parsed() -> dict[str, dict]:
    results = {}
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(DAGS_FOLDER.parent), str(DAGS_FOLDER.parent / "plugins")]
        ),
    }
    for path in DAG_FILES:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(path)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{path.name} failed to import:\n{done.stderr[-3000:]}"
        results[path.name] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def test_the_contract_dags_are_all_there() -> None:
    assert {p.stem for p in DAG_FILES} >= {
        "recursive_mes",
        "build_project_mes",
        "data_drift_monitor",
    }


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_a_dag_file_imports_nothing_heavy(parsed, path) -> None:
    result = parsed[path.name]
    heavy = [
        m
        for m in result["new_modules"]
        if any(m == h or m.startswith(h + ".") for h in HEAVY_MODULES)
    ]
    print(f"{path.name}: {result['seconds']:.3f} s beyond Airflow's own import")
    assert heavy == [], f"{path.name} imports {heavy[:5]} at parse time: import them in tasks"


@pytest.mark.parametrize(
    "path", [p for p in DAG_FILES if p.name not in MODEL_DAG_FILES], ids=lambda p: p.name
)
def test_every_dag_has_docs_tags_owner_retries_and_a_failure_alert(airflow_db, path) -> None:
    import runpy

    from airflow.sdk import DAG

    namespace = runpy.run_path(str(path))
    dags = [v for v in namespace.values() if isinstance(v, DAG)]
    assert dags, f"{path.name} defines no DAG at module level"
    for dag in dags:
        assert dag.dag_id == path.stem
        assert (dag.doc_md or "").strip().startswith(f"### {dag.dag_id}")
        assert "mes" in dag.tags
        for task in dag.tasks:
            assert task.owner == "mlops", task.task_id
            assert task.on_failure_callback, task.task_id
            # A waiting trigger must not re-trigger; a rollback fails on purpose.
            if task.task_id not in ("run_recursive_mes", "roll_back"):
                assert task.retries >= 1, task.task_id


def test_the_public_params_have_their_contract_defaults(airflow_db) -> None:
    import runpy

    from airflow.sdk import DAG

    def params(name: str) -> dict:
        namespace = runpy.run_path(str(DAGS_FOLDER / f"{name}.py"))
        [dag] = [v for v in namespace.values() if isinstance(v, DAG)]
        return dag.params.dump()

    assert params("build_project_mes")["quarters"] == ["2017Q2", "2017Q3", "2017Q4"]
    assert "quarters" in params("recursive_mes")
    monitor = params("data_drift_monitor")
    assert (monitor["quarter"], monitor["drift_threshold"]) == ("2017Q4", 0.45)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_the_dag_processor_does_not_skip_the_file(path) -> None:
    # In safe mode (the default) Airflow parses only files that mention both words.
    content = path.read_bytes().lower()
    assert b"dag" in content
    assert b"airflow" in content


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_a_bad_setting_is_the_dag_files_import_error_in_one_clear_sentence(path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(DAGS_FOLDER.parent), str(DAGS_FOLDER.parent / "plugins")]
        ),
        "MES_TASK_RETRIES": "two",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import runpy, sys; runpy.run_path(sys.argv[1])", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "include.errors.ConfigurationError: MES_TASK_RETRIES must be a whole number >= 0, got 'two'"
    )
