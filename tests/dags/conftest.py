"""What the DAG runs share: tutorial data in a fresh MES_HOME, the MES in PostgreSQL."""

from __future__ import annotations

import pytest

from include.config import load_config
from include.data.storage import open_dataset_store
from include.tutorial.datasets import generate_tutorial_data


@pytest.fixture
def project(airflow_db, postgres_url, tmp_path, monkeypatch) -> str:
    """Tutorial data in a fresh MES_HOME, the MES in PostgreSQL through ``mes_db``; its URL."""
    monkeypatch.setenv("MES_HOME", str(tmp_path / "mes_home"))
    monkeypatch.setenv("AIRFLOW_CONN_MES_DB", postgres_url.replace("+psycopg2", ""))
    generate_tutorial_data(open_dataset_store(None), load_config(), transactions_per_quarter=3_000)
    return postgres_url


def run(dag, **params):
    """``dag.test()`` with every Param given: a run's conf outlives it in the Param objects."""
    return dag.test(run_conf={**dag.params.dump(), **params})
