"""Labels that land late: the periods a run looks back at, and their re-evaluation.

The tutorial's data generated with a label delay (the last 120 days of 2017 unlabelled: 2017Q3
partly, 2017Q4 wholly), a model trained on 2017Q1, and an SQLite MES; the labels then land by
generating the same data again without the delay.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from include.config import parse_config
from include.mes.records import EvaluationSummary
from include.periods import Period
from include.relabel import LabelCount, count_labels, periods_to_recheck, previous_periods, recheck
from include.tutorial.datasets import generate_tutorial_data
from include.workflow import Workspace, evaluate_period
from tests.support.tutorial_mes import copied_workspace, trained_template

ROWS = 3_000
DELAY = 120  # days before 2018-01-01: from 2017-09-03 on, no label yet


@pytest.fixture(scope="module")
def template(tmp_path_factory, tutorial_config) -> Path:
    folder = tmp_path_factory.mktemp("template")
    return trained_template(folder, tutorial_config, rows=ROWS, label_delay_days=DELAY)


@pytest.fixture
def workspace(template, tmp_path, tutorial_config):
    opened = copied_workspace(template, tmp_path, tutorial_config)
    yield opened
    opened.close()


@pytest.fixture
def evaluated(workspace) -> dict[str, str]:
    """Q2-Q4 evaluated while the labels of Q3's end and of Q4 are not in: period -> id."""
    return {q: evaluate_period(workspace, q)[0] for q in ("2017Q2", "2017Q3", "2017Q4")}


def land_labels(workspace: Workspace) -> None:
    generate_tutorial_data(workspace.datasets, transactions_per_quarter=ROWS)


def stored(workspace: Workspace) -> dict[str, EvaluationSummary]:
    return {e.name: e for e in workspace.mes.summaries("the_MES")}


@pytest.mark.parametrize(
    ("cadence", "period", "expected"),
    [
        ("quarter", "2018Q1", ["2017Q3", "2017Q4"]),
        ("quarter", "2017Q1", ["2016Q3", "2016Q4"]),
        ("month", "2017-03", ["2017-01", "2017-02"]),
        ("week", "2017-W01", ["2016-W51", "2016-W52"]),
        ("day", "2017-03-01", ["2017-02-27", "2017-02-28"]),
        ("month", "2017-03-10/2017-04-01", ["2017-02", "2017-03"]),
    ],
)
def test_the_periods_before_a_run_follow_its_cadence(cadence, period, expected) -> None:
    found = previous_periods(cadence, Period.parse(period), 2)
    assert [p.name for p in found] == expected


def test_label_counts_read_the_label_column_and_survive_its_absence(
    workspace, tutorial_config
) -> None:
    source = workspace.rows
    q3, q4 = Period.parse("2017Q3"), Period.parse("2017Q4")
    assert count_labels(source, tutorial_config, q4) == LabelCount(ROWS, 0)
    q3_count = count_labels(source, tutorial_config, q3)
    assert q3_count.rows == ROWS
    assert 0.6 < q3_count.share < 0.75  # 2017-09-03 to 2017-09-30 still unlabelled
    data = workspace.datasets.read(tutorial_config.dataset)
    workspace.datasets.write(tutorial_config.dataset, data.drop(columns="authorized_flag"))
    assert count_labels(source, tutorial_config, q3) == LabelCount(ROWS, 0)


def test_before_the_labels_land_nothing_is_due(workspace, evaluated) -> None:
    version = stored(workspace)["2017Q4"].model_version
    found = periods_to_recheck(workspace, "2018Q1", 3, model_version=version)
    # 2017Q2 was fully labelled: not looked at
    assert [c.period.name for c in found] == ["2017Q3", "2017Q4"]
    assert [c.evaluation_id for c in found] == [evaluated["2017Q3"], evaluated["2017Q4"]]
    assert not any(c.due for c in found)
    assert recheck(workspace, "2018Q1", 3) == []
    assert {e.evaluation_id for e in stored(workspace).values()} == set(evaluated.values())


def test_landed_labels_replace_the_evaluation_with_realised_beside_estimated(
    workspace, evaluated
) -> None:
    before = stored(workspace)
    assert "auc" not in before["2017Q4"].metrics
    assert "estimated_auc" in before["2017Q4"].metrics
    land_labels(workspace)
    lines: list[str] = []

    done = recheck(workspace, "2018Q1", 2, log=lines.append)

    assert [r.recheck.period.name for r in done] == ["2017Q3", "2017Q4"]
    after = stored(workspace)
    assert list(after) == ["2017Q2", "2017Q3", "2017Q4"]  # one row per version and period
    assert after["2017Q2"].evaluation_id == evaluated["2017Q2"]
    for quarter in ("2017Q3", "2017Q4"):
        metrics = after[quarter].metrics
        assert after[quarter].evaluation_id not in evaluated.values()
        assert metrics["label_share"] == 1.0
        assert after[quarter].labelled
        # the estimate comes from the same scores: unchanged, now beside the realised value
        assert metrics["estimated_auc"] == pytest.approx(before[quarter].metrics["estimated_auc"])
        assert metrics["estimated_auc_ci_low"] <= metrics["auc"] <= metrics["estimated_auc_ci_high"]
        assert "note:partial_labels" not in after[quarter].labels
    assert done[1].to_dict()["label_share_before"] == 0.0
    assert done[1].to_dict()["replaced"] == evaluated["2017Q4"]
    assert "2017Q4: labelled 0 of 3,000 rows when evaluated (0.0%), 3,000 of 3,000 now" in lines[1]
    # once up to date, nothing is due any more
    assert recheck(workspace, "2018Q1", 2) == []


def test_only_the_periods_within_reach_and_of_the_same_version_are_rechecked(
    workspace, evaluated
) -> None:
    land_labels(workspace)
    assert [r.recheck.period.name for r in recheck(workspace, "2018Q1", 1)] == ["2017Q4"]
    assert periods_to_recheck(workspace, "2018Q1", 2, model_version="another") == []


def test_the_configured_number_of_periods_is_the_default(workspace, evaluated) -> None:
    land_labels(workspace)
    off = parse_config({**workspace.config.model_dump(), "labels": {"recheck_periods": 0}})
    workspace.config = off
    lines: list[str] = []
    assert recheck(workspace, "2018Q1", log=lines.append) == []
    assert lines == ["labels.recheck_periods is 0: no earlier period is evaluated again"]
    workspace.config = parse_config({**off.model_dump(), "labels": {"recheck_periods": 2}})
    assert len(recheck(workspace, "2018Q1")) == 2
