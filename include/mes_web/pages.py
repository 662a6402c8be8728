"""The HTML pages of the MES in the Airflow UI, rendered from what the store holds.

- the **overview**: every evaluation store of the MES with its model status;
- a **store**: its status, the table of evaluations (metrics with their 95 % intervals, an
  undefined metric as "undefined (no positive in the batch)", in-sample evaluations marked, data
  drift with its interval, check outcomes, a link to the drift report) and a chart of each metric
  over the evaluations, intervals drawn as bars;
- an evaluation's **drift report** (``include.drift.report``) with a way back.

Pages are self-contained (inline CSS and SVG, no script) and every link is relative, so they
work under any Airflow base URL and inside the UI's frame. This module shapes the data; the
markup is in ``templates/mes_web/`` (autoescaped, extending ``base.html``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from include.checks import CheckOutcome
from include.drift.report import render_drift_report
from include.mes.records import EvaluationSummary, StoredCheck, StoredEvaluation
from include.mes_web.charts import (
    ESTIMATED_NOTE,
    FRAME,
    WIDE_FRAME,
    MetricValue,
    metric_chart,
    version_legend,
)
from include.templating import render_html

# The metrics of the evaluations table, in order: (metric, heading, True when higher is better).
TABLE_METRICS = (
    ("auc", "AUC", True),
    ("accuracy", "Accuracy", True),
    ("precision", "Precision", True),
    ("recall", "Recall", True),
    ("f1", "F1", True),
    ("log_loss", "Log loss", False),
)
NOT_CHECKED = "NOT CHECKED"
# The table shows the most recent evaluations; ``?rows=all`` shows every one.
TABLE_ROWS = 60
# Interval bounds (data_drift_ci_low, auc_ci_high, ...) are drawn with their metric's chart and
# table cell, not as metrics of their own; so is the spread an estimate's track record added to
# its interval (estimated_auc_track_sd).
_INTERVAL_SUFFIXES = ("_ci_low", "_ci_high", "_track_sd")
ESTIMATED_PREFIX = "estimated_"  # performance estimated without labels (estimated_auc...)


@dataclass(frozen=True)
class ModelStatus:
    """A store's status: the worst outcome of the checks on its latest checked evaluation."""

    outcome: str
    evaluation: EvaluationSummary | None
    checks: tuple[StoredCheck, ...]

    @property
    def explanation(self) -> str:
        if self.evaluation is None:
            return "no check has been run on this store's evaluations yet"
        where = f"latest checked evaluation {self.evaluation.name}"
        if self.outcome in (CheckOutcome.WARNING, CheckOutcome.ERROR):
            names = ", ".join(c.check_name for c in self.checks if c.outcome == self.outcome)
            return f"{where}: {names}"
        return f"{where}: {len(self.checks)} check(s), none above {self.outcome}"


def model_status(
    summaries: Sequence[EvaluationSummary], checks: Mapping[str, Sequence[StoredCheck]]
) -> ModelStatus:
    """The worst outcome among the checks of the most recent evaluation that has been checked."""
    for evaluation in reversed(summaries):
        results = checks.get(evaluation.evaluation_id)
        if results:
            worst = max(results, key=lambda c: CheckOutcome(c.outcome).severity)
            return ModelStatus(worst.outcome, evaluation, tuple(results))
    return ModelStatus(NOT_CHECKED, None, ())


@dataclass(frozen=True)
class StoreOverview:
    name: str
    evaluations: tuple[EvaluationSummary, ...]
    status: ModelStatus


@dataclass(frozen=True)
class Figure:
    """One chart of the store or metric page: the metric, its SVG and whether it is estimated."""

    metric: str
    chart: Markup
    estimated: bool


def overview_page(stores: Sequence[StoreOverview], *, where: str) -> str:
    cards = [
        {
            "store": store,
            "latest": store.evaluations[-1] if store.evaluations else None,
            "models": ", ".join(sorted({e.model_name for e in store.evaluations})),
        }
        for store in stores
    ]
    return _page("mes_web/overview.html", cards=cards, where=where)


def store_page(
    name: str,
    summaries: Sequence[EvaluationSummary],
    checks: Mapping[str, Sequence[StoredCheck]],
    *,
    rows: int | None = TABLE_ROWS,
) -> str:
    """The store: status, the latest ``rows`` evaluations (None: all), the main metrics' charts,
    and the per-feature metrics as links to their own chart."""
    status = model_status(summaries, checks)
    context: dict[str, Any] = {"name": name, "status": status, "summaries": summaries}
    if summaries:
        main, per_feature = _chart_metrics(summaries)
        versions = list(dict.fromkeys(s.model_version for s in summaries))
        context |= {
            "table_metrics": _table_metrics(summaries),
            "shown": list(reversed(summaries))[:rows],  # the most recent period first
            "checks": checks,
            "legend": Markup(version_legend(versions)),
            "figures": _figures(main, summaries),
            "per_feature": _per_feature(per_feature, summaries[-1].metrics),
        }
    return _page("mes_web/store.html", **context)


def metric_page(name: str, metric: str, summaries: Sequence[EvaluationSummary]) -> str:
    """One metric of a store over its evaluations: a wide chart and the values."""
    estimate = f"{ESTIMATED_PREFIX}{metric}"
    measured = [s for s in summaries if metric in s.metrics or estimate in s.metrics]
    context: dict[str, Any] = {"name": name, "metric": metric, "measured": measured}
    if measured:
        versions = list(dict.fromkeys(s.model_version for s in measured))
        both = any(estimate in s.metrics for s in measured)
        context |= {
            "legend": Markup(version_legend(versions)),
            "figures": _figures([metric], measured, wide=True),
            "columns": [metric, estimate] if both else [metric],
            "rows": list(reversed(measured)),
        }
    return _page("mes_web/metric.html", **context)


def report_page(evaluation: StoredEvaluation) -> str:
    """The evaluation's drift report, with a link back to its store."""
    document = render_drift_report(
        evaluation.drift or {},
        title=(
            f"Drift report: {evaluation.name} (model {evaluation.model_version}, "
            f"store {evaluation.store_name})"
        ),
    )
    crumbs = _page("mes_web/report_crumbs.html", evaluation=evaluation).rstrip("\n")
    return document.replace("<main>", f"<main>{crumbs}", 1)


def message_page(title: str, message: str) -> str:
    return _page("mes_web/message.html", title=title, message=message)


def _page(template: str, **context: Any) -> str:
    """A template of ``templates/mes_web/`` rendered, with the helpers the pages share."""
    return render_html(
        template, path=_path, prefix=ESTIMATED_PREFIX, estimated_note=ESTIMATED_NOTE, **context
    )


def _table_metrics(summaries: Sequence[EvaluationSummary]) -> list[tuple[str, str, bool]]:
    """The columns of TABLE_METRICS some evaluation has (measured, estimated or undefined)."""
    return [
        m
        for m in TABLE_METRICS
        if any(
            m[0] in s.metrics
            or f"{ESTIMATED_PREFIX}{m[0]}" in s.metrics
            or f"undefined:{m[0]}" in s.labels
            for s in summaries
        )
    ]


def _chart_metrics(summaries: Sequence[EvaluationSummary]) -> tuple[list[str], list[str]]:
    """The metrics charted on the store page, in order, and the per-feature ones."""
    names: list[str] = []
    for s in summaries:
        names += [m for m in s.metrics if m not in names and not m.endswith(_INTERVAL_SUFFIXES)]
    # An estimated metric is drawn on its realised metric's chart (which it creates when no
    # evaluation was labelled yet).
    main = [m for m in names if ":" not in m and not m.startswith(ESTIMATED_PREFIX)]
    main += [
        m.removeprefix(ESTIMATED_PREFIX)
        for m in names
        if m.startswith(ESTIMATED_PREFIX) and m.removeprefix(ESTIMATED_PREFIX) not in main
    ]
    per_feature = sorted(m for m in names if ":" in m)
    order = [m for m, _, _ in TABLE_METRICS] + ["data_drift", "data_drift_pvalue"]
    main.sort(key=lambda m: (order.index(m) if m in order else len(order), m))
    return main, per_feature


def _per_feature(metrics: Sequence[str], latest: Mapping[str, float]) -> dict[str, Any] | None:
    """Per-feature metrics (``psi:card_age``) as a table, feature x statistic: the latest value
    (None: not measured), linking to the metric's chart. Drawing them all would make the page
    heavy."""
    if not metrics:
        return None
    features = sorted({m.split(":", 1)[1] for m in metrics})
    statistics = list(dict.fromkeys(m.split(":", 1)[0] for m in metrics))
    rows = []
    for feature in features:
        cells = []
        for statistic in statistics:
            metric = f"{statistic}:{feature}"
            value = latest.get(metric)
            text = "chart" if value is None else f"{value:.3g}"
            cells.append((metric, text) if metric in metrics else None)
        rows.append((feature, cells))
    return {"count": len(metrics), "statistics": statistics, "rows": rows}


def _figures(
    metrics: Sequence[str], summaries: Sequence[EvaluationSummary], *, wide: bool = False
) -> list[Figure]:
    """One chart per metric; a performance metric that is also estimated (``estimated_auc``)
    draws both on one chart: realised where labels were there, estimated on every evaluation."""
    figures = []
    for metric in metrics:
        estimate = f"{ESTIMATED_PREFIX}{metric}"
        both = any(estimate in s.metrics for s in summaries)
        shown = [s for s in summaries if metric in s.metrics or (both and estimate in s.metrics)]
        values = [_metric_value(s, metric) for s in shown]
        estimated = [_metric_value(s, estimate) for s in shown] if both else None
        chart = metric_chart(metric, values, WIDE_FRAME if wide else FRAME, estimated=estimated)
        # The chart is rendered (and escaped) by its own template.
        figures.append(Figure(metric, Markup(chart), both))
    return figures


def _metric_value(summary: EvaluationSummary, metric: str) -> MetricValue:
    """The metric of one evaluation with its interval; value None when it has none."""
    return MetricValue(
        summary.name,
        summary.model_version,
        summary.metrics.get(metric),
        summary.metrics.get(f"{metric}_ci_low"),
        summary.metrics.get(f"{metric}_ci_high"),
    )


def _path(segment: str) -> str:
    """A name as one segment of a relative link (``/`` included, unlike Jinja's urlencode)."""
    return quote(str(segment), safe="")
