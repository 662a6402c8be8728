"""``generate --label-delay-days`` on the command line: the last days' labels not in yet, then
landed by generating again; evaluate says how much of each quarter was labelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.cli import main
from include.data.storage import open_dataset_store

SMALL = ["--transactions-per-quarter", "3000"]


def unlabelled_share(home: Path) -> float:
    labels = open_dataset_store(home / "datasets").read("transactions_prepared")["authorized_flag"]
    return float(labels.isna().mean())


def test_labels_of_the_last_days_wait_and_land_when_generated_again(home, capsys) -> None:
    assert main(["generate", *SMALL, "--label-delay-days", "92"]) == 0
    out = capsys.readouterr().out
    assert "labels of the 92 days before the end of 2017 are not in yet" in out
    assert unlabelled_share(home) == pytest.approx(0.25)  # 2017Q4: 92 days, a quarter of rows

    assert main(["train"]) == 0
    assert main(["evaluate", "2017Q4"]) == 0
    out = capsys.readouterr().out
    assert "AUC n/a" in out
    assert "no realised performance: label 'authorized_flag' is missing on all 3,000 rows" in out
    assert "labelled rows: 0%; estimated from the scores: AUC 0." in out
    assert main(["show"]) == 0
    shown = capsys.readouterr().out
    assert "estimated_auc" in shown
    assert "label_share" in shown

    assert (
        main(["generate", *SMALL, "--label-delay-days", "92", "--labels-as-of", "2018-05-01"]) == 0
    )
    assert unlabelled_share(home) == 0.0  # by May, every label of 2017 is in
    assert main(["evaluate", "2017Q4"]) == 0
    assert "AUC 0." in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--label-delay-days", "-3"], "'-3' is not a number of days (0 or more)"),
        (["--label-delay-days", "soon"], "'soon' is not a number of days"),
        (["--labels-as-of", "2018-13-01"], "'2018-13-01' is not a date: write YYYY-MM-DD"),
    ],
)
def test_a_bad_delay_is_a_usage_error_that_writes_nothing(home, capsys, arguments, message):
    with pytest.raises(SystemExit) as exited:
        main(["generate", *SMALL, *arguments])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (home / "datasets").exists()
