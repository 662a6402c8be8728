"""The geometry of the drift report's inline SVG charts, drawn with no plotting library.

Here are only the scales, ticks, bar and label positions; the markup is in the templates
``include/templates/report/*.svg``, which escape every text from the data. Every chart works
offline (no script, no font or image to fetch), and each bin or dot carries a ``<title>`` so
hovering shows exact values. A chart is returned as ``Markup``: SVG ready to place in the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from markupsafe import Markup

from include.templating import render

# Okabe–Ito colours: told apart with every common colour-vision deficiency, and in greyscale.
REFERENCE_COLOUR = "#0072B2"
CURRENT_COLOUR = "#E69F00"
RISK_COLOUR = "#D55E00"
AXIS_COLOUR = "#8a949c"
GRID_COLOUR = "#e6e9ec"
CHAR_WIDTH = 0.6  # average glyph width as a share of the font size, to lay out labels
COLOURS = dict(
    reference=REFERENCE_COLOUR, current=CURRENT_COLOUR, risk=RISK_COLOUR, axis=AXIS_COLOUR
) | dict(grid=GRID_COLOUR)


def percent(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.1f} %"


def short_number(value: float) -> str:
    """An axis label: few digits, no trailing zeros."""
    if value == 0:
        return "0"
    if abs(value) >= 10_000 or abs(value) < 0.001:
        return f"{value:.2g}"
    return f"{value:.4g}" if abs(value) >= 100 else f"{value:.3g}"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]``, about ``count`` of them."""
    if not high > low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    span = high - low
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if span / (m * magnitude) <= count)
    first = math.floor(low / step + 1e-9) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


@dataclass(frozen=True)
class Frame:
    """A chart's size and the plot area inside its margins."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def x0(self) -> int:
        return self.left

    @property
    def x1(self) -> int:
        return self.width - self.right

    @property
    def y0(self) -> int:
        return self.height - self.bottom

    @property
    def y1(self) -> int:
        return self.top


def chart(template: str, frame: Frame, **context: Any) -> Markup:
    """The chart template ``report/<template>`` drawn in ``frame``."""
    return Markup(render(f"report/{template}", size=frame, colours=COLOURS, **context).strip())


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    if high == low:
        return start
    return start + (value - low) / (high - low) * (end - start)


# --- data drift: the domain classifier's accuracy and its interval ------------------------------


def accuracy_gauge(value: float | None, low: float | None, high: float | None) -> Markup:
    """The drift model's hold-out accuracy on a 0.5–1 scale, with its confidence interval."""
    frame = Frame(420, 64, 14, 14, 14, 26)
    start = min(0.5, math.floor(min(v for v in (value, low, 0.5) if v is not None) * 10) / 10)
    ticks = [
        (_scale(tick, start, 1.0, frame.x0, frame.x1), f"{tick:.1f}")
        for tick in nice_ticks(start, 1.0, 5)
        if start - 1e-9 <= tick <= 1.0 + 1e-9  # nice steps may begin below the scale
    ]
    interval = dot = None
    if low is not None and high is not None:
        x_low = _scale(max(low, start), start, 1.0, frame.x0, frame.x1)
        x_high = _scale(min(high, 1.0), start, 1.0, frame.x0, frame.x1)
        title = f"95 % interval {low:.3f}–{high:.3f}"
        interval = dict(x=x_low, width=max(x_high - x_low, 2), title=title)
    if value is not None:
        x = _scale(min(max(value, start), 1.0), start, 1.0, frame.x0, frame.x1)
        dot = dict(x=x, title=f"accuracy {value:.3f}")
    return chart("gauge.svg", frame, ticks=ticks, interval=interval, dot=dot)


# --- drift importance against model importance ---------------------------------------------------


@dataclass(frozen=True)
class Point:
    name: str
    x: float
    y: float
    risky: bool


def _overlaps(box: tuple[float, float, float, float], others: list[tuple]) -> bool:
    left, top, right, bottom = box
    return any(
        left < o_right and o_left < right and top < o_bottom and o_top < bottom
        for o_left, o_top, o_right, o_bottom in others
    )


def importance_scatter(points: Sequence[Point]) -> tuple[Markup, list[str]]:
    """Drift importance (y) against model importance (x), one labelled dot per feature.

    Labels are placed greedily, riskiest first, where they overlap nothing; the names of the dots
    left without a label are returned so the page can list them under the chart.
    """
    frame = Frame(760, 440, 64, 24, 20, 56)
    x_ticks = nice_ticks(0, max((p.x for p in points), default=0) * 1.05 or 1)
    y_ticks = nice_ticks(0, max((p.y for p in points), default=0) * 1.05 or 1)
    x_max, y_max = x_ticks[-1], y_ticks[-1]
    dots = {
        p.name: (
            _scale(p.x, 0, x_max, frame.x0, frame.x1),
            _scale(p.y, 0, y_max, frame.y0, frame.y1),
        )
        for p in points
    }
    placed: list[tuple[float, float, float, float]] = [
        (x - 5, y - 5, x + 5, y + 5) for x, y in dots.values()
    ]
    unlabelled = []
    labels = []
    for point in sorted(points, key=lambda p: (not p.risky, -(p.x + p.y))):
        x, y = dots[point.name]
        size = 12 if point.risky else 11
        text = truncate(point.name, 28)
        width, height = len(text) * size * CHAR_WIDTH, size
        for dx, dy, anchor in (
            (9, 4, "start"),
            (-9, 4, "end"),
            (8, -8, "start"),
            (8, 16, "start"),
            (-8, -8, "end"),
            (-8, 16, "end"),
        ):
            left = x + dx if anchor == "start" else x + dx - width
            box = (left, y + dy - height, left + width, y + dy + 2)
            inside = box[0] >= frame.x0 and box[2] <= frame.x1 and box[1] >= frame.y1
            if inside and box[3] <= frame.y0 and not _overlaps(box, placed):
                placed.append(box)
                cls = "label risky" if point.risky else "label"
                labels.append(dict(x=x + dx, y=y + dy, text=text, anchor=anchor, cls=cls))
                break
        else:
            unlabelled.append(point.name)
    drawn = [  # x, y, risky, tooltip; the riskiest drawn last, on top
        (
            *dots[p.name],
            p.risky,
            f"{p.name}: model importance {p.x:.3g}, drift importance {p.y:.3g}",
        )
        for p in sorted(points, key=lambda p: p.risky)
    ]
    x_ticks = [(_scale(t, 0, x_max, frame.x0, frame.x1), short_number(t)) for t in x_ticks]
    y_ticks = [(_scale(t, 0, y_max, frame.y0, frame.y1), short_number(t)) for t in y_ticks]
    svg = chart("scatter.svg", frame, x_ticks=x_ticks, y_ticks=y_ticks, dots=drawn, labels=labels)
    return svg, unlabelled


# --- performance: the reference's and the batch's intervals ----------------------------------


def interval_whiskers(
    before: float | None,
    reference_ci: tuple[float, float] | None,
    after: float | None,
    current_ci: tuple[float, float],
    label: Callable[[float | None], str],
) -> Markup:
    """Whiskers of the reference's and the batch's intervals on a shared scale; ``label``
    writes a value for the tooltips."""
    marks = [(before, reference_ci, REFERENCE_COLOUR, 6), (after, current_ci, CURRENT_COLOUR, 16)]
    numbers = [n for value, ci, _, _ in marks for n in (value, *(ci or ())) if n is not None]
    low, high = min(numbers), max(numbers)
    pad = max((high - low) * 0.1, 1e-3)
    low, high = low - pad, high + pad
    width = 180

    def x(value: float) -> float:
        return 4 + (value - low) / (high - low) * (width - 8)

    drawn = []  # x, y, colour, the interval's ends or None, tooltip
    for value, ci, colour, y in marks:
        if value is not None:
            shown = f" [{label(ci[0])}, {label(ci[1])}]" if ci else ""
            drawn.append((x(value), y, colour, ci and (x(ci[0]), x(ci[1])), label(value) + shown))
    return Markup(render("report/whiskers.svg", width=width, marks=drawn).strip())


# --- histograms: reference against current on shared bins ----------------------------------------


def _share_axis(frame: Frame, top: float) -> tuple[list[tuple[float, str]], float]:
    """Horizontal grid lines labelled in percent, as (y, label); and the share at the plot's top."""
    top = max(top, 1e-12)
    ticks = [tick for tick in nice_ticks(0, top, 4) if tick <= top * 1.0001]
    return [
        (_scale(t, 0, top, frame.y0, frame.y1 + 4), f"{round(100 * t, 6):g} %") for t in ticks
    ], top


def _bars(
    slots: Sequence[tuple[float, float]],
    current_slots: Sequence[tuple[float, float]],
    heights: tuple[Sequence[float], Sequence[float]],
    tooltips: Sequence[str],
    frame: Frame,
    top: float,
) -> list[tuple]:
    """Reference as filled bars, current as outlined bars, one tooltip per bin."""

    def bar(slot: tuple[float, float], share: float) -> tuple[float, ...]:  # x, y, width, height
        y = _scale(share, 0, top, frame.y0, frame.y1 + 4)
        return (slot[0], y, max(slot[1] - slot[0], 0.5), frame.y0 - y)

    return [
        (tooltip, bar(slot, ref_h), bar(current_slot, cur_h))
        for slot, current_slot, ref_h, cur_h, tooltip in zip(
            slots, current_slots, heights[0], heights[1], tooltips, strict=True
        )
    ]


def _tooltip(label: str, reference: float, current: float) -> str:
    return f"{label}: reference {percent(reference)}, current {percent(current)}"


def _bin_label(low: float | None, high: float | None) -> str:
    # Bins are closed on the right, as the univariate statistics count them.
    if low is None:
        return f"≤ {short_number(high)}" if high is not None else "all"
    if high is None:
        return f"> {short_number(low)}"
    return f"({short_number(low)}, {short_number(high)}]"


def numeric_histogram(
    edges: Sequence[float | None], reference: Sequence[float], current: Sequence[float]
) -> Markup:
    """Shares per bin on the value axis; open outer bins (edge None) as narrow end bars.

    A bin's height is its share scaled to an average-width bin (share × mean width / width), so
    that area stays proportional to share when bins differ in width (reference deciles) and the
    height is the share itself when they do not. An open bin is drawn as an average-width one.
    When the finite bins cannot be drawn to scale (a bin of zero width, as with a discrete
    feature's repeated deciles), every bin gets the same slot and its height is its share.
    """
    frame = Frame(380, 204, 40, 12, 26, 40)
    open_low, open_high = edges[0] is None, edges[-1] is None
    finite = [e for e in edges if e is not None]
    widths = [b - a for a, b in pairwise(finite)]
    to_scale = len(finite) >= 2 and all(w > 0 for w in widths)
    end_bar, gap = 16, 5

    if to_scale:
        inner_left = frame.x0 + (end_bar + gap if open_low else 0)
        inner_right = frame.x1 - (end_bar + gap if open_high else 0)
        slots = [(frame.x0, frame.x0 + end_bar)] if open_low else []
        slots += [
            (
                _scale(a, finite[0], finite[-1], inner_left, inner_right),
                _scale(b, finite[0], finite[-1], inner_left, inner_right),
            )
            for a, b in pairwise(finite)
        ]
        slots += [(frame.x1 - end_bar, frame.x1)] if open_high else []
        mean_width = (finite[-1] - finite[0]) / len(widths)
        relative = [1.0] * open_low + [w / mean_width for w in widths] + [1.0] * open_high
        equal = all(abs(r - 1) < 1e-6 for r in relative)
    else:
        step = (frame.x1 - frame.x0) / (len(edges) - 1)
        slots = [
            (frame.x0 + i * step + 1, frame.x0 + (i + 1) * step - 1) for i in range(len(edges) - 1)
        ]
        relative = [1.0] * len(slots)
        equal = True
    heights = (
        [s / r for s, r in zip(reference, relative, strict=True)],
        [s / r for s, r in zip(current, relative, strict=True)],
    )
    labels = [_bin_label(a, b) for a, b in pairwise(edges)]
    tooltips = [_tooltip(*parts) for parts in zip(labels, reference, current, strict=True)]
    grid, top = _share_axis(frame, max(*heights[0], *heights[1]))
    current_slots = [
        (left + 1, right - 1) if right - left > 3 else (left, right) for left, right in slots
    ]
    ticks: list[tuple[float, str, bool]] = []  # x, label, with a tick mark
    if to_scale:
        for tick in nice_ticks(finite[0], finite[-1], 4):
            if finite[0] <= tick <= finite[-1]:
                x = _scale(tick, finite[0], finite[-1], inner_left, inner_right)
                ticks.append((x, short_number(tick), True))
        ticks += [(frame.x0 + end_bar / 2, "<", False)] if open_low else []
        ticks += [(frame.x1 - end_bar / 2, ">", False)] if open_high else []
    else:
        for index in sorted({0, len(slots) // 2, len(slots) - 1}):
            left, right = slots[index]
            ticks.append(((left + right) / 2, labels[index], False))
    return chart(
        "histogram.svg",
        frame,
        label="histogram of reference and current values",
        grid=grid,
        bars=_bars(slots, current_slots, heights, tooltips, frame, top),
        x_ticks=ticks,
        caption="share per bin" if equal else "share per bin of average width (area = share)",
    )


def categorical_histogram(
    categories: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    new: frozenset[str] = frozenset(),
) -> Markup:
    """Share of each category, reference and current side by side; new categories starred."""
    rotate = len(categories) > 5
    frame = Frame(380, 244 if rotate else 206, 64 if rotate else 40, 12, 26, 88 if rotate else 40)
    step = (frame.x1 - frame.x0) / max(len(categories), 1)
    bar = min(step * 0.38, 28)
    centres = [frame.x0 + (index + 0.5) * step for index in range(len(categories))]
    names = [f"{category} *" if category in new else category for category in categories]
    tooltips = [_tooltip(*parts) for parts in zip(names, reference, current, strict=True)]
    grid, top = _share_axis(frame, max(*reference, *current))
    labels = [(c, truncate(n, 14 if rotate else 16)) for c, n in zip(centres, names, strict=True)]
    return chart(
        "histogram.svg",
        frame,
        label="share of each category, reference and current",
        grid=grid,
        bars=_bars(
            [(centre - bar, centre) for centre in centres],
            [(centre + 1, centre + bar) for centre in centres],
            (reference, current),
            tooltips,
            frame,
            top,
        ),
        categories=labels,
        rotate=rotate,
    )
