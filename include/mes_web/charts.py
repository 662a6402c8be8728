"""Inline SVG charts of a metric over a store's evaluations, drawn with no plotting library.

Like the drift report's charts: nothing to fetch, and every dot carries a ``<title>`` so hovering
shows the evaluation, the model version and the exact value. Python computes the geometry (scale,
ticks, points); the markup is ``templates/mes_web/chart.svg`` and ``legend.html``, autoescaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from include.drift.report_charts import (
    AXIS_COLOUR,
    CURRENT_COLOUR,
    GRID_COLOUR,
    REFERENCE_COLOUR,
    Frame,
    nice_ticks,
    short_number,
    truncate,
)
from include.templating import render

FRAME = Frame(width=360, height=190, left=46, right=14, top=14, bottom=38)
WIDE_FRAME = Frame(width=960, height=300, left=56, right=16, top=16, bottom=40)
DOT_LIMIT = 120  # dots for the latest evaluations; older ones are the line only
MAX_LABELS = 6  # evaluation names under the x axis
# One colour per model version, in order of first appearance (Okabe-Ito, then repeated).
VERSION_COLOURS = (REFERENCE_COLOUR, CURRENT_COLOUR, "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


@dataclass(frozen=True)
class MetricValue:
    """One dot: the value of a metric on one evaluation, with its interval when it has one.

    ``value`` None: the evaluation has no such value (an estimate without its realised value, or
    the reverse); the evaluation still takes its place on the x axis."""

    evaluation: str
    model_version: str
    value: float | None
    low: float | None = None
    high: float | None = None


ESTIMATED_NOTE = "dashed line, hollow dots: estimated from the scores (no labels needed)"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: float = 1


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Dot:
    """A value's dot; ``bar`` its interval, ``title`` what hovering shows."""

    x: float
    y: float
    colour: str
    title: str
    bar: Line | None


@dataclass(frozen=True)
class Series:
    """One series' lines (``(points, colour)``, one per run of a model version) and dots."""

    kind: str  # "value" alone; "realised" and "estimated" side by side
    dashed: bool
    lines: tuple[tuple[str, str], ...]
    dots: tuple[Dot, ...]


def metric_chart(
    metric: str,
    values: Sequence[MetricValue],
    frame: Frame = FRAME,
    *,
    estimated: Sequence[MetricValue] | None = None,
) -> str:
    """A line of the metric over the evaluations (in the order given), one colour per version.

    An interval (``low``/``high``) is drawn as a vertical bar through the dot. ``estimated``
    (one entry per evaluation of ``values``, in the same order) adds the metric as estimated
    without labels: a dashed line with hollow dots, beside the realised one.
    """
    if not values:
        return ""
    estimated = list(estimated or [])
    if estimated and len(estimated) != len(values):
        raise ValueError("estimated needs one entry per evaluation of values")
    drawn = [v for v in [*values, *estimated] if v.value is not None]
    if not drawn:
        return ""
    numbers = [v.value for v in drawn]
    numbers += [b for v in drawn for b in (v.low, v.high) if b is not None]
    ticks = sorted(set(nice_ticks(min(numbers), max(numbers), 4)))
    if len(ticks) < 2:  # values below the ticks' rounding (p-values of 1e-30): the data's range
        ticks = sorted({min(numbers), max(numbers)})
    low, high = min(ticks[0], min(numbers)), max(ticks[-1], max(numbers))
    if low == high:
        low, high = low - 1, high + 1

    def x(index: int) -> float:
        if len(values) == 1:
            return (frame.x0 + frame.x1) / 2
        return frame.x0 + 12 + index * (frame.x1 - frame.x0 - 24) / (len(values) - 1)

    def y(value: float) -> float:
        return frame.y0 - (value - low) / (high - low) * (frame.y0 - frame.y1)

    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    grid = [
        (
            Line(frame.x0, y(tick), frame.x1, y(tick), GRID_COLOUR),
            Label(frame.x0 - 5, y(tick) + 3, tick_label(tick, step)),
        )
        for tick in ticks
        if low <= tick <= high
    ]
    colours = _version_colours(values)
    series = [_series(metric, values, "realised" if estimated else "value", x, y, colours)]
    if estimated:
        series.append(_series(metric, estimated, "estimated", x, y, colours))
    label_every = math.ceil(len(values) / MAX_LABELS)
    labels = [
        Label(x(index), frame.y0 + 14, truncate(value.evaluation, 12))
        for index, value in enumerate(values)
        if index % label_every == 0 or index == len(values) - 1
    ]
    return render(
        "mes_web/chart.svg",
        frame=frame,
        label=f"{metric} over the evaluations",
        grid=grid,
        axis=Line(frame.x0, frame.y0, frame.x1, frame.y0, AXIS_COLOUR),
        series=series,
        labels=labels,
    ).rstrip("\n")  # the template file's last newline: the chart sits inline in a figure


def _series(
    metric: str,
    values: Sequence[MetricValue],
    kind: str,
    x: Callable[[int], float],
    y: Callable[[float], float],
    colours: Mapping[str, str],
) -> Series:
    """The lines and dots of one series, on the chart's scales ``x`` (index) and ``y``."""
    lines = tuple(
        (
            " ".join(f"{x(i):.1f},{y(values[i].value):.1f}" for i in run),
            colours[values[run[0]].model_version],
        )
        for run in _runs_of_one_version(values)
    )
    # A dot (with its exact value on hover) for each of the latest evaluations only: a long
    # history stays a light line.
    first_dot = max(0, len(values) - DOT_LIMIT)
    what = metric if kind == "value" else f"{kind} {metric}"
    dots = []
    for index, value in enumerate(values[first_dot:], start=first_dot):
        if value.value is None:
            continue
        colour = colours[value.model_version]
        bar, interval = None, ""
        if value.low is not None and value.high is not None:
            bar = Line(x(index), y(value.low), x(index), y(value.high), colour, 1.5)
            interval = f" [{short_number(value.low)}, {short_number(value.high)}]"
        title = (
            f"{value.evaluation} (model {value.model_version}): "
            f"{what} = {value.value:.6g}{interval}"
        )
        dots.append(Dot(x(index), y(value.value), colour, title, bar))
    return Series(kind, kind == "estimated", lines, tuple(dots))


def _runs_of_one_version(values: Sequence[MetricValue]) -> list[list[int]]:
    """Indices of consecutive evaluations of the same model version: one line each."""
    runs: list[list[int]] = []
    previous = None
    for index, value in enumerate(values):
        if value.value is None:  # a gap: the line stops and starts again after it
            previous = None
            continue
        if runs and previous == index - 1 and values[previous].model_version == value.model_version:
            runs[-1].append(index)
        else:
            runs.append([index])
        previous = index
    return runs


def tick_label(tick: float, step: float) -> str:
    """A tick as few digits as tell it from its neighbours (0.9985, 0.999, 0.9995, not 1, 1, 1)."""
    if abs(tick) >= 10_000 or 0 < abs(tick) < 0.001 or not 0 < step < math.inf:
        return short_number(tick)
    decimals = max(0, math.ceil(-math.log10(step) - 1e-9))
    while decimals < 12 and abs(round(step, decimals) - step) > step * 1e-6:
        decimals += 1
    return f"{tick:.{decimals}f}"


def _version_colours(values: Sequence[MetricValue]) -> dict[str, str]:
    colours: dict[str, str] = {}
    for value in values:
        if value.model_version not in colours:
            colours[value.model_version] = VERSION_COLOURS[len(colours) % len(VERSION_COLOURS)]
    return colours


def version_legend(versions: Sequence[str]) -> str:
    """The colour of each model version, as HTML to put beside the charts."""
    colours = _version_colours([MetricValue("", v, 0.0) for v in versions])
    return render("mes_web/legend.html", colours=colours).rstrip("\n")
