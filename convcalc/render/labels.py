"""Labels of a plot's points: the Pareto front's, placed where they overlap no other label and no marker.

matplotlib is imported by its caller (render/plot.py); this module only reads the axes it is given.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import printable

MAX_LABELS = 12  # front points labelled; a longer front gets a spread of labels
MAX_LABEL_CHARS = 28
_CORNERS = ((-1, -1), (1, -1), (1, 1), (-1, 1))  # where a label may go, below-left first


def label_points(ax: Any, front: list[Any], cloud: list[Any]) -> None:
    """Label both ends of the front and a spread between; with a few points (compare), the others too, in
    grey. A label goes below and left of its point, where the front leaves the plot empty, else in the first
    other corner inside the axes and off the markers; the ends of the front and a few points take a corner
    over a marker rather than none. Never over another label: where none is free, the point goes without."""
    n, few = len(front), len(cloud) <= MAX_LABELS
    spread = {round(k * (n - 1) / (MAX_LABELS - 1)) for k in range(MAX_LABELS)} if n > 1 else {0}
    chosen = [front[i] for i in sorted(spread, key=lambda i: (0 < i < n - 1, i))]  # the ends first
    others = [p for p in cloud if p not in front] if few else []  # few: the front is short too
    ax.get_xlim()  # autoscale now, so that data -> axes fraction is final
    marks = (ax.transData + ax.transAxes.inverted()).transform(
        [(p.x, p.y) for p in [*chosen, *others, *front]]
    )
    pt = [ax.figure.dpi / 72 / size for size in ax.bbox.size]  # one point, as a fraction of the axes
    placed: list[tuple[float, ...]] = []
    for k, ((fx, fy), point) in enumerate(zip(marks, [*chosen, *others])):
        label = printable(point.label)
        label = label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"
        wide, high = len(label) * 3.4 * pt[0], 7 * pt[1]  # 5.5 pt type
        tries = [(corner, marks) for corner in _CORNERS]
        tries += [(corner, marks[:0]) for corner in _CORNERS] if few or k < 2 else []
        for (sx, sy), obstacles in tries:
            x0 = fx + (3 * pt[0] if sx > 0 else -3 * pt[0] - wide)  # 3 pt, 2 pt from the point
            y0 = fy + (2 * pt[1] if sy > 0 else -2 * pt[1] - high)
            if _free((x0, y0, x0 + wide, y0 + high), placed, obstacles, pt):
                placed.append((x0, y0, x0 + wide, y0 + high))
                ax.annotate(
                    label, (point.x, point.y), (3 * sx, 2 * sy), textcoords="offset points", fontsize=5.5,
                    ha="left" if sx > 0 else "right", va="bottom" if sy > 0 else "top", parse_math=False,
                    color="black" if k < len(chosen) else "0.4",
                )  # fmt: skip
                break


def _free(box: tuple[float, ...], placed: list[tuple[float, ...]], marks: Any, pt: list[float]) -> bool:
    """Inside the axes, over no label placed and no marker (1.5 pt in radius)."""
    x0, y0, x1, y1 = box
    if x0 < 0 or y0 < 0 or x1 > 1 or y1 > 1:
        return False
    if any(x0 < b[2] and b[0] < x1 and y0 < b[3] and b[1] < y1 for b in placed):
        return False
    mx, my = marks[:, 0], marks[:, 1]
    r = 1.5 * pt[0], 1.5 * pt[1]
    return not ((mx > x0 - r[0]) & (mx < x1 + r[0]) & (my > y0 - r[1]) & (my < y1 + r[1])).any()
