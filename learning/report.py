"""The scorecard as a readable table."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from learning.scorecard import SECTIONS, Figure, Scorecard


def shown(fig: Figure) -> str:
    if fig.value is None:
        return "n/a"
    if fig.unit == "ratio":
        return f"{fig.value * 100:.1f}%"
    if fig.unit == "seconds":
        return _duration(float(fig.value))
    return str(fig.value)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def basis(fig: Figure) -> str:
    """What a figure is made of, in words, with the open cases it leaves out."""
    if fig.unit == "ratio":
        said = f"{fig.numerator} / {fig.denominator}"
    elif fig.unit == "seconds":
        said = f"over {fig.denominator} cases"
    elif fig.denominator is not None:
        said = f"{fig.numerator} of {fig.denominator}" + (f" {fig.part}" if fig.part else "")
    else:
        said = ""
    if fig.open:
        said += f" · {fig.open} still open"
    return said


def render_table(card: Scorecard, console: Console | None = None) -> None:
    console = console or Console()
    period = "all time" if not (card.since or card.until) else (
        f"{card.since:%Y-%m-%d %H:%M}" if card.since else "start") + " → " + (
        f"{card.until:%Y-%m-%d %H:%M}" if card.until else "now")
    table = Table(title=f"journeybot scorecard ({period}{', space ' + card.space if card.space else ''})")
    table.add_column("section")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("basis", justify="right")
    for section, names in SECTIONS.items():
        for n, name in enumerate(names):
            fig = card.figures[name]
            table.add_row(section if n == 0 else "", name, shown(fig), basis(fig))
        table.add_section()
    console.print(table)
