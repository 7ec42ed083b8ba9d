"""Charts as server-rendered SVG: no script, readable by a screen reader
(a title, a description that states every value, and a table beside it)."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 34


@dataclass(frozen=True, slots=True)
class Sample:
    label: str          # e.g. "Mar 02"
    value: float | None  # a ratio 0..1, None when nothing to count
    basis: str          # "12 / 40" or "n/a"


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def line_chart(chart_id: str, title: str, samples: list[Sample], *, target: float | None = None) -> Markup:
    """A line over the samples (gaps where a value is n/a), with an optional
    dashed target line. Values are ratios shown as percentages."""
    peak = max([s.value for s in samples if s.value is not None] + [target or 0.0, 0.0])
    top = 1.0 if peak > 0.25 else max(0.05, round(peak * 1.25 + 0.005, 2))
    n = len(samples)
    span = WIDTH - LEFT - RIGHT
    xs = [LEFT + (span * (i + 0.5) / n) for i in range(n)] if n else []
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-t {chart_id}-d" id="{chart_id}" data-points="{n}">',
             f'<title id="{chart_id}-t">{escape(title)}</title>',
             f'<desc id="{chart_id}-d">{escape(describe(title, samples, target))}</desc>']
    for tick in (0.0, top / 2, top):
        y = _y(tick, top)
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{tick * 100:.0f}%</text>')
    every = max(1, n // 8)
    for i, sample in enumerate(samples):
        if i % every == 0 or i == n - 1:
            parts.append(f'<text class="axis" x="{xs[i]:.1f}" y="{HEIGHT - 12}" text-anchor="middle">'
                         f'{escape(sample.label)}</text>')
    if target is not None:
        y = _y(min(target, top), top)
        parts.append(f'<line class="target" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="target-label" x="{WIDTH - RIGHT}" y="{y - 4:.1f}" text-anchor="end">'
                     f'target {target * 100:.1f}%</text>')
    run: list[str] = []
    for x, sample in zip(xs, samples, strict=True):
        if sample.value is None:
            if len(run) > 1:
                parts.append(f'<polyline class="series" points="{" ".join(run)}"/>')
            run = []
            continue
        run.append(f"{x:.1f},{_y(sample.value, top):.1f}")
    if len(run) > 1:
        parts.append(f'<polyline class="series" points="{" ".join(run)}"/>')
    for x, sample in zip(xs, samples, strict=True):
        if sample.value is not None:
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{_y(sample.value, top):.1f}" r="3.5">'
                         f'<title>{escape(sample.label)}: {sample.value * 100:.1f}% ({escape(sample.basis)})</title>'
                         f'</circle>')
    if not any(s.value is not None for s in samples):
        parts.append(f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
                     f'nothing to count in this period</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def describe(title: str, samples: list[Sample], target: float | None) -> str:
    values = "; ".join(f"{s.label}: {'n/a' if s.value is None else f'{s.value * 100:.1f}%'}" for s in samples)
    aim = f" Target {target * 100:.1f}%." if target is not None else ""
    return f"{title} by period. {values}.{aim}"
