"""The HTML pages of the MES in the Airflow UI, rendered from what the store holds.

- the **overview**: every evaluation store of the MES with its model status;
- a **store**: its status, the table of evaluations (metrics with their 95 % intervals, an
  undefined metric as "undefined (no positive in the batch)", in-sample evaluations marked, data
  drift with its interval, check outcomes, a link to the drift report) and a chart of each metric
  over the evaluations, intervals drawn as bars;
- an evaluation's **drift report** (``include.drift.report``) with a way back.

Pages are self-contained (inline CSS and SVG, no script) and every link is relative, so they
work under any Airflow base URL and inside the UI's frame. Text from the store is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from include.checks import CheckOutcome
from include.drift.report import STYLE as REPORT_STYLE
from include.drift.report import render_drift_report
from include.drift.report_charts import esc
from include.mes.records import EvaluationSummary, StoredCheck, StoredEvaluation
from include.mes_web.charts import (
    ESTIMATED_NOTE,
    FRAME,
    WIDE_FRAME,
    MetricValue,
    metric_chart,
    version_legend,
)

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

STYLE = (
    REPORT_STYLE
    + """
.status-badge { display: inline-block; font-weight: 700; padding: 2px 10px; border-radius: 12px;
  font-size: 13px; letter-spacing: .03em; }
.outcome-OK { background: #d7f0e6; color: #005c43; }
.outcome-WARNING { background: #fde6c8; color: #7a4100; }
.outcome-ERROR { background: #f8d3d0; color: #8c1a10; }
.outcome-EMPTY, .outcome-NOT-CHECKED { background: #e8eef3; color: #36516a; }
.stores { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 16px; }
.store h2 a { text-decoration: none; }
.evaluations td, .evaluations th { white-space: nowrap; }
.evaluations td.checks { white-space: normal; min-width: 180px; }
.evaluations .badge { margin-right: 4px; }
.evaluations .interval { font-size: 12px; }
.undefined { color: var(--muted); font-style: italic; white-space: normal; }
.evaluations .badge.in-sample, .evaluations .badge.note { margin: 0 0 0 6px; }
.badge.in-sample { background: #fbe3d4; color: #8a3300; }
.badge.note { background: #e8eef3; color: #36516a; }
.charts figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
.charts figure svg { width: 100%; height: auto; display: block; }
.charts figcaption { font-weight: 600; }
nav.crumbs { font-size: 13px; margin-bottom: 10px; }
main.wide { max-width: none; }
nav.crumbs a { color: var(--muted); }
details summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
"""
)


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


def overview_page(stores: Sequence[StoreOverview], *, where: str) -> str:
    if not stores:
        body = (
            "<div class='block'><p>The MES holds no evaluation yet. Run the DAG "
            "<strong>build_project_mes</strong> (or <strong>data_drift_monitor</strong>) to "
            "evaluate the model; its evaluations appear here.</p></div>"
        )
    else:
        body = "<div class='stores'>" + "".join(_store_card(s) for s in stores) + "</div>"
    return _document(
        "Model evaluation stores",
        f"<h1>Model evaluation stores</h1><p class='muted'>The MES at {esc(where)}.</p>{body}",
    )


def _store_card(store: StoreOverview) -> str:
    latest = store.evaluations[-1] if store.evaluations else None
    models = sorted({e.model_name for e in store.evaluations})
    latest_line = (
        f"<tr><th>Latest evaluation</th><td>{esc(latest.name)} (model {esc(latest.model_version)})"
        f"</td></tr><tr><th>AUC</th><td>{_metric_cell(latest, 'auc')}</td></tr>"
        f"<tr><th>Data drift</th><td>{_drift_cell(latest.metrics)}</td></tr>"
        if latest
        else ""
    )
    return (
        f"<section class='block store'><h2><a href='stores/{_path(store.name)}'>"
        f"{esc(store.name)}</a></h2>"
        f"<p>{_status_badge(store.status.outcome)} <span class='muted'>"
        f"{esc(store.status.explanation)}</span></p>"
        f"<table class='kv'><tr><th>Model</th><td>{esc(', '.join(models))}</td></tr>"
        f"<tr><th>Evaluations</th><td>{len(store.evaluations)}</td></tr>{latest_line}</table>"
        f"<p><a href='stores/{_path(store.name)}'>Open the store</a></p></section>"
    )


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
    crumbs = "<nav class='crumbs'><a href='../'>Model evaluation stores</a> / </nav>"
    header = (
        f"{crumbs}<h1>{esc(name)}</h1>"
        f"<p>Model status: {_status_badge(status.outcome)} "
        f"<span class='muted'>{esc(status.explanation)}</span>{_checked_by(status.checks)}</p>"
    )
    if not summaries:
        return _document(name, header + "<div class='block'>No evaluation in this store.</div>")
    return _document(
        f"{name}: model evaluation store",
        header + _evaluations_table(summaries, checks, rows) + _charts(summaries),
        wide=True,
    )


def metric_page(name: str, metric: str, summaries: Sequence[EvaluationSummary]) -> str:
    """One metric of a store over its evaluations: a wide chart and the values."""
    estimate = f"{ESTIMATED_PREFIX}{metric}"
    measured = [s for s in summaries if metric in s.metrics or estimate in s.metrics]
    crumbs = (
        "<nav class='crumbs'><a href='../'>Model evaluation stores</a> / "
        f"<a href='{_path(name)}'>{esc(name)}</a> /</nav>"
    )
    if not measured:
        body = (
            f"<div class='block'>No evaluation of {esc(name)} has the metric {esc(metric)}.</div>"
        )
        return _document(f"{metric}: {name}", f"{crumbs}<h1>{esc(metric)}</h1>{body}")
    versions = list(dict.fromkeys(s.model_version for s in measured))
    both = any(estimate in s.metrics for s in measured)
    columns = [metric, estimate] if both else [metric]
    values = "".join(
        f"<tr><td>{esc(s.name)}</td><td>{esc(s.model_version)}</td>"
        + "".join(f"<td class='num'>{_exact(s.metrics.get(m))}</td>" for m in columns)
        + "</tr>"
        for s in reversed(measured)
    )
    heads = "".join(f"<th class='num'>{esc(m)}</th>" for m in columns)
    return _document(
        f"{metric}: {name}",
        f"{crumbs}<h1>{esc(metric)}</h1><section class='block'>"
        f"<p class='legend'>{version_legend(versions)}</p>"
        f"<div class='chart wide'>{_figures([metric], measured, wide=True)}</div></section>"
        f"<section class='block'><table class='values'><tr><th>Evaluation</th>"
        f"<th>Model version</th>{heads}</tr>{values}</table></section>",
    )


def _evaluations_table(
    summaries: Sequence[EvaluationSummary],
    checks: Mapping[str, Sequence[StoredCheck]],
    limit: int | None,
) -> str:
    metrics = [
        m
        for m in TABLE_METRICS
        if any(
            m[0] in s.metrics
            or f"{ESTIMATED_PREFIX}{m[0]}" in s.metrics
            or f"undefined:{m[0]}" in s.labels
            for s in summaries
        )
    ]
    head = (
        "<tr><th>Evaluation</th><th>Model version</th><th class='num'>Rows</th>"
        + "".join(f"<th class='num'>{esc(title)}</th>" for _, title, _ in metrics)
        + "<th class='num'>Data drift [95 % interval]</th><th>Checks</th><th>Drift report</th></tr>"
    )
    shown = list(reversed(summaries))[:limit]  # the most recent period first
    rows = []
    for s in shown:
        results = checks.get(s.evaluation_id, ())
        report = (
            f"<a href='../evaluations/{_path(s.evaluation_id)}/report'>"
            f"Drift report {esc(s.name)}</a>"
            if s.has_drift
            else "<span class='muted'>no drift analysis</span>"
        )
        rows.append(
            f"<tr data-evaluation='{esc(s.name)}'><td title='period {s.period_start:%Y-%m-%d} "
            f"to {s.period_end:%Y-%m-%d}, evaluated {s.created_at:%Y-%m-%d %H:%M} UTC'>"
            f"<strong>{esc(s.name)}</strong>{_note_badges(s)}</td>"
            f"<td>{esc(s.model_version)}</td><td class='num'>{s.row_count:,}</td>"
            + "".join(f"<td class='num'>{_metric_cell(s, m)}</td>" for m, _, _ in metrics)
            + f"<td class='num'>{_drift_cell(s.metrics)}</td>"
            f"<td class='checks'>{_check_badges(results)}</td><td>{report}</td></tr>"
        )
    more = (
        f"<p class='muted'>The latest {len(shown)} of {len(summaries)} evaluations: "
        "<a href='?rows=all'>show all</a>.</p>"
        if len(shown) < len(summaries)
        else ""
    )
    return (
        f"<section class='block'><h2>Evaluations ({len(summaries)})</h2>{more}"
        f"<div class='scroll'><table class='evaluations'>{head}{''.join(rows)}</table></div>"
        "</section>"
    )


def _charts(summaries: Sequence[EvaluationSummary]) -> str:
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
    versions = list(dict.fromkeys(s.model_version for s in summaries))
    legend = f"<p class='legend'>{version_legend(versions)}</p>"
    per_feature_block = _per_feature_links(per_feature, summaries[-1].metrics)
    return (
        f"<section class='block'><h2>Metrics over the evaluations</h2>{legend}"
        f"<div class='grid charts'>{_figures(main, summaries)}</div>{per_feature_block}</section>"
    )


def _per_feature_links(metrics: Sequence[str], latest: Mapping[str, float]) -> str:
    """Per-feature metrics (``psi:card_age``) as a table, feature x statistic: the latest value,
    linking to the metric's chart. Drawing them all would make the page heavy."""
    if not metrics:
        return ""
    features = sorted({m.split(":", 1)[1] for m in metrics})
    statistics = list(dict.fromkeys(m.split(":", 1)[0] for m in metrics))
    head = "<tr><th>Feature</th>" + "".join(f"<th>{esc(s)}</th>" for s in statistics) + "</tr>"
    body = []
    for feature in features:
        cells = []
        for statistic in statistics:
            metric = f"{statistic}:{feature}"
            value = latest.get(metric)
            text = "chart" if value is None else f"{value:.3g}"
            cells.append(
                f"<td class='num'><a href='?metric={_path(metric)}'>{text}</a></td>"
                if metric in metrics
                else "<td></td>"
            )
        body.append(f"<tr><td class='name'>{esc(feature)}</td>{''.join(cells)}</tr>")
    return (
        f"<details><summary>Per-feature metrics ({len(metrics)}): the latest value of each, "
        "click for its chart</summary><div class='scroll'><table class='features'>"
        f"{head}{''.join(body)}</table></div></details>"
    )


def _figures(
    metrics: Sequence[str], summaries: Sequence[EvaluationSummary], *, wide: bool = False
) -> str:
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
        caption = f"{esc(metric)}: realised and estimated" if both else esc(metric)
        note = f"<p class='muted chart-note'>{ESTIMATED_NOTE}</p>" if both else ""
        figures.append(
            f"<figure data-metric='{esc(metric)}'><figcaption>{caption}</figcaption>"
            f"{chart}{note}</figure>"
        )
    return "".join(figures)


def _metric_value(summary: EvaluationSummary, metric: str) -> MetricValue:
    """The metric of one evaluation with its interval; value None when it has none."""
    return MetricValue(
        summary.name,
        summary.model_version,
        summary.metrics.get(metric),
        summary.metrics.get(f"{metric}_ci_low"),
        summary.metrics.get(f"{metric}_ci_high"),
    )


def report_page(evaluation: StoredEvaluation) -> str:
    """The evaluation's drift report, with a link back to its store."""
    document = render_drift_report(
        evaluation.drift or {},
        title=(
            f"Drift report: {evaluation.name} (model {evaluation.model_version}, "
            f"store {evaluation.store_name})"
        ),
    )
    crumbs = (
        "<nav class='crumbs'><a href='../../'>Model evaluation stores</a> / "
        f"<a href='../../stores/{_path(evaluation.store_name)}'>{esc(evaluation.store_name)}</a>"
        f" / {esc(evaluation.name)}</nav>"
    )
    return document.replace("<main>", f"<main>{crumbs}", 1)


def message_page(title: str, message: str) -> str:
    return _document(
        title,
        f"<h1>{esc(title)}</h1><div class='block'>{esc(message)}</div>",
    )


def _document(title: str, body: str, *, wide: bool = False) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><main{' class=wide' if wide else ''}>{body}</main></body></html>\n"
    )


def _status_badge(outcome: str) -> str:
    return (
        f"<span class='status-badge outcome-{esc(outcome.replace(' ', '-'))}' "
        f"data-status='{esc(outcome)}'>{esc(outcome)}</span>"
    )


def _check_badges(results: Sequence[StoredCheck]) -> str:
    if not results:
        return "<span class='muted'>not checked</span>"
    return "".join(
        f"<span class='badge outcome-{esc(c.outcome)}' title='{esc(c.message)}'>"
        f"{esc(c.outcome)}</span>{esc(c.check_name)}<br>"
        for c in results
    )


def _checked_by(results: Sequence[StoredCheck]) -> str:
    """Which Airflow run ran the latest checks. Not a link: the UI frames this page in a
    sandbox that lets no link leave the frame."""
    for check in results:
        source = check.checked_by or {}
        if source.get("dag_id") and source.get("run_id"):
            return (
                f" <span class='muted'>— checked {check.checked_at:%Y-%m-%d %H:%M} UTC by run "
                f"<code>{esc(source['run_id'])}</code> of <code>{esc(source['dag_id'])}</code>"
                "</span>"
            )
    return ""


def _drift_cell(metrics: Mapping[str, float]) -> str:
    value = metrics.get("data_drift")
    if value is None:
        return "<span class='muted'>–</span>"
    low, high = metrics.get("data_drift_ci_low"), metrics.get("data_drift_ci_high")
    interval = (
        f" <span class='muted'>[{low:.3f}, {high:.3f}]</span>"
        if low is not None and high is not None
        else ""
    )
    return f"{value:.3f}{interval}"


def _metric_cell(summary: EvaluationSummary, metric: str) -> str:
    """The value with its 95 % interval when it has one; why it is absent when it is undefined."""
    value = summary.metrics.get(metric)
    if value is None:
        reason = summary.labels.get(f"undefined:{metric}")
        if reason:
            return f"<span class='undefined'>undefined ({esc(reason)})</span>"
        estimated = summary.metrics.get(f"{ESTIMATED_PREFIX}{metric}")
        if estimated is not None:
            # No realised value (labels not in yet): the estimate, marked as such.
            return (
                f"<span class='estimated' title='estimated from the scores; no labels yet'>"
                f"≈{estimated:.3f} <span class='muted'>est.</span></span>"
            )
        return _number(None)
    low = summary.metrics.get(f"{metric}_ci_low")
    high = summary.metrics.get(f"{metric}_ci_high")
    if low is None or high is None:
        return _number(value)
    return f"{value:.3f} <span class='muted interval'>[{low:.3f}, {high:.3f}]</span>"


def _note_badges(summary: EvaluationSummary) -> str:
    """An "in-sample" badge, and a "note" badge per other warning, each with its text on hover."""
    badges = []
    for key, text in summary.labels.items():
        if not key.startswith("note:"):
            continue
        topic = key.removeprefix("note:")
        kind = "in-sample" if topic == "in_sample" else "note"
        badges.append(
            f"<span class='badge {kind}' data-note='{esc(topic)}' title='{esc(text)}'>"
            f"{esc(topic.replace('_', '-'))}</span>"
        )
    return "".join(badges)


def _exact(value: float | None) -> str:
    return "<span class='muted'>–</span>" if value is None else f"{value:.6g}"


def _number(value: float | None) -> str:
    return "<span class='muted'>–</span>" if value is None else f"{value:.3f}"


def _path(segment: str) -> str:
    return quote(str(segment), safe="")
