"""Inline SVG charts for the drift report, drawn from plain numbers with no plotting library.

Every chart is a string of SVG that works offline: no script, no font or image to fetch. Text from
the data is escaped here, and each bin or dot carries a ``<title>`` so hovering shows exact values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise

# Okabe–Ito colours: told apart with every common colour-vision deficiency, and in greyscale.
REFERENCE_COLOUR = "#0072B2"
CURRENT_COLOUR = "#E69F00"
RISK_COLOUR = "#D55E00"
MUTED_COLOUR = "#56707f"
AXIS_COLOUR = "#8a949c"
GRID_COLOUR = "#e6e9ec"
CHAR_WIDTH = 0.6  # average glyph width as a share of the font size, to lay out labels


def esc(value: object) -> str:
    return escape(str(value), quote=True)


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

    def svg(self, body: Sequence[str], label: str) -> str:
        return (
            f'<svg viewBox="0 0 {self.width} {self.height}" role="img" aria-label="{esc(label)}" '
            f'preserveAspectRatio="xMidYMid meet">' + "".join(body) + "</svg>"
        )


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    if high == low:
        return start
    return start + (value - low) / (high - low) * (end - start)


def svg_text(x: float, y: float, content: str, *, anchor: str = "middle", cls: str = "") -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{attribute}>{esc(content)}</text>'


def svg_line(x1: float, y1: float, x2: float, y2: float, colour: str, width: float = 1) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        f'stroke="{colour}" stroke-width="{width}"/>'
    )


# --- data drift: the domain classifier's accuracy and its interval ------------------------------


def accuracy_gauge(value: float | None, low: float | None, high: float | None) -> str:
    """The drift model's hold-out accuracy on a 0.5–1 scale, with its confidence interval."""
    frame = Frame(420, 64, 14, 14, 14, 26)
    start = min(0.5, math.floor(min(v for v in (value, low, 0.5) if v is not None) * 10) / 10)
    body = [
        f'<rect x="{frame.x0}" y="{frame.y1 + 6}" width="{frame.x1 - frame.x0}" height="12" '
        f'rx="6" fill="{GRID_COLOUR}"/>'
    ]
    for tick in nice_ticks(start, 1.0, 5):
        if not start - 1e-9 <= tick <= 1.0 + 1e-9:  # nice steps may begin below the scale
            continue
        x = _scale(tick, start, 1.0, frame.x0, frame.x1)
        body.append(svg_line(x, frame.y1 + 20, x, frame.y1 + 24, AXIS_COLOUR))
        body.append(svg_text(x, frame.y0 + 18, f"{tick:.1f}", cls="tick"))
    if low is not None and high is not None:
        x_low = _scale(max(low, start), start, 1.0, frame.x0, frame.x1)
        x_high = _scale(min(high, 1.0), start, 1.0, frame.x0, frame.x1)
        body.append(
            f'<rect x="{x_low:.1f}" y="{frame.y1 + 6}" width="{max(x_high - x_low, 2):.1f}" '
            f'height="12" rx="3" fill="{REFERENCE_COLOUR}" opacity="0.35">'
            f"<title>95 % interval {low:.3f}–{high:.3f}</title></rect>"
        )
    if value is not None:
        x = _scale(min(max(value, start), 1.0), start, 1.0, frame.x0, frame.x1)
        body.append(
            f'<circle cx="{x:.1f}" cy="{frame.y1 + 12}" r="7" fill="{REFERENCE_COLOUR}" '
            f'stroke="#fff" stroke-width="2"><title>accuracy {value:.3f}</title></circle>'
        )
    return frame.svg(body, "data drift: domain classifier accuracy with its 95 % interval")


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


def importance_scatter(points: Sequence[Point]) -> tuple[str, list[str]]:
    """Drift importance (y) against model importance (x), one labelled dot per feature.

    Labels are placed greedily, riskiest first, where they overlap nothing; the names of the dots
    left without a label are returned so the page can list them under the chart.
    """
    frame = Frame(760, 440, 64, 24, 20, 56)
    x_ticks = nice_ticks(0, max((p.x for p in points), default=0) * 1.05 or 1)
    y_ticks = nice_ticks(0, max((p.y for p in points), default=0) * 1.05 or 1)
    x_max, y_max = x_ticks[-1], y_ticks[-1]

    def position(point: Point) -> tuple[float, float]:
        return (
            _scale(point.x, 0, x_max, frame.x0, frame.x1),
            _scale(point.y, 0, y_max, frame.y0, frame.y1),
        )

    body = [
        # The top-right quarter is where a feature both drifts and matters to the model.
        f'<rect x="{(frame.x0 + frame.x1) / 2:.1f}" y="{frame.y1}" '
        f'width="{(frame.x1 - frame.x0) / 2:.1f}" height="{(frame.y0 - frame.y1) / 2:.1f}" '
        f'fill="{RISK_COLOUR}" opacity="0.06"/>',
        svg_text(frame.x1 - 6, frame.y1 + 14, "drifts and matters", anchor="end", cls="quadrant"),
    ]
    for tick in x_ticks:
        x = _scale(tick, 0, x_max, frame.x0, frame.x1)
        body.append(svg_line(x, frame.y1, x, frame.y0, GRID_COLOUR))
        body.append(svg_text(x, frame.y0 + 16, short_number(tick), cls="tick"))
    for tick in y_ticks:
        y = _scale(tick, 0, y_max, frame.y0, frame.y1)
        body.append(svg_line(frame.x0, y, frame.x1, y, GRID_COLOUR))
        body.append(svg_text(frame.x0 - 6, y + 4, short_number(tick), anchor="end", cls="tick"))
    body.append(svg_line(frame.x0, frame.y0, frame.x1, frame.y0, AXIS_COLOUR))
    body.append(svg_line(frame.x0, frame.y0, frame.x0, frame.y1, AXIS_COLOUR))
    body.append(
        svg_text((frame.x0 + frame.x1) / 2, frame.height - 12, "model importance", cls="axis")
    )
    centre = (frame.y0 + frame.y1) / 2
    body.append(
        f'<text x="16" y="{centre:.1f}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 16 {centre:.1f})">drift importance</text>'
    )

    ordered = sorted(points, key=lambda p: (not p.risky, -(p.x + p.y)))
    dots = {p.name: position(p) for p in points}
    placed: list[tuple[float, float, float, float]] = [
        (x - 5, y - 5, x + 5, y + 5) for x, y in dots.values()
    ]
    unlabelled = []
    labels = []
    for point in ordered:
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
                labels.append(svg_text(x + dx, y + dy, text, anchor=anchor, cls=cls))
                break
        else:
            unlabelled.append(point.name)

    for point in sorted(points, key=lambda p: p.risky):
        x, y = dots[point.name]
        colour, radius = (RISK_COLOUR, 6.5) if point.risky else (REFERENCE_COLOUR, 4.5)
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}" stroke="#fff" '
            f'stroke-width="1.5"><title>{esc(point.name)}: model importance {point.x:.3g}, '
            f"drift importance {point.y:.3g}</title></circle>"
        )
    body.extend(labels)
    return frame.svg(body, "drift importance against model importance"), unlabelled


# --- histograms: reference against current on shared bins ----------------------------------------


def _legend(frame: Frame) -> list[str]:
    x = frame.x1 - 150
    return [
        f'<rect x="{x}" y="4" width="10" height="10" fill="{REFERENCE_COLOUR}" opacity="0.55"/>',
        svg_text(x + 14, 13, "reference", anchor="start", cls="legend"),
        f'<rect x="{x + 80}" y="4" width="10" height="10" fill="none" '
        f'stroke="{CURRENT_COLOUR}" stroke-width="2.5"/>',
        svg_text(x + 94, 13, "current", anchor="start", cls="legend"),
    ]


def _share_axis(frame: Frame, top: float) -> tuple[list[str], float]:
    """Horizontal grid lines labelled in percent; returns them and the share at the plot's top."""
    top = max(top, 1e-12)
    ticks = [tick for tick in nice_ticks(0, top, 4) if tick <= top * 1.0001]
    body = []
    for tick in ticks:
        y = _scale(tick, 0, top, frame.y0, frame.y1 + 4)
        body.append(svg_line(frame.x0, y, frame.x1, y, GRID_COLOUR))
        body.append(
            svg_text(frame.x0 - 4, y + 3, f"{round(100 * tick, 6):g} %", anchor="end", cls="tick")
        )
    return body, top


def _bars(
    slots: Sequence[tuple[float, float]],
    current_slots: Sequence[tuple[float, float]],
    heights: tuple[Sequence[float], Sequence[float]],
    tooltips: Sequence[str],
    frame: Frame,
    top: float,
) -> list[str]:
    """Reference as filled bars, current as outlined bars, one tooltip per bin."""
    body = []
    for slot, current_slot, ref_h, cur_h, tooltip in zip(
        slots, current_slots, heights[0], heights[1], tooltips, strict=True
    ):
        ref_y = _scale(ref_h, 0, top, frame.y0, frame.y1 + 4)
        cur_y = _scale(cur_h, 0, top, frame.y0, frame.y1 + 4)
        body.append(
            f"<g><title>{esc(tooltip)}</title>"
            f'<rect x="{slot[0]:.1f}" y="{ref_y:.1f}" width="{max(slot[1] - slot[0], 0.5):.1f}" '
            f'height="{frame.y0 - ref_y:.1f}" fill="{REFERENCE_COLOUR}" opacity="0.55"/>'
            f'<rect x="{current_slot[0]:.1f}" y="{cur_y:.1f}" '
            f'width="{max(current_slot[1] - current_slot[0], 0.5):.1f}" '
            f'height="{frame.y0 - cur_y:.1f}" fill="{CURRENT_COLOUR}" fill-opacity="0.12" '
            f'stroke="{CURRENT_COLOUR}" stroke-width="2"/></g>'
        )
    return body


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
) -> str:
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
    body, top = _share_axis(frame, max(*heights[0], *heights[1]))
    body += _legend(frame)
    current_slots = [
        (left + 1, right - 1) if right - left > 3 else (left, right) for left, right in slots
    ]
    body += _bars(slots, current_slots, heights, tooltips, frame, top)
    body.append(svg_line(frame.x0, frame.y0, frame.x1, frame.y0, AXIS_COLOUR))

    tick_y = frame.y0 + 14
    if to_scale:
        for tick in nice_ticks(finite[0], finite[-1], 4):
            if finite[0] <= tick <= finite[-1]:
                x = _scale(tick, finite[0], finite[-1], inner_left, inner_right)
                body.append(svg_line(x, frame.y0, x, frame.y0 + 4, AXIS_COLOUR))
                body.append(svg_text(x, tick_y, short_number(tick), cls="tick"))
        if open_low:
            body.append(svg_text(frame.x0 + end_bar / 2, tick_y, "<", cls="tick"))
        if open_high:
            body.append(svg_text(frame.x1 - end_bar / 2, tick_y, ">", cls="tick"))
    else:
        for index in sorted({0, len(slots) // 2, len(slots) - 1}):
            left, right = slots[index]
            body.append(svg_text((left + right) / 2, tick_y, labels[index], cls="tick"))
    caption = "share per bin" if equal else "share per bin of average width (area = share)"
    body.append(svg_text((frame.x0 + frame.x1) / 2, frame.height - 6, caption, cls="caption"))
    return frame.svg(body, "histogram of reference and current values")


def categorical_histogram(
    categories: Sequence[str],
    reference: Sequence[float],
    current: Sequence[float],
    new: frozenset[str] = frozenset(),
) -> str:
    """Share of each category, reference and current side by side; new categories starred."""
    rotate = len(categories) > 5
    frame = Frame(380, 244 if rotate else 206, 64 if rotate else 40, 12, 26, 88 if rotate else 40)
    step = (frame.x1 - frame.x0) / max(len(categories), 1)
    bar = min(step * 0.38, 28)
    centres = [frame.x0 + (index + 0.5) * step for index in range(len(categories))]
    names = [f"{category} *" if category in new else category for category in categories]
    tooltips = [_tooltip(*parts) for parts in zip(names, reference, current, strict=True)]
    body, top = _share_axis(frame, max(*reference, *current))
    body += _legend(frame)
    body += _bars(
        [(centre - bar, centre) for centre in centres],
        [(centre + 1, centre + bar) for centre in centres],
        (reference, current),
        tooltips,
        frame,
        top,
    )
    for centre, name in zip(centres, names, strict=True):
        label = truncate(name, 14 if rotate else 16)
        if rotate:
            y = frame.y0 + 10
            body.append(
                f'<text x="{centre + 3:.1f}" y="{y:.1f}" text-anchor="end" class="tick" '
                f'transform="rotate(-50 {centre + 3:.1f} {y:.1f})">{esc(label)}</text>'
            )
        else:
            body.append(svg_text(centre, frame.y0 + 14, label, cls="tick"))
    body.append(svg_line(frame.x0, frame.y0, frame.x1, frame.y0, AXIS_COLOUR))
    return frame.svg(body, "share of each category, reference and current")
