"""``generate`` and ``demo`` write only the tutorial's datasets, and never over anyone else's.

Through the real command line (``include.cli.main``), with the environment a user would set.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from include.cli import main
from include.data.parquet_store import PROVENANCE_FILE
from include.data.storage import ParquetDatasetStore
from include.tutorial import TUTORIAL_DATASETS
from include.tutorial.provenance import content_checksum

SMALL = ["--transactions-per-quarter", "300"]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty MES_HOME with its dataset store in ``datasets``; the tutorial's configuration."""
    monkeypatch.setenv("MES_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MES_DATASETS", str(tmp_path / "home" / "datasets"))
    for variable in ("MES_CONFIG", "MES_CONFIG_DIR", "MES_DATABASE_URL", "MES_MODELS"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "home"


def fingerprint(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def user_config(folder: Path, **settings: object) -> Path:
    lines = [
        "name: churn",
        "store_name: churn_mes",
        "label: churned",
        "date_column: day",
        "numeric_features: [spend]",
        "categorical_features: [plan]",
        "reference_period: 2024Q1",
        "model: {source: predictions, score_column: score}",
        *(f"{key}: {json.dumps(value)}" for key, value in settings.items()),
    ]
    path = folder / "churn.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def user_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "day": pd.to_datetime(["2024-01-02", "2024-02-03"]),
            "spend": [10.5, 20.0],
            "plan": ["basic", "pro"],
            "churned": [0, 1],
            "score": [0.2, 0.7],
        }
    )


def test_generating_twice_is_fine_and_records_what_it_wrote(home: Path, capsys) -> None:
    assert main(["generate", *SMALL]) == 0
    store = ParquetDatasetStore(home / "datasets")
    assert store.names() == sorted(TUTORIAL_DATASETS)
    records = json.loads((home / "datasets" / PROVENANCE_FILE).read_text())["datasets"]
    assert sorted(records) == sorted(TUTORIAL_DATASETS)
    for name in TUTORIAL_DATASETS:
        assert records[name]["checksum"] == content_checksum(store.read(name))
    assert main(["generate", *SMALL, "--seed", "5"]) == 0
    assert "generated" in capsys.readouterr().out


def test_a_users_dataset_in_the_store_is_refused_and_left_byte_identical(
    home: Path, capsys
) -> None:
    store = ParquetDatasetStore(home / "datasets")
    store.write("transactions", user_rows())
    before = fingerprint(home / "datasets")
    assert main(["generate", *SMALL]) == 1
    error = capsys.readouterr().err
    assert "refusing to generate" in error
    assert "'transactions' (not written by generate)" in error
    assert "Nothing was written" in error
    assert fingerprint(home / "datasets") == before  # not even the other three datasets
    assert main(["demo", *SMALL]) == 1
    assert fingerprint(home / "datasets") == before


def test_a_generated_dataset_that_the_user_changed_is_refused(home: Path, capsys) -> None:
    assert main(["generate", *SMALL]) == 0
    store = ParquetDatasetStore(home / "datasets")
    changed = store.read("transactions_prepared").head(10)
    store.write("transactions_prepared", changed)
    before = fingerprint(home / "datasets")
    assert main(["generate", *SMALL]) == 1
    assert "'transactions_prepared' (changed since generate wrote it)" in capsys.readouterr().err
    assert fingerprint(home / "datasets") == before


def test_a_dataset_generated_file_replaced_by_hand_is_refused(home: Path, capsys) -> None:
    assert main(["generate", *SMALL]) == 0
    user_rows().to_parquet(home / "datasets" / "merchants.parquet")
    before = fingerprint(home / "datasets")
    assert main(["generate", *SMALL]) == 1
    assert "'merchants' (changed since generate wrote it)" in capsys.readouterr().err
    assert fingerprint(home / "datasets") == before


def test_under_a_users_configuration_only_the_tutorials_datasets_are_written(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    user_rows().to_csv(mine / "rows.csv", index=False)
    (mine / "daily").mkdir()
    user_rows().to_parquet(mine / "daily" / "2024-01.parquet")
    store = ParquetDatasetStore(home / "datasets")
    store.write("churn_rows", user_rows())  # the user's dataset named in the configuration
    config = user_config(
        mine, dataset="churn_rows", data={"path": "rows.csv"}, reference_dataset={"path": "daily"}
    )
    monkeypatch.setenv("MES_CONFIG", str(config))
    before = {path: fingerprint(path) for path in (mine, store.path("churn_rows"))}

    assert main(["generate", *SMALL]) == 0
    out = capsys.readouterr().out
    assert "generate writes the fraud tutorial's datasets" in out
    assert "not the data of the configured model 'churn'" in out
    assert store.names() == sorted([*TUTORIAL_DATASETS, "churn_rows"])
    assert {path: fingerprint(path) for path in before} == before
    assert main(["generate", *SMALL]) == 0  # again, over its own datasets
    assert {path: fingerprint(path) for path in before} == before


def test_a_users_dataset_with_a_tutorial_name_is_refused_under_their_configuration(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    store = ParquetDatasetStore(home / "datasets")
    store.write("transactions_prepared", user_rows())
    monkeypatch.setenv("MES_CONFIG", str(user_config(tmp_path, dataset="transactions_prepared")))
    before = fingerprint(home / "datasets")
    assert main(["generate", *SMALL]) == 1
    assert "'transactions_prepared' (not written by generate)" in capsys.readouterr().err
    assert fingerprint(home / "datasets") == before


def test_demo_under_a_users_configuration_refuses_before_writing_anything(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("MES_CONFIG", str(user_config(tmp_path)))
    assert main(["demo", *SMALL]) == 1
    assert "demo runs the fraud tutorial, but the configured model is 'churn'" in (
        capsys.readouterr().err
    )
    assert not (home / "datasets").exists()


def test_the_checksum_ignores_row_order_but_not_content() -> None:
    rows = user_rows()
    assert content_checksum(rows) == content_checksum(rows.iloc[::-1])
    assert content_checksum(rows) != content_checksum(rows.assign(spend=[10.5, 20.5]))
    assert content_checksum(rows) != content_checksum(rows.astype({"churned": "int32"}))
