"""Labels that land late: re-evaluate the recent periods whose labels have arrived since.

A period evaluated before its labels were in holds estimated performance, and realised
performance from the rows labelled then, if any (``label_share`` below 1). Each monitoring run
looks back ``labels.recheck_periods`` periods of the model's cadence: a period whose stored
evaluation (of the same model version) was not fully labelled, and whose data now holds a higher
share of labelled rows, is evaluated again. The store keeps one evaluation per model version and
period, so the new one replaces the old: realised performance beside the estimate.

Whether labels landed is decided from the label column alone (one column of the period read,
no model scored), against the counts the quality gate recorded with the evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from include.errors import DataValidationError
from include.model.features import missing_labels
from include.periods import Period, period_containing

if TYPE_CHECKING:
    from include.config import MonitoringConfig
    from include.data.sources import RowSource
    from include.evaluation.evaluate import Evaluation
    from include.mes.records import EvaluationSummary
    from include.model.registry import SavedModel
    from include.workflow import Workspace


@dataclass(frozen=True)
class LabelCount:
    """How many of a period's rows there are, and how many of them carry a label."""

    rows: int
    labelled: int

    @property
    def share(self) -> float:
        return self.labelled / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class Recheck:
    """One earlier period whose stored evaluation was not fully labelled: its labels then and
    now."""

    period: Period
    evaluation_id: str  # the stored evaluation
    then: LabelCount  # when it was evaluated
    now: LabelCount

    @property
    def due(self) -> bool:
        """Whether the period's labels have landed since: a higher share is labelled now."""
        return self.now.share > self.then.share

    def describe(self) -> str:
        verdict = "re-evaluated" if self.due else "no new labels"
        return (
            f"{self.period}: labelled {self.then.labelled:,} of {self.then.rows:,} rows when "
            f"evaluated ({self.then.share:.1%}), {self.now.labelled:,} of {self.now.rows:,} now "
            f"({self.now.share:.1%}): {verdict}"
        )


@dataclass(frozen=True)
class Rechecked:
    """A period evaluated again because its labels landed."""

    recheck: Recheck
    evaluation_id: str  # the new evaluation, which replaced ``recheck.evaluation_id``
    evaluation: Evaluation

    def to_dict(self) -> dict[str, Any]:
        """What a task returns: JSON values only."""
        metrics = self.evaluation.metrics()
        return {
            "evaluation_id": self.evaluation_id,
            "replaced": self.recheck.evaluation_id,
            "period": self.recheck.period.name,
            "label_share_before": self.recheck.then.share,
            "label_share": metrics["label_share"],
            # XCom is JSON: an undefined metric is None, never NaN
            "auc": _finite(metrics.get("auc")),
            "estimated_auc": _finite(metrics.get("estimated_auc")),
        }


def previous_periods(cadence: str, period: Period, count: int) -> list[Period]:
    """The ``count`` periods of the cadence that end at or before ``period`` starts, oldest
    first (the quarterly 2017Q4, 2: 2017Q2 and 2017Q3)."""
    found: list[Period] = []
    day = period.start
    for _ in range(count):
        earlier = period_containing(cadence, day - timedelta(days=1))
        found.append(earlier)
        day = earlier.start
    return found[::-1]


def count_labels(source: RowSource, config: MonitoringConfig, period: Period) -> LabelCount:
    """The period's rows and how many carry a label, reading only the label column (the date
    column when there is no label column yet), a chunk at a time: a period of any size is
    counted in the memory of a chunk."""
    size = config.streaming.chunk_rows
    rows = labelled = 0
    try:
        for chunk in source.chunks(period=period, columns=[config.label], rows=size):
            rows += len(chunk)
            labelled += int((~missing_labels(chunk[config.label])).sum())
    except DataValidationError:
        # No label column yet, or not one the source can hand back alone: count rows only, so
        # a missing date column or period still fails with its own message.
        chunks = source.chunks(period=period, columns=[config.date_column], rows=size)
        return LabelCount(rows=sum(len(chunk) for chunk in chunks), labelled=0)
    return LabelCount(rows=rows, labelled=labelled)


def periods_to_recheck(
    workspace: Workspace, period: Period | str, count: int, *, model_version: str
) -> list[Recheck]:
    """The periods among the ``count`` before ``period`` whose stored evaluation of
    ``model_version`` was not fully labelled, with their label counts then and now, oldest
    first; ``Recheck.due`` says which to evaluate again. Periods with no stored evaluation of
    this version are not looked at: there is nothing to bring up to date."""
    config = workspace.config
    period = Period.parse(period) if isinstance(period, str) else period
    stored = {
        (s.period_start.date(), s.period_end.date()): s
        for s in workspace.mes.summaries(config.store_name, model_version=model_version)
    }
    source = workspace.rows
    found = []
    for earlier in previous_periods(config.cadence, period, count):
        summary = stored.get((earlier.start, earlier.end))
        if summary is None or _label_share(summary) >= 1.0:
            continue
        then = _labelled_then(workspace, summary)
        found.append(
            Recheck(earlier, summary.evaluation_id, then, count_labels(source, config, earlier))
        )
    return found


def recheck(
    workspace: Workspace,
    period: Period | str,
    count: int | None = None,
    *,
    model: SavedModel | None = None,
    log: Callable[[str], None] = lambda _line: None,
    stage: Callable[[str], AbstractContextManager] = lambda _name: nullcontext(),
) -> list[Rechecked]:
    """Evaluate again each of the ``count`` periods before ``period`` (default: the model's
    ``labels.recheck_periods``) whose labels have landed since it was evaluated by ``model``
    (default: the latest version); the new evaluations, oldest period first. ``log`` gets one
    line per period looked at."""
    from include.model.registry import load_model
    from include.workflow import evaluate_period

    config = workspace.config
    count = config.labels.recheck_periods if count is None else count
    if count <= 0:
        log("labels.recheck_periods is 0: no earlier period is evaluated again")
        return []
    model = model or load_model(config, root=workspace.models)
    with stage("count labels"):
        candidates = periods_to_recheck(workspace, period, count, model_version=model.version)
    if not candidates:
        log(
            f"the {count} period(s) before {period} hold no evaluation of version "
            f"{model.version} still waiting for labels"
        )
    done = []
    for candidate in candidates:
        log(candidate.describe())
        if candidate.due:
            evaluation_id, evaluation = evaluate_period(
                workspace, candidate.period.name, model=model, stage=stage
            )
            done.append(Rechecked(candidate, evaluation_id, evaluation))
    return done


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _label_share(summary: EvaluationSummary) -> float:
    """The stored share; evaluations stored before it was recorded were all or nothing."""
    share = summary.metrics.get("label_share")
    if share is None:
        return 1.0 if summary.labelled else 0.0
    return share


def _labelled_then(workspace: Workspace, summary: EvaluationSummary) -> LabelCount:
    """The batch's rows and labelled rows when it was evaluated, as the quality gate counted
    them (before exact duplicates were dropped, as ``count_labels`` counts); from the stored
    share for evaluations stored before the gate counted labels."""
    quality = workspace.mes.get(summary.evaluation_id).quality or {}
    if quality.get("labelled_rows") is not None and quality.get("row_count"):
        return LabelCount(int(quality["row_count"]), int(quality["labelled_rows"]))
    rows = summary.row_count
    return LabelCount(rows, round(_label_share(summary) * rows))
