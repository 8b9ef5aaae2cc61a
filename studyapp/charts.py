"""Server-rendered SVG charts: geometry only; the templates draw it and style it with CSS
(so the colours follow the light or dark scheme)."""

from dataclasses import dataclass

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
