"""A user's own models from the command line, on a real public dataset (vega_datasets' Seattle
weather): a model file trained outside the project and logged predictions in a Parquet folder,
read from the paths their YAML files give, registered, evaluated and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.cli import main
from include.examples.seattle_weather import build_example


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return build_example(tmp_path_factory.mktemp("seattle"), mlflow=False).folder


def test_a_model_file_is_registered_evaluated_and_checked(example, home, capsys) -> None:
    config = str(example / "configs" / "seattle_rain_file.yaml")
    assert main(["--config", config, "register"]) == 0
    out = capsys.readouterr().out
    assert "366 rows" in out
    assert "small reference" in out

    assert main(["--config", config, "evaluate", "2013Q2", "2013Q3"]) == 0
    out = capsys.readouterr().out
    assert "evaluated 2013Q2: 91 rows" in out
    assert "evaluated 2013Q3: 92 rows" in out
    # The small reference is said with every evaluation (and kept on its labels for the page).
    assert "note: small reference: 366 rows (reference period 2012-01-01/2013-01-01" in out

    # Summer against a 2012 reference: the domain classifier tells them apart.
    assert main(["--config", config, "check", "2013Q3"]) == 3
    assert "data drift < 0.7  data_drift" in capsys.readouterr().out
    assert main(["--config", config, "check", "2013Q2"]) == 0


def test_logged_predictions_in_a_parquet_folder_are_evaluated_by_month(
    example, home, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("MES_CONFIG_DIR", str(example / "configs"))
    assert main(["--model", "seattle_rain_predictions", "evaluate", "2014-11"]) == 0
    out = capsys.readouterr().out
    assert "evaluated 2014-11: 30 rows" in out
    assert main(["--model", "seattle_rain_predictions", "show"]) == 0
    assert "seattle_rain_predictions_mes" in capsys.readouterr().out


def test_a_period_without_rows_names_the_source(example, home, capsys) -> None:
    config = str(example / "configs" / "seattle_rain_file.yaml")
    assert main(["--config", config, "evaluate", "2016Q1"]) == 1
    err = capsys.readouterr().err
    assert "no rows for 2016Q1" in err
    assert "seattle_weather_labelled.csv" in err


def test_models_lists_each_configuration_and_the_broken_ones(
    example, home, capsys, monkeypatch, tmp_path
) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    for path in (example / "configs").glob("*.yaml"):
        (folder / path.name).write_text(path.read_text().replace("../", f"{example}/"))
    monkeypatch.setenv("MES_CONFIG_DIR", str(folder))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "seattle_rain_file (seattle_rain_file.yaml): source file" in out
    assert "DAGs seattle_rain_predictions__data_drift_monitor" in out

    (folder / "typo.yaml").write_text("name: typo\nlabel: [")
    assert main(["models"]) == 2
    assert "typo.yaml: CANNOT BE READ" in capsys.readouterr().out
