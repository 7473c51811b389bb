"""The ballot's charts, drawn on the server as SVG: turnout over time and the result.

Only geometry here; the templates draw it with SVG attributes (the CSP allows no inline
style) and give every chart a table beside it.
"""

from dataclasses import dataclass
from datetime import datetime

WIDTH = 600
HEIGHT = 240
LEFT = 56  # room for the percentages on the y axis
RIGHT = 16
TOP = 16
BOTTOM = 40  # room for the times on the x axis


@dataclass(frozen=True)
class TurnoutChart:
    width: int
    height: int
    points: str  # the polyline's "x,y x,y ..."
    left: int
    right: int
    top: int
    bottom: int
    # (y, percent) for the grid lines and their labels.
    levels: list[tuple[float, int]]
    started_at: datetime
    ended_at: datetime
    series: list[tuple[datetime, int]]


def turnout_chart(series: list[tuple[datetime, int]], roll_size: int) -> TurnoutChart:
    """The share of the roll that had voted, from opening to now, as a step line."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    start, end = series[0][0], series[-1][0]
    span = (end - start).total_seconds() or 1.0
    scale = roll_size or 1

    def x(moment: datetime) -> float:
        return LEFT + plot_width * (moment - start).total_seconds() / span

    def y(voted: float) -> float:
        return TOP + plot_height * (1 - voted / scale)

    points, previous = [], 0
    for moment, voted in series:
        # A step: the count holds until the moment it changed.
        points.append(f"{x(moment):.1f},{y(previous):.1f}")
        points.append(f"{x(moment):.1f},{y(voted):.1f}")
        previous = voted
    levels = [(y(scale * percent / 100), percent) for percent in (0, 25, 50, 75, 100)]
    return TurnoutChart(
        width=WIDTH,
        height=HEIGHT,
        points=" ".join(points),
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        levels=levels,
        started_at=start,
        ended_at=end,
        series=series,
    )


BAR_HEIGHT = 32
BAR_GAP = 12
BAR_LEFT = 96  # room for the choice's name
BAR_RIGHT = 72  # room for the count


@dataclass(frozen=True)
class Bar:
    choice: str
    count: int
    y: int
    width: float


@dataclass(frozen=True)
class ResultChart:
    width: int
    height: int
    bar_left: int
    bar_height: int
    bars: list[Bar]


def result_chart(counts: list[tuple[str, int]]) -> ResultChart:
    """Horizontal bars, one per choice, scaled to the largest count."""
    largest = max((count for _, count in counts), default=0) or 1
    room = WIDTH - BAR_LEFT - BAR_RIGHT
    bars = [
        Bar(choice, count, BAR_GAP + n * (BAR_HEIGHT + BAR_GAP), room * count / largest)
        for n, (choice, count) in enumerate(counts)
    ]
    return ResultChart(
        width=WIDTH,
        height=BAR_GAP + len(bars) * (BAR_HEIGHT + BAR_GAP),
        bar_left=BAR_LEFT,
        bar_height=BAR_HEIGHT,
        bars=bars,
    )
