"""``check`` and ``show`` on the command line, against an embedded (SQLite) MES in a fresh home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from include.cli import main
from include.mes.records import EvaluationRecord
from include.mes.store import ModelEvaluationStore
from include.periods import Period

REPO = Path(__file__).resolve().parents[2]


def save(period: str, data_drift: float | None, *, store: str = "the_MES") -> str:
    metrics = {"row_count": 500.0, "auc": 0.8}
    if data_drift is not None:
        metrics["data_drift"] = data_drift
    record = EvaluationRecord(
        store_name=store,
        model_name="fraud_authorization",
        model_version="2017Q1-test",
        period=Period.parse(period),
        row_count=500,
        metrics=metrics,
    )
    with ModelEvaluationStore.open(None) as mes:
        return mes.save(record)


def test_check_names_the_period_and_exits_by_outcome(home, capsys) -> None:
    save("2017Q2", 0.40)
    save("2017Q4", 0.62)
    assert main(["check", "2017Q2"]) == 0
    out = capsys.readouterr().out
    assert "data drift < 0.45" in out
    assert "2017Q2" in out
    assert "outcome: OK" in out
    assert main(["check", "2017Q4"]) == 3
    out = capsys.readouterr().out
    assert "data_drift = 0.62 is above the soft maximum 0.45" in out
    assert "outcome: WARNING" in out
    # Without a period: the latest evaluation (2017Q4).
    assert main(["check"]) == 3


def test_check_by_evaluation_id_and_empty_is_not_ok(home, capsys) -> None:
    evaluation_id = save("2017Q3", None)
    assert main(["check", "--evaluation", evaluation_id]) == 5
    out = capsys.readouterr().out
    assert "metric data_drift is missing" in out
    assert "outcome: EMPTY" in out


def test_check_refuses_a_period_without_evaluation_and_another_store(home, capsys) -> None:
    save("2017Q2", 0.4)
    other = save("2017Q2", 0.4, store="someone_else")
    assert main(["check", "2018Q1"]) == 1
    err = capsys.readouterr().err
    assert "holds no evaluation of 2018Q1" in err
    assert "it holds 2017Q2" in err
    assert main(["check", "--evaluation", other]) == 1
    assert "belongs to store 'someone_else'" in capsys.readouterr().err
    assert main(["check", "2017Q5"]) == 1
    assert "quarters run from Q1 to Q4" in capsys.readouterr().err


def test_check_with_an_unknown_model_says_which_exist(home, capsys) -> None:
    assert main(["--model", "nope", "check"]) == 2
    err = capsys.readouterr().err
    assert "no model 'nope'" in err
    assert "fraud_authorization" in err


def test_show_survives_a_closed_pipe(home) -> None:
    for quarter in range(1, 5):
        for year in range(2000, 2017):
            save(f"{year}Q{quarter}", 0.5)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    shown = subprocess.run(
        f"{sys.executable} -m include.cli show | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert shown.returncode == 0
    assert len(shown.stdout.splitlines()) == 2
    assert "68 evaluation(s)" in shown.stdout
    assert "Traceback" not in shown.stderr
    assert "BrokenPipe" not in shown.stderr
