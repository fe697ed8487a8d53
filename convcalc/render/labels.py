"""Labels of a plot's points: every point of the Pareto front labelled (a spread of them on a front too long
to label each), none over another label or a marker.

matplotlib is imported by its caller (render/plot.py); this module reads the axes and the renderer it is
given. Labels are measured as drawn, in the figure's final layout.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import printable

MAX_LABELS = 12  # front points labelled each; a longer front gets a spread of labels
MAX_LABEL_CHARS = 28
FONT_SIZE = 5.5  # points
_GAP = (3.0, 2.0)  # points between a point and its label, across and up
_MARKER = 1.8  # points: a marker's radius, and a little room
_GRID = 24  # positions across and up the axes a label far from its point may take
_LEADER = {"arrowstyle": "-", "linewidth": 0.3, "color": "0.5", "shrinkA": 0, "shrinkB": 1.5}


def label_points(ax: Any, renderer: Any, front: list[Any], cloud: list[Any], empty: tuple[int, int]) -> int:
    """Label the front's points (its ends first; a spread of MAX_LABELS on a longer front) and, beside a short
    front among few points (compare), the others in grey where there is room. A label goes beside its point,
    on the side the front leaves empty (empty: -1 or 1 across and up) first; where no side is free, as near
    as a free place allows, joined to it by a thin line. Returns the front points labelled."""
    n, few = len(front), len(cloud) <= MAX_LABELS
    indices = (
        range(n) if n <= MAX_LABELS else {round(k * (n - 1) / (MAX_LABELS - 1)) for k in range(MAX_LABELS)}
    )
    order = sorted(indices, key=lambda i: (0 < i < n - 1, i))  # the ends first
    chosen = [front[i] for i in order]
    others = [p for p in cloud if p not in front] if few else []
    owners = [*order, *range(n, n + len(others))]  # each label's point among the markers
    to_axes = ax.transAxes.inverted()
    marks = (ax.transData + to_axes).transform([(p.x, p.y) for p in [*front, *others]])
    points = [ax.figure.dpi / 72 / size for size in ax.bbox.size]  # one point as a fraction of the axes
    place = _Places(marks, points)
    labelled = 0
    for k, (point, owner) in enumerate(zip([*chosen, *others], owners)):
        label = printable(point.label)
        label = label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"
        wide, high = _size(ax, renderer, label)
        at = (ax.transData + to_axes).transform((point.x, point.y))
        spot, leader = place.beside(at, wide, high, empty, owner), None
        if spot is None and k < len(chosen):  # a front point: as near as a free place allows, with a line
            spot, leader = place.away(at, wide, high), dict(_LEADER)
        if spot is None:
            continue
        color = "black" if k < len(chosen) else "0.4"
        ax.annotate(
            label, (point.x, point.y), spot, textcoords="axes fraction", ha="left", va="bottom",
            fontsize=FONT_SIZE, parse_math=False, color=color, arrowprops=leader,
        )  # fmt: skip
        labelled += k < len(chosen)
    return labelled


def _size(ax: Any, renderer: Any, label: str) -> tuple[float, float]:
    """A label's width and height as drawn, in fractions of the axes."""
    probe = ax.text(0, 0, label, fontsize=FONT_SIZE, parse_math=False, transform=ax.transAxes)
    box = probe.get_window_extent(renderer).transformed(ax.transAxes.inverted())
    probe.remove()
    return box.width, box.height


class _Places:
    """Where labels may go, in axes fractions: inside the axes, off every marker, over no label placed."""

    def __init__(self, marks: Any, points: list[float]) -> None:
        self.marks, self.pt, self.taken = marks, points, []

    def beside(
        self, at: Any, wide: float, high: float, empty: tuple[int, int], owner: int
    ) -> tuple[float, float] | None:
        """A corner beside the point (the empty side's first) nearer its own marker than any other's, so a
        label without a line is read as its point's."""
        ex, ey = empty
        for sx, sy in ((ex, ey), (-ex, ey), (ex, -ey), (-ex, -ey)):
            x0 = at[0] + (_GAP[0] * self.pt[0] if sx > 0 else -_GAP[0] * self.pt[0] - wide)
            y0 = at[1] + (_GAP[1] * self.pt[1] if sy > 0 else -_GAP[1] * self.pt[1] - high)
            if self._nearest(x0 + wide / 2, y0 + high / 2) == owner and self._take(x0, y0, wide, high):
                return x0, y0
        return None

    def _nearest(self, x: float, y: float) -> int:
        """The marker nearest a place, in points (an axes fraction is longer across than up)."""
        dx = (self.marks[:, 0] - x) / self.pt[0]
        dy = (self.marks[:, 1] - y) / self.pt[1]
        return int((dx * dx + dy * dy).argmin())

    def away(self, at: Any, wide: float, high: float) -> tuple[float, float] | None:
        """The free place nearest the point, on a grid over the axes."""
        spots = [
            (i / _GRID * (1 - wide), j / _GRID * (1 - high))
            for i in range(_GRID + 1)
            for j in range(_GRID + 1)
        ]
        spots.sort(key=lambda s: (s[0] + wide / 2 - at[0]) ** 2 + (s[1] + high / 2 - at[1]) ** 2)
        return next((spot for spot in spots if self._take(*spot, wide, high)), None)

    def _take(self, x0: float, y0: float, wide: float, high: float) -> bool:
        x1, y1 = x0 + wide, y0 + high
        if x0 < 0 or y0 < 0 or x1 > 1 or y1 > 1:
            return False
        if any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in self.taken):
            return False
        rx, ry = _MARKER * self.pt[0], _MARKER * self.pt[1]
        mx, my = self.marks[:, 0], self.marks[:, 1]
        if ((mx > x0 - rx) & (mx < x1 + rx) & (my > y0 - ry) & (my < y1 + ry)).any():
            return False
        self.taken.append((x0, y0, x1, y1))
        return True
