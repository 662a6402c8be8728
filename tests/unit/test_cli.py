"""include/cli: arguments, exit codes and what each command prints, in a fresh MES home.

``check``, late labels, own models and ``register`` have their own test files
(test_cli_check.py, test_label_delay_cli.py, test_own_models_cli.py,
model/test_register_command.py); these cover usage, configuration and period errors, ``generate``,
``show`` and ``demo``'s refusal, without training a model.
"""

from __future__ import annotations

import pytest

from include.cli import EXIT_CODES, main
from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore
from include.periods import Period

OTHER_MODEL = """\
name: churn
store_name: churn_store
label: churned
date_column: day
numeric_features: [tenure]
reference_period: 2020Q1
"""


@pytest.fixture
def other_config(tmp_path):
    path = tmp_path / "churn.yaml"
    path.write_text(OTHER_MODEL)
    return path


def test_help_lists_the_commands_and_exits_zero(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("demo", "generate", "train", "register", "evaluate", "show", "models", "check"):
        assert command in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["--config", "a.yaml", "--model", "b", "show"],
        ["check", "2017Q2", "--evaluation", "x"],
    ],
    ids=["no command", "unknown command", "config and model", "period and evaluation"],
)
def test_usage_errors_exit_two(argv, home, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_the_check_outcomes_have_their_documented_exit_codes():
    assert EXIT_CODES == {"OK": 0, "WARNING": 3, "ERROR": 4, "EMPTY": 5}


def test_a_configuration_that_cannot_be_read_exits_two(home, tmp_path, capsys):
    assert main(["--config", str(tmp_path / "missing.yaml"), "show"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read configuration file")


def test_an_invalid_configuration_exits_two_naming_the_setting(home, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(OTHER_MODEL.replace("2020Q1", "2020Q9"))
    assert main(["--config", str(path), "show"]) == 2
    assert "reference_period" in capsys.readouterr().err


def test_a_bad_period_exits_one_before_anything_is_opened(home, capsys):
    assert main(["evaluate", "2017Q5"]) == 1
    assert "2017Q5" in capsys.readouterr().err
    assert not (home / "mes.sqlite").exists()


def test_the_same_period_named_twice_exits_one(home, capsys):
    assert main(["evaluate", "2017Q2", "2017-04-01/2017-07-01"]) == 1
    assert capsys.readouterr().err.startswith("error: ")
    assert not (home / "mes.sqlite").exists()


def test_show_before_any_evaluation_says_the_store_does_not_exist(home, capsys):
    assert main(["show"]) == 2
    assert "holds no MES yet" in capsys.readouterr().err


def test_show_prints_the_store_and_its_evaluations(home, capsys):
    with ModelEvaluationStore.open(None) as mes:
        mes.save(
            EvaluationRecord(
                store_name="the_MES",
                model_name="fraud_authorization",
                model_version="2017Q1-x",
                period=Period.parse("2017Q2"),
                row_count=500,
                metrics={"auc": 0.8123},
                labels={"note:in_sample": "the period was used in training"},
            )
        )
    assert main(["show"]) == 0
    out = capsys.readouterr().out
    assert "model evaluation store 'the_MES'" in out
    assert "1 evaluation(s)" in out
    assert "0.8123" in out
    assert "2017Q2 (2017Q1-x): warning: the period was used in training" in out


def test_generate_writes_the_tutorial_data_and_says_where(home, capsys):
    assert main(["generate", "--transactions-per-quarter", "300", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("generated {")
    assert "'transactions_prepared': 1200" in out
    assert str(home / "datasets") in out
    assert (home / "datasets" / "transactions_prepared.parquet").is_file()


def test_generate_for_another_model_says_it_writes_the_tutorials_data(home, other_config, capsys):
    assert (
        main(["--config", str(other_config), "generate", "--transactions-per-quarter", "300"]) == 0
    )
    out = capsys.readouterr().out
    assert "note: generate writes the fraud tutorial's datasets" in out
    assert "'churn'" in out


def test_demo_refuses_a_model_other_than_the_tutorial(home, other_config, capsys):
    assert main(["--config", str(other_config), "demo"]) == 1
    assert "demo runs the fraud tutorial" in capsys.readouterr().err
    assert not (home / "datasets").exists()


def test_an_unknown_model_name_lists_those_of_the_folder(
    home, tmp_path, other_config, monkeypatch, capsys
):
    monkeypatch.setenv("MES_CONFIG_DIR", str(tmp_path))
    assert main(["--model", "nope", "show"]) == 2
    err = capsys.readouterr().err
    assert "no model 'nope'" in err
    assert "its models: churn" in err
    assert main(["--model", "churn", "show"]) == 2  # found: its store is not created yet
    assert "holds no MES yet" in capsys.readouterr().err
