"""Server-rendered SVG charts: geometry only; the templates draw it and style it with CSS
(so the colours follow the light or dark scheme)."""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 600, 160


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str
    segments: list[tuple[str, float, float, int]]  # (css class, y, height, value)


def stacked_bars(rows: list[tuple[str, list[tuple[str, int]]]]) -> list[Bar]:
    """One bar per row of (label, [(css class, value), ...]), stacked bottom up, scaled to the
    tallest bar."""
    tallest = max((sum(v for _, v in parts) for _, parts in rows), default=0) or 1
    step = WIDTH / max(len(rows), 1)
    bars = []
    for i, (label, parts) in enumerate(rows):
        y, segments = HEIGHT, []
        for css, value in parts:
            h = HEIGHT * value / tallest
            y -= h
            if value:
                segments.append((css, round(y, 2), round(h, 2), value))
        bars.append(Bar(round(i * step + step * 0.1, 2), round(step * 0.8, 2), label, segments))
    return bars


# The charts' SVG elements are written here rather than by template loops: the calendar's 365
# cells and the bars' segments, each with a few variables, were most of the progress page's
# rendering time. Every text is escaped; the rest are numbers and the module's own classes.


def bar_rects(bars: list[Bar], title: str) -> SafeString:
    """The bars' segments as <rect>s. title: each segment's tooltip, a format string over
    label, value and css (the segment's class), e.g. "{label}: {value} due"."""
    return mark_safe(
        "".join(
            f'<rect class="seg-{escape(css)}" x="{bar.x}" y="{y}" width="{bar.width}" '
            f'height="{h}"><title>{escape(title.format(label=bar.label, value=value, css=css))}'
            "</title></rect>"
            for bar in bars
            for css, y, h, value in bar.segments
        )
    )


def heat_rects(weeks: list[list]) -> SafeString:
    """The calendar's cells (stats.heatmap's weeks of HeatCell or None) as <rect>s, a column
    per week, Monday at the top."""
    return mark_safe(
        "".join(
            f'<rect class="level-{int(cell.level)}" x="{x}0" y="{y}0" width="9" height="9" '
            f'rx="2"><title>{escape(cell.title)}</title></rect>'
            for x, week in enumerate(weeks)
            for y, cell in enumerate(week)
            if cell
        )
    )
