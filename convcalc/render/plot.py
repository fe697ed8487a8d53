"""Plots for papers: one cost (MACs, params) against another (latency), the Pareto front marked and labelled;
SVG, PDF or PNG through matplotlib, an optional extra imported only to draw. The points are read once, in
constant memory: the Pareto front is kept exactly, the rest as a seeded reservoir sample."""

from __future__ import annotations

import bisect
import contextlib
import importlib.util
import io
import math
import os
import random
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConvCalcError, printable, term
from .labels import MAX_LABELS, label_points

if TYPE_CHECKING:  # matplotlib is an optional extra, imported only to draw
    from matplotlib.figure import Figure

SUFFIXES = (".svg", ".pdf", ".png")
MAX_CLOUD = 20_000  # points drawn besides the front; a longer stream is sampled down to this many
RASTERIZE_ABOVE = 2_000  # a larger cloud is drawn as an image inside the vector file, which stays small
SEED = 0
LOG_DECADES = 2  # an axis goes logarithmic when its positive values span more than two decades
_PLOT = term("plot")
MISSING = f"{_PLOT} needs matplotlib, an optional extra: pip install 'convcalc[plot]'"
_FONTS = {"font.size": 7, "xtick.labelsize": "small", "ytick.labelsize": "small", "legend.fontsize": "small"}
# PDF fonts embedded as TrueType, as publishers ask; SVG text kept as text; the same SVG ids on every run
_RC = {**_FONTS, "pdf.fonttype": 42, "svg.fonttype": "none", "svg.hashsalt": "convcalc"}
_SAVE = {"dpi": 300, "bbox_inches": "tight", "pad_inches": 0.02}  # dpi: a PNG, or a cloud drawn as an image
# the legend above the axes' right corner, under the title: inside, it would hide the costliest, slowest
# points; at the left, the y axis' offset (1e6)
_LEGEND = {"loc": "lower right", "bbox_to_anchor": (1, 1), "ncol": 2, "frameon": False, "borderaxespad": 0.1}
_METADATA: dict[str, dict[str, Any]] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}


@dataclass(frozen=True, slots=True)
class Point:
    """One configuration: its name and two costs, lower being better on both."""

    label: str
    x: float
    y: float


def check_plot_path(path: str) -> None:
    """One line (ConvCalcError), before any work, when the plot could not be written. Imports nothing."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        found = f"not '{printable(file.suffix)}'" if file.suffix else "and has no suffix"
        raise ConvCalcError(f"{_PLOT}: {printable(path)} must end in .svg, .pdf or .png, {found}")
    try:
        if file.is_dir():
            raise ConvCalcError(
                f"{_PLOT}: {printable(path)} is a folder; give a file name ending in {suffix}"
            )
        if not file.parent.is_dir():
            raise ConvCalcError(f"{_PLOT}: no folder {printable(str(file.parent))}; create it first")
    except OSError as exc:  # a name too long for the file system, a path it cannot look into
        raise ConvCalcError(f"{_PLOT}: cannot use {printable(path)}: {exc.strerror or exc}") from None
    with contextlib.suppress(ImportError, ValueError):  # ValueError: a module without a spec
        if importlib.util.find_spec("matplotlib") is not None:
            return
    raise ConvCalcError(MISSING)


class _Front:
    """The Pareto front of the points added so far (lower is better on both axes): x strictly increasing,
    y strictly decreasing; of equal points, the first added stays."""

    def __init__(self) -> None:
        self.xs: list[float] = []
        self.points: list[Point] = []
        self.count = 0  # points offered, on the front or not

    def add(self, point: Point) -> None:
        self.count += 1
        i = bisect.bisect_right(self.xs, point.x)  # points[:i] have x <= point.x, the lowest y at i - 1
        if i and self.points[i - 1].y <= point.y:
            return  # dominated by, or equal to, a point already on the front
        start = i - 1 if i and self.xs[i - 1] == point.x else i  # same x, higher y: dominated by point
        end = i
        while end < len(self.points) and self.points[end].y >= point.y:  # right of point, no lower
            end += 1
        self.xs[start:end] = [point.x]
        self.points[start:end] = [point]


def pareto_front(points: Iterable[Point]) -> list[Point]:
    """The points no other point beats on both x and y (lower is better), sorted by x with y strictly
    decreasing; one point per (x, y), the first given; non-finite points are skipped."""
    front = _Front()
    for point in points:
        if _finite(point):
            front.add(point)
    return front.points


def _finite(point: Point) -> bool:
    try:
        return math.isfinite(point.x) and math.isfinite(point.y)
    except OverflowError:  # an int past a float's range
        return False


class _Reservoir:
    """A uniform sample of at most `size` points, seeded: Li's algorithm L, which draws random numbers only
    for the points it keeps (about size * log(n / size) of n), not for every point."""

    def __init__(self, size: int) -> None:
        self.size, self.points, self.rng = size, [], random.Random(SEED)
        self.weight, self.next = 1.0, size - 1
        self._skip()

    def _skip(self) -> None:
        """Move `next` to the index of the next point to keep."""
        self.weight *= math.exp(math.log(1.0 - self.rng.random()) / self.size)
        gap = math.log(1.0 - self.rng.random()) / math.log1p(-self.weight) if self.weight < 1.0 else 0.0
        self.next += math.floor(gap) + 1

    def keep(self, point: Point) -> None:
        self.points[self.rng.randrange(self.size)] = point
        self._skip()


class _Sample:
    """What a stream of points leaves: an exact front per sign quadrant (so the points a log axis drops take
    no front point with them) and a reservoir sample of all. signs: 1 where lower is better on an axis, -1
    where higher is (a receptive field): the front is kept of the points so turned, and turned back."""

    def __init__(self, signs: tuple[int, int] = (1, 1)) -> None:
        self.fronts = [_Front() for _ in range(4)]  # by quadrant: (x > 0) + 2 * (y > 0)
        self.cloud = _Reservoir(MAX_CLOUD)
        self.signs = signs

    def read(self, points: Iterable[Point]) -> None:
        fronts, cloud, (sx, sy) = self.fronts, self.cloud, self.signs
        turned = self.signs != (1, 1)
        for seen, point in enumerate(points):  # few allocations per point: a million take a second
            if _finite(point) and not (type(point.x) is float and type(point.y) is float):
                point = Point(point.label, float(point.x), float(point.y))  # an int past int64 breaks numpy
            if seen < MAX_CLOUD:
                cloud.points.append(point)
            elif seen == cloud.next:
                cloud.keep(point)
            if _finite(point):
                front = fronts[(point.x > 0) + 2 * (point.y > 0)]
                front.add(Point(point.label, sx * point.x, sy * point.y) if turned else point)

    def kept(self) -> tuple[list[Point], list[Point], int, tuple[bool, bool]]:
        """The front, the cloud and the count of the points the axes can show; which axes are logarithmic:
        those whose positive values, among the points drawn, span more than two decades."""
        cloud = [p for p in self.cloud.points if _finite(p)]
        sx, sy = self.signs
        turned_back = lambda p: Point(p.label, sx * p.x, sy * p.y)  # noqa: E731
        drawn = [*cloud, *map(turned_back, chain.from_iterable(f.points for f in self.fronts))]
        log_x, log_y = _decades(p.x for p in drawn) > LOG_DECADES, _decades(p.y for p in drawn) > LOG_DECADES
        shown = [(q & 1 or not log_x) and (q & 2 or not log_y) for q in range(4)]
        fronts = [front for front, show in zip(self.fronts, shown) if show]
        front = sorted(map(turned_back, pareto_front(chain.from_iterable(f.points for f in fronts))), key=_x)
        cloud = [p for p in cloud if shown[(p.x > 0) + 2 * (p.y > 0)]]
        return front, cloud, sum(f.count for f in fronts), (log_x, log_y)


def _x(point: Point) -> float:
    return point.x


def _decades(values: Iterable[float]) -> float:
    positive = [v for v in values if v > 0]
    return math.log10(max(positive) / min(positive)) if positive else 0.0


def write_plot(
    path: str,
    points: Iterable[Point],
    *,
    x_label: str,
    y_label: str,
    title: str,
    note: str = "",
    higher: tuple[bool, bool] = (False, False),
) -> int:
    """Write the figure; the number of points it stands for (finite, and positive on a log axis), whether
    drawn or sampled away. The points are read once, lazily, in constant memory beside the front. higher:
    whether higher is better on x and on y (a receptive field), else lower is (a cost)."""
    check_plot_path(path)
    sample = _Sample((-1 if higher[0] else 1, -1 if higher[1] else 1))
    sample.read(points)
    front, cloud, count, log = sample.kept()
    if not count:
        raise ConvCalcError(f"{_PLOT}: no valid configurations to plot")
    fmt = Path(path).suffix.lower()[1:]
    import matplotlib

    with matplotlib.rc_context(_RC):
        figure = _figure(front, cloud, log, (x_label, y_label, title, note), higher)
        data = io.BytesIO()
        figure.savefig(data, format=fmt, metadata=_METADATA[fmt], **_SAVE)
    _write_atomically(Path(path), data.getvalue())
    return count


def _figure(
    front: list[Point],
    cloud: list[Point],
    log: tuple[bool, bool],
    texts: tuple[str, ...],
    higher: tuple[bool, bool] = (False, False),
) -> Figure:
    """A single-column figure: every point a grey dot, the front marked, joined by its staircase, each of its
    points labelled (a spread on a long front, which the caption says); axes in SI prefixes (100M)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # measures text; any format is written
    from matplotlib.figure import Figure  # no pyplot: no global state, no display needed

    x_label, y_label, title, note = (printable(text) for text in texts)  # a control character escaped
    if any(higher):  # a front of mixed aims: say which
        aims = ", ".join(
            f"{'higher' if up else 'lower'} {name}" for name, up in zip((x_label, y_label), higher)
        )
        note = f"{note}; front: {aims}" if note else f"front: {aims}"
    if len(front) > MAX_LABELS:
        spread = f"labels: {MAX_LABELS} of the {len(front)} points of the front, spread along it"
        note = f"{note}; {spread}" if note else spread
    figure = Figure(figsize=(3.5, 2.6), layout="constrained")
    canvas = FigureCanvasAgg(figure)
    ax = figure.add_subplot(xscale="log" if log[0] else "linear", yscale="log" if log[1] else "linear")
    big = len(cloud) > RASTERIZE_ABOVE  # drawn as an image inside the vector file, which stays small
    dots = ax.scatter(
        [p.x for p in cloud], [p.y for p in cloud], s=2 if big else 6, c="0.65", linewidths=0, rasterized=big
    )
    xs, ys = [p.x for p in front], [p.y for p in front]
    ax.step(xs, ys, where="post", color="tab:blue", linewidth=0.8)
    (marks,) = ax.plot(xs, ys, "o", color="tab:blue", markersize=3)
    for axis, name, is_log in zip((ax.xaxis, ax.yaxis), (x_label, y_label), log):  # a $ is a dollar:
        axis.set_label_text(name + (", log scale" if is_log else ""), parse_math=False)  # not mathtext
        _si_ticks(axis, is_log)
    ax.set_title(textwrap.fill(title, 48), parse_math=False, pad=14)  # 48 characters: the figure's width
    ax.legend([dots, marks], ["configurations", "Pareto front"], borderpad=0, handletextpad=0.3, **_LEGEND)
    ax.grid(True, linewidth=0.3, color="0.88")
    ax.set_axisbelow(True)
    if note:  # a caption under the x label, left-aligned, wrapped to the figure's width
        figure.supxlabel(
            textwrap.fill(note, 85), x=0.01, ha="left", fontsize=5, color="0.3", parse_math=False
        )
    figure.draw_without_rendering()  # the layout, final: labels are measured and placed in it
    figure.set_layout_engine("none")
    empty = (1 if higher[0] else -1, 1 if higher[1] else -1)  # the side of the front nothing dominates
    label_points(ax, canvas.get_renderer(), front, cloud, empty)
    return figure


def si(value: float, _position: object = None) -> str:
    """A tick in SI prefixes, as the tables write counts: 0, 500, 1.5K, 100M, 4.09G (never 1e8 offsets)."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{prefix}"
    return f"{value:.3g}"


def _si_ticks(axis: Any, is_log: bool) -> None:
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(si))
    if is_log:  # decades alone: 1M, 10M, 100M
        axis.set_minor_formatter(NullFormatter())


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside the file, then rename over it: a failed write leaves no half a figure behind."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(data)  # a new file, as open() makes one: the umask applies
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        reason = exc.strerror or type(exc).__name__
        raise ConvCalcError(f"{_PLOT}: cannot write {printable(str(path))}: {reason}") from None
