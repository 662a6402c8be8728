"""The drift report: one self-contained HTML page from the drift analysis stored with an evaluation.

The page opens offline and fetches nothing: styles are inline, charts are SVG drawn here, and
there is no script. Every string from the data (feature names, categories, periods) is escaped.
Any part of the analysis may be missing: its section says "n/a" or is left out, never crashes.

    html = render_drift_report(evaluation.drift_analysis)
    write_drift_report(analysis, Path("reports/2017Q4.html"))
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from include.drift.report_charts import (
    CURRENT_COLOUR,
    REFERENCE_COLOUR,
    RISK_COLOUR,
    Point,
    accuracy_gauge,
    categorical_histogram,
    esc,
    importance_scatter,
    numeric_histogram,
    percent,
)
from include.files import write_atomically

NA = "n/a"
SMALLEST_PVALUE = 1e-16  # below this a p-value is rounding noise: all that is known is "tiny"
MAX_LISTED_CATEGORIES = 6


# --- reading the analysis defensively -----------------------------------------------------------


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _records(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, text, NaN, infinite, a bool)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _edge(value: Any) -> float | None:
    """A histogram edge; None (JSON has no infinity) or ±inf means an open outer bin."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _strings(value: Any) -> list[str]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [str(item) for item in value]
    return []


# --- formatting -------------------------------------------------------------------------------


def format_pvalue(value: Any) -> str:
    """A p-value as people read them: "< 1e-16", "3.2e-05", "0.012", "0.41"."""
    p = _number(value)
    if p is None:
        return NA
    if p < SMALLEST_PVALUE:
        return "< 1e-16"
    if p < 0.001:
        return f"{p:.1e}"
    return f"{p:.2g}"


def format_number(value: Any) -> str:
    """Three significant digits; counts and large values with thousands separators."""
    number = _number(value)
    if number is None:
        return NA
    if isinstance(value, int) or abs(number) >= 1000:
        return f"{number:,.0f}"
    if number != 0 and abs(number) < 0.001:
        return f"{number:.2e}"
    return f"{number:.3g}"


def format_statistic(value: Any) -> str:
    """A statistic on a 0-to-a-few scale (PSI, KS, importance) to three decimals, for columns."""
    number = _number(value)
    if number is None:
        return NA
    if 0 < abs(number) < 0.0005:
        return "< 0.001"
    return f"{number:.3f}" if abs(number) < 1000 else format_number(number)


def format_metric(value: Any, *, signed: bool = False) -> str:
    number = _number(value)
    if number is None:
        return NA
    if abs(number) >= 1000:
        return format_number(number)
    return f"{number:+.3f}".replace("-", "−") if signed else f"{number:.3f}"


# --- features ---------------------------------------------------------------------------------


def _is_drifted(feature: Mapping[str, Any]) -> bool:
    if feature.get("drifted") is not None:
        return bool(feature.get("drifted"))
    return bool(feature.get("pvalue_drifted") or feature.get("psi_drifted"))


def _drift_order(feature: Mapping[str, Any]) -> tuple[bool, float]:
    psi = _number(feature.get("psi"))
    return (not _is_drifted(feature), -psi if psi is not None else math.inf)


def sort_by_drift(features: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Drifted features first, then by PSI, largest first; features without a PSI last."""
    return sorted(features, key=_drift_order)


def _pvalue(feature: Mapping[str, Any]) -> Any:
    for key in ("pvalue_adjusted", "ks_pvalue", "chi2_pvalue"):
        if _number(feature.get(key)) is not None:
            return feature[key]
    return None


def _test_statistic(feature: Mapping[str, Any]) -> str:
    if _number(feature.get("ks_statistic")) is not None:
        return f"KS {format_statistic(feature['ks_statistic'])}"
    if _number(feature.get("chi2_statistic")) is not None:
        return f"χ² {format_number(feature['chi2_statistic'])}"
    return NA


def _anchor(index: int) -> str:
    # Feature names are user data: anchors are positions, never names.
    return f"feature-{index}"


def _badge(text: str, kind: str) -> str:
    return f'<span class="badge {kind}">{esc(text)}</span>'


def _flags(feature: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    alpha = _number(settings.get("alpha"))
    psi_threshold = _number(settings.get("psi_threshold"))
    flags = []
    if feature.get("pvalue_drifted"):
        flags.append(_badge(f"p ≤ {alpha:g}" if alpha else "p-value", "warn"))
    if feature.get("material") is True:
        flags.append(_badge(f"material ({_effect_text(feature, settings)})", "warn"))
    elif feature.get("material") is False and feature.get("pvalue_drifted"):
        flags.append(_badge(f"not material ({_effect_text(feature, settings)})", "info"))
    if feature.get("flag_basis") == "significance alone":
        flags.append(_badge("significance alone: too few rows for an effect size", "info"))
    if feature.get("psi_drifted"):
        flags.append(_badge(f"PSI > {psi_threshold:g}" if psi_threshold else "PSI", "info"))
    before = _number(feature.get("reference_missing_share"))
    after = _number(feature.get("current_missing_share"))
    if before is not None and after is not None and abs(after - before) >= 0.01:
        kind = "warn" if feature.get("missing_drifted") else "info"
        flags.append(_badge(f"missing {percent(before)} → {percent(after)}", kind))
    if feature.get("note"):
        flags.append(_badge(str(feature["note"]), "info"))
    return " ".join(flags)


def _effect_text(feature: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    """The effect size beside its threshold, e.g. "W/IQR 0.31 ≥ 0.1"."""
    numeric = feature.get("kind") == "numeric"
    name = "W/IQR" if numeric else "JS"
    threshold = _number(
        settings.get("wasserstein_threshold" if numeric else "jensen_shannon_threshold")
    )
    value = _number(feature.get("effect_size"))
    shown = f"{name} {format_statistic(value)}" if value is not None else name
    if threshold is None or value is None:
        return shown
    return f"{shown} {'≥' if value >= threshold else '<'} {threshold:g}"


def _category_list(values: list[str]) -> str:
    if not values:
        return ""
    shown = ", ".join(esc(v) for v in values[:MAX_LISTED_CATEGORIES])
    more = len(values) - MAX_LISTED_CATEGORIES
    return shown + (f" <em>+{more} more</em>" if more > 0 else "")


# --- sections ---------------------------------------------------------------------------------


def _header(analysis: Mapping[str, Any], title: str) -> str:
    reference, current = _mapping(analysis.get("reference")), _mapping(analysis.get("current"))
    settings = _mapping(analysis.get("settings"))

    def side(name: str, data: Mapping[str, Any]) -> str:
        period = esc(data.get("period") or NA)
        rows = format_number(data.get("rows"))
        return f"<div><dt>{name}</dt><dd>{period} <span>· {rows} rows</span></dd></div>"

    thresholds = ""
    if settings:
        correction = settings.get("correction")
        method = "" if correction in (None, "none") else f" ({esc(correction)} corrected)"
        effects = [
            ("W/IQR", settings.get("wasserstein_threshold")),
            ("JS", settings.get("jensen_shannon_threshold")),
            ("missing h", settings.get("missing_threshold")),
        ]
        material = ", ".join(
            f"{name} ≥ {format_number(value)}" for name, value in effects if value is not None
        )
        thresholds = (
            f"<div><dt>Drifted when</dt><dd>p ≤ {format_number(settings.get('alpha'))}{method}"
            + (f" and {esc(material)}" if material else "")
            + "</dd></div>"
        )
    description = reference.get("description")
    return (
        f"<header><h1>{esc(title)}</h1><dl class='meta'>"
        f"<div><dt>Model version</dt><dd>{esc(reference.get('model_version') or NA)}</dd></div>"
        f"{side('Reference', reference)}{side('Current', current)}{thresholds}"
        "</dl>"
        + (f"<p class='muted'>Reference: {esc(description)}</p>" if description else "")
        + _streamed(current)
        + _small_reference(reference)
        + "</header>"
    )


def _streamed(current: Mapping[str, Any]) -> str:
    """How a batch evaluated in chunks was read, and the flags its bounds leave undecided."""
    streamed = _mapping(current.get("streamed"))
    if not streamed:
        return ""
    parts = streamed.get("partitions") or 1
    doubt = [str(name) for name in streamed.get("in_doubt") or []]
    return (
        "<p class='muted'>Evaluated in chunks"
        + (f", in {esc(str(parts))} partitions" if parts != 1 else "")
        + ": counts are exact; KS, Wasserstein and what follows from them lie within the bounds "
        "stored with the evaluation"
        + (f"; the drift flag of {esc(', '.join(doubt))} could go either way" if doubt else "")
        + ".</p>"
    )


def _small_reference(reference: Mapping[str, Any]) -> str:
    """A warning that stands out when the reference is small, saying what that means."""
    if not reference.get("small"):
        return ""
    rows = format_number(reference.get("rows"))
    note = reference.get("note") or (
        f"the reference holds {rows} rows: the drift statistics compare against very few rows; "
        "only large changes can be told apart from chance"
    )
    return (
        '<section class="block small-reference"><h2>Small reference: '
        f"{rows} rows</h2><p>{esc(note)}.</p></section>"
    )


def _data_drift_card(data: Mapping[str, Any], alpha: float) -> str:
    value, low, high = (_number(data.get(k)) for k in ("value", "ci_low", "ci_high"))
    pvalue = _number(data.get("pvalue"))
    drifted = data.get("drifted")
    if drifted is None:
        drifted = pvalue is not None and pvalue <= alpha
    state = "drift" if drifted else "stable"
    interval = f"95 % CI {low:.2f}–{high:.2f}" if low is not None and high is not None else ""
    rows = _number(data.get("rows_per_side"))
    details = [f"p-value {format_pvalue(pvalue)}"]
    if rows is not None:
        details.append(f"{format_number(rows)} rows per side")
    if _number(data.get("test_rows")) is not None:
        details.append(f"accuracy on {format_number(data.get('test_rows'))} held-out rows")
    verdict = data.get("verdict")
    shown = NA if value is None else f"{value:.2f}"
    return (
        f'<section class="card primary {state}"><h2>Data drift</h2>'
        f'<p class="big">{shown}<small>{esc(interval)}</small></p>'
        + (accuracy_gauge(value, low, high) if value is not None else "")
        + '<p class="scale-note">accuracy of a classifier telling current rows from reference '
        "rows: 0.5 = indistinguishable, 1 = fully separable</p>"
        + (f'<p class="verdict">{esc(verdict)}</p>' if verdict else "")
        + f'<p class="muted">{esc(" · ".join(details))}</p></section>'
    )


def _prediction_card(prediction: Mapping[str, Any]) -> str:
    if not prediction:
        return '<section class="card"><h2>Prediction drift</h2><p class="big">n/a</p></section>'
    state = "drift" if prediction.get("drifted") else "stable"
    before = _number(prediction.get("reference_positive_share"))
    after = _number(prediction.get("current_positive_share"))
    rows = [
        ("Predicted positives", f"{percent(before)} → {percent(after)}"),
        ("Class shares χ² p-value", format_pvalue(prediction.get("chi2_pvalue"))),
        (
            "Probability KS",
            f"{format_statistic(prediction.get('proba_ks_statistic'))} "
            f"(p {format_pvalue(prediction.get('proba_ks_pvalue'))})",
        ),
        ("Probability PSI", format_statistic(prediction.get("proba_psi"))),
    ]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    label = "drift detected" if state == "drift" else "no drift detected"
    return (
        f'<section class="card {state}"><h2>Prediction drift</h2>'
        f'<p class="status">{label}</p><table class="kv">{table}</table></section>'
    )


def _features_card(features: list[Mapping[str, Any]]) -> str:
    drifted = [(i, f) for i, f in enumerate(sort_by_drift(features)) if _is_drifted(f)]
    state = "drift" if drifted else "stable"
    names = ", ".join(
        f'<a href="#{_anchor(i)}">{esc(f.get("feature") or NA)}</a>' for i, f in drifted
    )
    return (
        f'<section class="card {state}"><h2>Drifted features</h2>'
        f'<p class="big">{len(drifted)}<small>of {len(features)}</small></p>'
        + (f"<p>{names}</p>" if names else "<p class='muted'>none</p>")
        + "</section>"
    )


def _summary(analysis: Mapping[str, Any], features: list[Mapping[str, Any]]) -> str:
    alpha = _number(_mapping(analysis.get("settings")).get("alpha")) or 0.05
    data = _mapping(analysis.get("data_drift"))
    cards = [
        _data_drift_card(data, alpha)
        if data
        else '<section class="card primary"><h2>Data drift</h2><p class="big">n/a</p></section>',
        _prediction_card(_mapping(analysis.get("prediction_drift"))),
        _features_card(features),
    ]
    return '<div class="summary">' + "".join(cards) + "</div>"


def _importances(analysis: Mapping[str, Any], features: list[Mapping[str, Any]]) -> str:
    drift_importance = _mapping(_mapping(analysis.get("data_drift")).get("feature_importance"))
    risky = _records(analysis.get("riskiest_features"))
    risky_names = {str(r.get("feature")) for r in risky}
    known: dict[str, tuple[float | None, float | None]] = {}
    for record in [*features, *risky]:
        name = str(record.get("feature"))
        before = known.get(name, (None, None))
        model = _number(record.get("model_importance"))
        drift = _number(record.get("drift_importance"))
        known[name] = (
            model if model is not None else before[0],
            drift if drift is not None else before[1],
        )
    for name, value in drift_importance.items():
        model, drift = known.get(str(name), (None, None))
        known[str(name)] = (model, drift if drift is not None else _number(value))
    points = [
        Point(name, model, drift, name in risky_names)
        for name, (model, drift) in known.items()
        if model is not None and drift is not None
    ]
    if not points:
        return ""
    chart, unlabelled = importance_scatter(points)
    missing = len(known) - len(points)
    notes = []
    if unlabelled:
        notes.append("Unlabelled dots (hover for names): " + ", ".join(esc(n) for n in unlabelled))
    if missing:
        notes.append(f"{missing} feature(s) without both importances are not shown.")
    legend = (
        f'<p class="legend"><span class="dot" style="background:{RISK_COLOUR}"></span>riskiest '
        f'(high on both) <span class="dot" style="background:{REFERENCE_COLOUR}"></span>'
        "other features</p>"
    )
    return (
        '<section class="block" id="importance"><h2>Drift importance against model importance</h2>'
        "<p class='muted'>Drift importance: how much the drift classifier relies on a feature to "
        "tell current rows from reference rows. A feature that drifts and that the model relies "
        "on is the one to look at first.</p>"
        + legend
        + f'<div class="chart wide">{chart}</div>'
        + "".join(f"<p class='note'>{note}</p>" for note in notes)
        + "</section>"
    )


def _feature_table(features: list[Mapping[str, Any]], settings: Mapping[str, Any]) -> str:
    if not features:
        return (
            '<section class="block"><h2>Per-feature drift</h2>'
            "<p class='muted'>No per-feature statistics in this analysis.</p></section>"
        )
    correction = settings.get("correction")
    adjusted = "" if correction in (None, "none") else f", {esc(correction)}"
    head = (
        "<tr><th>Feature</th><th>Kind</th><th class='num'>PSI</th><th class='num'>KS / χ²</th>"
        f"<th class='num'>p-value (adj.{adjusted})</th><th class='num'>Effect size</th>"
        "<th class='num'>Wasserstein</th>"
        "<th class='num'>Drift imp.</th><th class='num'>Model imp.</th><th>Flags</th>"
        "<th>New categories</th></tr>"
    )
    rows = []
    for index, feature in enumerate(sort_by_drift(features)):
        drifted = _is_drifted(feature)
        marker = _badge("DRIFT", "drift") + " " if drifted else ""
        cells = [
            f'<td class="name">{marker}<a href="#{_anchor(index)}">'
            f"{esc(feature.get('feature') or NA)}</a></td>",
            f"<td>{esc(feature.get('kind') or NA)}</td>",
            f"<td class='num'>{format_statistic(feature.get('psi'))}</td>",
            f"<td class='num'>{esc(_test_statistic(feature))}</td>",
            f"<td class='num'>{format_pvalue(_pvalue(feature))}</td>",
            f"<td class='num'>{format_statistic(feature.get('effect_size'))}</td>",
            f"<td class='num'>{format_number(feature.get('wasserstein'))}</td>",
            f"<td class='num'>{format_statistic(feature.get('drift_importance'))}</td>",
            f"<td class='num'>{format_statistic(feature.get('model_importance'))}</td>",
            f"<td>{_flags(feature, settings)}</td>",
            f"<td>{_category_list(_strings(feature.get('new_categories')))}</td>",
        ]
        rows.append(f'<tr class="{"drifted" if drifted else ""}">{"".join(cells)}</tr>')
    return (
        '<section class="block" id="features"><h2>Per-feature drift</h2>'
        "<p class='muted'>On all rows. Drifted features first, then by PSI. A feature drifts "
        "when a change of its distribution or of its missing share is significant and "
        "material (effect size: Wasserstein distance over the reference IQR, or Jensen–Shannon "
        "distance over grouped categories).</p>"
        f'<div class="scroll"><table class="features"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _histogram(histogram: Mapping[str, Any], new: frozenset[str] = frozenset()) -> str | None:
    """The chart of one histogram, or None when its parts are missing or do not line up."""
    reference = [_number(v) or 0.0 for v in histogram.get("reference") or []]
    current = [_number(v) or 0.0 for v in histogram.get("current") or []]
    if not reference or len(reference) != len(current):
        return None
    categories = histogram.get("categories")
    if categories is not None:
        names = _strings(categories)
        if len(names) != len(reference):
            return None
        return categorical_histogram(names, reference, current, new)
    edges = [_edge(e) for e in histogram.get("edges") or []]
    if len(edges) != len(reference) + 1 or any(e is None for e in edges[1:-1]):
        return None
    return numeric_histogram(edges, reference, current)


def _histograms(features: list[Mapping[str, Any]]) -> str:
    if not features:
        return ""
    cards = []
    for index, feature in enumerate(sort_by_drift(features)):
        new = frozenset(_strings(feature.get("new_categories")))
        chart = _histogram(_mapping(feature.get("histogram")), new)
        drifted = _is_drifted(feature)
        stats = f"PSI {format_statistic(feature.get('psi'))} · p {format_pvalue(_pvalue(feature))}"
        vanished = _strings(feature.get("vanished_categories"))
        extra = []
        if new:
            extra.append(f"new (*): {_category_list(sorted(new))}")
        if vanished:
            extra.append(f"vanished: {_category_list(vanished)}")
        cards.append(
            f'<figure class="histogram{" drifted" if drifted else ""}" id="{_anchor(index)}">'
            f"<figcaption><strong>{esc(feature.get('feature') or NA)}</strong> "
            + (_badge("DRIFT", "drift") if drifted else "")
            + f"<span class='muted'>{esc(feature.get('kind') or '')} · {esc(stats)}</span>"
            "</figcaption>"
            + (chart or "<p class='muted'>no histogram stored</p>")
            + "".join(f"<p class='note'>{text}</p>" for text in extra)
            + "</figure>"
        )
    legend = (
        f'<p class="legend"><span class="swatch" style="background:{REFERENCE_COLOUR}"></span>'
        f'reference <span class="swatch outline" style="border-color:{CURRENT_COLOUR}"></span>'
        "current · bins shared, from the reference</p>"
    )
    return (
        '<section class="block" id="histograms"><h2>Distributions, reference against current</h2>'
        + legend
        + f'<div class="grid">{"".join(cards)}</div></section>'
    )


def _prediction_histogram(prediction: Mapping[str, Any]) -> str:
    chart = _histogram(_mapping(prediction.get("histogram")))
    if chart is None:
        return ""
    return (
        '<section class="block"><h2>Predicted probability, reference against current</h2>'
        f'<figure class="histogram single">{chart}</figure></section>'
    )


def _performance(performance: Mapping[str, Any]) -> str:
    """Each metric, reference against current, with 95 % intervals drawn where they exist; an
    undefined metric says why, and a change says whether it is beyond the intervals."""
    rows = []
    for name, values in performance.items():
        values = _mapping(values)
        before, after = _number(values.get("reference")), _number(values.get("current"))
        change = values.get("change")
        if _number(change) is None and before is not None and after is not None:
            change = after - before
        reference_ci = _bounds(values, "reference")
        current_ci = _bounds(values, "current")
        reason = values.get("undefined")
        current = (
            f"<span class='undefined'>undefined ({esc(reason)})</span>"
            if reason and after is None
            else _with_interval(after, current_ci)
        )
        significant = values.get("significant")
        verdict = (
            _badge("beyond the intervals", "warn")
            if significant is True
            else "<span class='muted'>within</span>"
            if significant is False
            else ""
        )
        chart = _interval_chart(before, reference_ci, after, current_ci) if current_ci else ""
        rows.append(
            f"<tr data-metric='{esc(name)}'><td>{esc(name)}</td>"
            f"<td class='num'>{_with_interval(before, reference_ci)}</td>"
            f"<td class='num'>{current}</td>"
            f"<td class='num'>{format_metric(change, signed=True)}</td>"
            f"<td>{verdict}</td><td class='interval-chart'>{chart}</td></tr>"
        )
    if not rows:
        return ""
    return (
        '<section class="block" id="performance"><h2>Performance drift</h2>'
        "<p class='note'>Intervals are 95 %: Wilson for accuracy, precision and recall, DeLong "
        "for the AUC. A change is <em>beyond the intervals</em> when it is larger than the two "
        "batches' sizes explain (5 % level); "
        f"<span class='legend'><span class='dot' style='background:{REFERENCE_COLOUR}'></span>"
        f"reference<span class='dot' style='background:{CURRENT_COLOUR}'></span>current</span>"
        "</p><div class='scroll'><table class='performance'><thead><tr><th>Metric</th>"
        "<th class='num'>Reference</th><th class='num'>Current</th><th class='num'>Change</th>"
        "<th>Change beyond the intervals?</th><th>95 % intervals</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _bounds(values: Mapping[str, Any], side: str) -> tuple[float, float] | None:
    low, high = _number(values.get(f"{side}_ci_low")), _number(values.get(f"{side}_ci_high"))
    return (low, high) if low is not None and high is not None else None


def _with_interval(value: float | None, bounds: tuple[float, float] | None) -> str:
    if value is None or bounds is None:
        return format_metric(value)
    return (
        f"{format_metric(value)} <span class='muted'>[{format_metric(bounds[0])}, "
        f"{format_metric(bounds[1])}]</span>"
    )


def _interval_chart(
    before: float | None,
    reference_ci: tuple[float, float] | None,
    after: float | None,
    current_ci: tuple[float, float],
) -> str:
    """Whiskers of the reference's and the batch's intervals on a shared scale (SVG)."""
    marks = [(before, reference_ci, REFERENCE_COLOUR, 6), (after, current_ci, CURRENT_COLOUR, 16)]
    numbers = [n for value, ci, _, _ in marks for n in (value, *(ci or ())) if n is not None]
    low, high = min(numbers), max(numbers)
    pad = max((high - low) * 0.1, 1e-3)
    low, high = low - pad, high + pad
    width = 180

    def x(value: float) -> float:
        return 4 + (value - low) / (high - low) * (width - 8)

    parts = []
    for value, ci, colour, y in marks:
        if value is None:
            continue
        if ci is not None:
            parts.append(
                f'<line x1="{x(ci[0]):.1f}" y1="{y}" x2="{x(ci[1]):.1f}" y2="{y}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        shown = f" [{format_metric(ci[0])}, {format_metric(ci[1])}]" if ci else ""
        parts.append(
            f'<circle cx="{x(value):.1f}" cy="{y}" r="3.5" fill="{colour}">'
            f"<title>{format_metric(value)}{shown}</title></circle>"
        )
    return (
        f'<svg class="whiskers" viewBox="0 0 {width} 22" width="{width}" height="22" '
        f'role="img" aria-label="95 % intervals">{"".join(parts)}</svg>'
    )


STYLE = f"""
:root {{ --ink: #1d2730; --muted: #5b6770; --line: #dde2e6; --drift: {RISK_COLOUR};
  --ok: #009E73; --bg: #f6f7f8; }}
* {{ box-sizing: border-box; }}
body {{ margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }}
main {{ max-width: 1200px; margin: 0 auto; padding: 24px 20px 48px; }}
h1 {{ font-size: 22px; margin: 0 0 12px; }}
h2 {{ font-size: 16px; margin: 0 0 8px; }}
a {{ color: inherit; }}
.muted {{ color: var(--muted); }}
.meta {{ display: flex; flex-wrap: wrap; gap: 8px 32px; margin: 0 0 20px; }}
.meta dt {{ font-size: 11px; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); }}
.meta dd {{ margin: 0; font-weight: 600; }}
.meta dd span {{ font-weight: 400; color: var(--muted); }}
.summary {{ display: grid; grid-template-columns: 1.4fr 1fr 1fr; gap: 16px; margin-bottom: 20px; }}
.card, .block {{ background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 18px; }}
.card {{ border-top: 5px solid var(--ok); }}
.card.drift {{ border-top-color: var(--drift); }}
.big {{ font-size: 40px; font-weight: 700; margin: 0; line-height: 1.1; }}
.big small {{ font-size: 15px; font-weight: 500; color: var(--muted); margin-left: 10px; }}
.card svg {{ width: 100%; max-width: 420px; height: auto; display: block; margin: 6px 0 0; }}
.scale-note, .note {{ font-size: 12px; color: var(--muted); margin: 2px 0 6px; }}
.verdict {{ font-weight: 600; margin: 6px 0 4px; }}
.card.drift .verdict, .card.drift .status {{ color: var(--drift); }}
.status {{ font-weight: 600; margin: 0 0 6px; color: var(--ok); }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }}
th {{ font-size: 12px; color: var(--muted); font-weight: 600; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.kv th {{ font-weight: 400; color: var(--muted); font-size: 13px; }}
.kv td {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.features {{ font-size: 13px; }}
.features th, .features td {{ padding: 5px 6px; }}
.performance {{ max-width: 900px; }}
.performance .undefined {{ color: var(--muted); font-style: italic; }}
.performance svg.whiskers {{ display: block; }}
.block {{ margin-bottom: 20px; }}
.scroll {{ overflow-x: auto; }}
.features tr.drifted td {{ background: #fdf1ea; }}
.features tr.drifted td:first-child {{ box-shadow: inset 4px 0 0 var(--drift); }}
.features td.name {{ font-weight: 600; white-space: nowrap; }}
.badge {{ display: inline-block; font-size: 11px; font-weight: 600; padding: 1px 6px;
  border-radius: 9px; margin: 1px 0; white-space: nowrap; }}
.badge.drift {{ background: var(--drift); color: #fff; }}
.badge.warn {{ background: #fbe3d4; color: #8a3300; }}
.badge.info {{ background: #e8eef3; color: #36516a; }}
.small-reference {{ border-left: 5px solid var(--drift); background: #fdf1ea; }}
.legend {{ font-size: 13px; color: var(--muted); }}
.legend .dot, .legend .swatch {{ display: inline-block; width: 11px; height: 11px;
  margin: 0 5px -1px 10px; border-radius: 50%; }}
.legend .swatch {{ border-radius: 2px; opacity: .55; }}
.legend .swatch.outline {{ background: none; border: 2.5px solid; opacity: 1; }}
.chart.wide svg {{ width: 100%; max-width: 900px; height: auto; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 14px; }}
figure.histogram {{ margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 10px;
  break-inside: avoid; }}
figure.histogram.drifted {{ border-color: var(--drift); border-width: 2px; }}
figure.histogram.single {{ max-width: 440px; border: 0; padding: 0; }}
figure.histogram svg {{ width: 100%; height: auto; display: block; }}
figcaption {{ display: flex; flex-wrap: wrap; gap: 4px 8px; align-items: baseline;
  margin-bottom: 4px; }}
figcaption strong {{ word-break: break-all; }}
figcaption .muted {{ font-size: 12px; }}
svg text {{ font-family: inherit; fill: #4a555e; }}
svg .tick {{ font-size: 10px; }}
svg .axis {{ font-size: 12px; fill: var(--ink); }}
svg .caption, svg .legend {{ font-size: 10px; }}
svg .label {{ font-size: 11px; }}
svg .label.risky {{ font-size: 12px; font-weight: 700; fill: var(--drift); }}
svg .quadrant {{ font-size: 11px; fill: var(--drift); opacity: .8; }}
footer {{ font-size: 12px; color: var(--muted); margin-top: 8px; }}
@media (max-width: 900px) {{ .summary {{ grid-template-columns: 1fr; }} }}
@media print {{
  body {{ background: #fff; font-size: 12px; }}
  main {{ max-width: none; padding: 0; }}
  .card, .block, figure.histogram {{ break-inside: avoid; }}
  .summary {{ grid-template-columns: 1.4fr 1fr 1fr; }}
  .features tr.drifted td {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
}}
"""


def _default_title(analysis: Mapping[str, Any]) -> str:
    reference, current = _mapping(analysis.get("reference")), _mapping(analysis.get("current"))
    return (
        f"Drift report: {current.get('period') or 'current batch'} against "
        f"{reference.get('period') or 'the reference'}"
    )


def render_drift_report(analysis: Mapping[str, Any], *, title: str | None = None) -> str:
    """The drift analysis of one evaluation as one self-contained HTML document."""
    analysis = _mapping(analysis)
    title = title or _default_title(analysis)
    settings = _mapping(analysis.get("settings"))
    features = _records(analysis.get("features"))
    prediction = _mapping(analysis.get("prediction_drift"))
    body = "".join(
        [
            _header(analysis, title),
            _summary(analysis, features),
            _importances(analysis, features),
            _feature_table(features, settings),
            _histograms(features),
            _prediction_histogram(prediction),
            _performance(_mapping(analysis.get("performance_drift"))),
            "<footer>Self-contained report: nothing is loaded from the network. Hover a bar or "
            "a dot for its exact values.</footer>",
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def write_drift_report(
    analysis: Mapping[str, Any], path: Path, *, title: str | None = None
) -> Path:
    """Render the report and write it to ``path`` whole: readers never see half a file."""
    document = render_drift_report(analysis, title=title)
    return write_atomically(path, lambda handle: handle.write(document.encode("utf-8")))
