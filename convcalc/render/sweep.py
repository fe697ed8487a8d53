"""A sweep's rows as CSV, JSON lines or Markdown, streamed: text chunks made as the rows come.

Standard library only, with rich imported for the progress bar alone. Each row: the settings (as the
options take them), the figures named by their JSON keys, the reason a layer is invalid, and whether
torch confirmed it (--verify).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from ..core.results import FIGURES, MEMORY_KEYS
from ..core.sweep import AXES, DEPTHWISE, OUTPUT_SIZE, REQUIRED, SETTINGS, FigureRow, Sweep, SweepRow
from ..core.vocabulary import Sides, padding_text
from .cells import BYTES, COUNT, SHAPE, TEXT, plain, shape_text, text
from .sheet import md_row

SWEEP_FORMATS = ("csv", "jsonl", "markdown")
CHUNK = 2048  # rows per text chunk: few writes, and a bounded buffer
_SHAPES = ("output_shape", "effective_kernel", "receptive_field")
_DIM = SETTINGS.index("dim")
_GROUPS = SETTINGS.index("groups")
_PADDING = SETTINGS.index("padding")
_BLANK_FIGURES = ("",) * len(FIGURES)


def columns(verified: bool = False, sized: bool = False) -> list[str]:
    """Every column a CSV or JSON row has, in order; sized: with output_size, after dim."""
    return [
        *SETTINGS,
        *([OUTPUT_SIZE] if sized else []),
        *FIGURES,
        "reason",
        *(["verified"] if verified else []),
    ]


def figures(row: SweepRow) -> tuple[Any, ...]:
    """The row's figures in FIGURES' order (shapes as tuples), or blanks for an invalid row."""
    r = row.result
    if r is None:
        return _BLANK_FIGURES
    m = r.memory
    counts = (r.weight_params, r.bias_params, r.params, r.macs, r.flops, r.bias_adds)
    memory = (m.param_bytes, m.input_bytes, m.output_bytes, m.forward_backward_bytes, m.total_bytes)
    return (r.output_shape, *counts, r.effective_kernel, r.receptive_field, *memory)


def _figure_row(row: SweepRow) -> FigureRow:
    """A SweepRow (sweep.rows(), --verify's) as the writers take it."""
    if row.result is None:
        return FigureRow(row.settings, None, None, row.reason, row.verified)
    return FigureRow(row.settings, row.result.spec.dim, figures(row), row.reason, row.verified)


def _figure_rows(rows: Iterable[SweepRow | FigureRow]) -> Iterator[FigureRow]:
    """sweep.figure_rows() as they are, sweep.rows() converted: one engine's rows, so the first says."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return iter(())
    rows = itertools.chain((first,), rows)
    return rows if isinstance(first, FigureRow) else map(_figure_row, rows)


def setting_text(value: Any) -> str:
    """A setting as its option takes it: 3, 3x5, same, 0+1x1, true; '' for dim when inferred."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return padding_text(value) if isinstance(value, tuple) else str(value)


class _Texts:
    """One setting's values as text, made as the product walks them (a long range is never a list)."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = values

    def __iter__(self) -> Iterator[str]:
        return map(setting_text, self.values)


def render_sweep(
    sweep: Sweep,
    rows: Iterable[SweepRow] | Iterable[FigureRow],
    fmt: str,
    *,
    valid_only: bool = False,
    verified: bool = False,
    ascii_only: bool = False,
    advance: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """The rows (sweep.figure_rows() or sweep.rows(), in their order) in fmt, a chunk of text at a
    time; verified: with the verified column; advance(n) after each n rows read, kept or not."""
    texts: Iterable[Any] = itertools.repeat(())
    sized = sweep.sized
    if fmt == "jsonl":
        line = _json_line(verified, ascii_only, sized, _sided(sweep))
    else:
        texts = sweep.combinations(_Texts(axis) for axis in sweep.axes)
        if fmt == "markdown":
            keep = _markdown_settings(sweep)
            yield _markdown_head(sweep, keep, verified)
            line = partial(_markdown_line, keep=keep, verified=verified)
        else:
            yield ",".join(columns(verified, sized)) + "\n"
            line = _csv_line(verified, sized)
    yield from _chunks(zip(_figure_rows(rows), texts), line, valid_only, advance)


def _chunks(
    rows: Iterable[tuple[FigureRow, Any]],
    line: Callable[[FigureRow, Any], str],
    valid_only: bool,
    advance: Callable[[int], None] | None,
) -> Iterator[str]:
    """Lines joined CHUNK rows at a time, so memory holds one chunk, however long the sweep."""
    lines: list[str] = []
    read = 0
    for row, texts in rows:
        read += 1
        if not (valid_only and row.figures is None):
            lines.append(line(row, texts))
        if read == CHUNK:
            if advance:
                advance(read)
            yield "".join(lines)
            lines, read = [], 0
    if advance and read:
        advance(read)
    if lines:
        yield "".join(lines)


def _sided(sweep: Sweep) -> bool:
    """Whether any padding of the sweep is per side (0+1), which JSON writes as the option takes it."""
    return any(
        type(v) is Sides or type(v) is tuple and tuple in map(type, v) for v in sweep.axes[_PADDING].items
    )


def _settings_texts(row: FigureRow, texts: tuple[str, ...], sized: bool = True) -> list[str]:
    """The settings as text: groups 'dw' as the number it stands for, dim as inferred where valid;
    output_size where the sweep gives it."""
    cells = list(texts if sized else texts[: len(SETTINGS)])
    if cells[_GROUPS] == DEPTHWISE:
        cells[_GROUPS] = cells[0]
    if row.figures is not None:
        cells[_DIM] = str(row.dim)
    return cells


def _csv_line(verified: bool, sized: bool) -> Callable[[FigureRow, tuple[str, ...]], str]:
    """A function writing one row as a CSV line. A valid row's cells are numbers, words and shapes,
    which never need quoting, so they are joined as they are; an invalid row's reason goes through csv."""
    buffer: list[str] = []
    writer = csv.writer(_Appender(buffer), lineterminator="\n")

    def line(row: FigureRow, texts: tuple[str, ...]) -> str:
        values = row.figures
        if texts[_GROUPS] == DEPTHWISE:
            texts = (*texts[:_GROUPS], texts[0], *texts[_GROUPS + 1 :])
        if values is None or verified:
            cells = _settings_texts(row, texts, sized)
            cells += [shape_text(v) if type(v) is tuple else v for v in values or _BLANK_FIGURES]
            cells.append(plain(TEXT, row.reason))
            writer.writerow([*cells, plain(TEXT, row.verified)] if verified else cells)
            return buffer.pop()
        # dim is the last setting, and the reason (the last column) is empty
        return f"{','.join(texts[:_DIM])},{row.dim},{csv_figures(values)},\n"

    def sized_line(row: FigureRow, texts: tuple[str, ...]) -> str:
        if row.figures is None or verified:
            return line(row, texts)
        if texts[_GROUPS] == DEPTHWISE:
            texts = (*texts[:_GROUPS], texts[0], *texts[_GROUPS + 1 :])
        return f"{','.join(texts[:_DIM])},{row.dim},{texts[_DIM + 1]},{csv_figures(row.figures)},\n"

    return sized_line if sized else line


def csv_figures(values: tuple[Any, ...]) -> str:
    """A valid row's figures (FIGURES' order) as CSV cells: one format, since a sweep writes millions."""
    shape, weight, bias, params, macs, flops, adds, effective, receptive, pb, ib, ob, fb, tb = values
    effective = _SHAPE_TEXTS.get(effective) or _kept_shape_text(effective)
    receptive = _SHAPE_TEXTS.get(receptive) or _kept_shape_text(receptive)
    return (
        f"{shape_text(shape)},{weight},{bias},{params},{macs},{flops},{adds},{effective},{receptive},"
        f"{pb},{ib},{ob},{fb},{tb}"
    )


# A sweep's effective kernels and receptive fields as text: a few, each on many rows. Keyed by the
# tuple, whose text it is (a valid layer's sizes are ints, never 3.0 or True); bounded.
_SHAPE_TEXTS: dict[tuple[int, ...], str] = {}


def _kept_shape_text(shape: tuple[int, ...]) -> str:
    if len(_SHAPE_TEXTS) >= 1024:
        _SHAPE_TEXTS.clear()
    text = _SHAPE_TEXTS[shape] = shape_text(shape)
    return text


class _Appender:
    """A file for csv.writer that keeps each line in a list, for the chunk to join."""

    def __init__(self, buffer: list[str]) -> None:
        self.write = buffer.append


def _json_line(verified: bool, ascii_only: bool, sized: bool, sided: bool) -> Callable[[FigureRow, Any], str]:
    """sized: with output_size; sided: some padding is per side, written as the option takes it."""
    encode = json.JSONEncoder(ensure_ascii=ascii_only).encode
    keys = columns(verified, sized)
    count = len(AXES) if sized else len(SETTINGS)

    def line(row: FigureRow, _: Any) -> str:
        settings = [list(v) if type(v) is tuple else v for v in row.settings[:count]]
        if sided and not isinstance(row.settings[_PADDING], int | str):
            settings[_PADDING] = padding_text(row.settings[_PADDING])
        if row.figures is not None:
            settings[_DIM] = row.dim
            values = [list(v) if type(v) is tuple else v for v in row.figures]
        else:
            values = [None] * len(FIGURES)
        record = [*settings, *values, row.reason, *([row.verified or ""] if verified else [])]
        return encode(dict(zip(keys, record))) + "\n"

    return line


def _markdown_settings(sweep: Sweep) -> list[int]:
    """The settings a Markdown table shows: the required ones and any given more than one value."""
    return [i for i, axis in enumerate(sweep.axes) if axis.name in REQUIRED or axis.count > 1]


def _markdown_head(sweep: Sweep, keep: list[int], verified: bool) -> str:
    """A line naming the settings every row shares, then the table's header."""
    shared = [
        f"{axis.name} {setting_text(next(iter(axis)))}"
        for i, axis in enumerate(sweep.axes)
        if i not in keep and axis.items != (None,)  # dim, when inferred
    ]
    names = [AXES[i] for i in keep] + list(FIGURES) + ["reason"] + (["verified"] if verified else [])
    right = len(keep) + len(FIGURES)
    align = ["---:"] * right + ["---"] * (len(names) - right)
    return f"**convcalc sweep** (every row: {', '.join(shared) or 'no other settings'})\n\n" + "\n".join(
        [md_row(names), "|" + "|".join(align) + "|", ""]
    )


def _markdown_line(row: FigureRow, texts: tuple[str, ...], keep: list[int], verified: bool) -> str:
    settings = _settings_texts(row, texts)
    cells = [settings[i] for i in keep]
    for key, value in zip(FIGURES, row.figures or _BLANK_FIGURES):
        kind = SHAPE if key in _SHAPES else BYTES if key in MEMORY_KEYS else COUNT
        cells.append(text(kind, value) if value != "" else "")
    cells.append(text(TEXT, row.reason))
    if verified:
        cells.append(text(TEXT, row.verified or ""))
    return md_row(cells) + "\n"


class Progress:
    """A bar on stderr for a long run to a file: shown once the run has taken a second, redrawn at most
    ten times a second, so it costs nothing a row."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.label, self.enabled = total, label, enabled
        self.done, self.started, self.bar, self.task = 0, time.monotonic(), None, None

    def advance(self, rows: int) -> None:
        self.done += rows
        if not self.enabled:
            return
        if self.bar is None:
            if time.monotonic() - self.started < 1.0:
                return
            self._start()
        self.bar.update(self.task, completed=self.done)

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        self.bar = Bar(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            refresh_per_second=10,
            transient=False,
        )
        self.bar.start()
        self.task = self.bar.add_task(self.label, total=self.total, completed=self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)
            self.bar.stop()


SHORT_NAMES = {"kernel": "k", "stride": "s", "padding": "p", "dilation": "d", "groups": "g"}
SHORT_NAMES |= {"transposed": "T", "output_padding": "op", "padding_mode": "mode", "input": "i", "batch": "b"}
SHORT_NAMES |= {OUTPUT_SIZE: "out"}


# What a plot may put on an axis beside the counts and bytes of FIGURES: what a layer gives, where higher
# is better (the Pareto front keeps the most of it for the least cost).
BENEFITS = {
    "receptive_field": "receptive field",  # input positions, every dimension's multiplied
    "output_size": "output size",  # spatial positions of the output, multiplied
    "c_out": "output channels",
}
# The settings that change each benefit, in the order a default plot looks for them.
_CHANGES = (
    ("receptive_field", {"kernel", "dilation"}),
    ("output_size", {"stride", "padding", "input", "output_padding", "output_size", "transposed"}),
    ("c_out", {"c_out"}),
)


def plot_axes(sweep: Sweep) -> tuple[str, str, str]:
    """A plot's axes chosen from what the sweep varies, and why: MACs against the receptive field where
    kernels or dilations vary, against the output size where strides, paddings or inputs do, against the
    output channels where those do; else params against MACs."""
    swept = set(sweep.swept())
    for benefit, settings in _CHANGES:
        varied = sorted(swept & settings)
        if varied:
            return "macs", benefit, f"{', '.join(varied)} swept: MACs against {BENEFITS[benefit]}"
    return "params", "macs", ""


def plot_points(sweep: Sweep, rows: Iterable[SweepRow], x: str, y: str) -> Iterator[Any]:
    """A Point per valid row: figures x and y (FIGURES' or BENEFITS'), labelled with the settings swept
    (c_in=64 k=3 g=dw)."""
    from .plot import Point

    swept = [i for i, axis in enumerate(sweep.axes) if axis.count > 1]
    depthwise = "dw" in sweep.axes[_GROUPS].items
    at = {key: i for i, key in enumerate(FIGURES)}
    for row in rows:
        values = figures(row)
        yield Point(_label(row, swept, depthwise), _value(row, values, at, x), _value(row, values, at, y))


def _value(row: SweepRow, values: tuple[Any, ...], at: dict[str, int], key: str) -> float:
    if key == "receptive_field":
        return _float(math.prod(row.result.receptive_field))
    if key == "output_size":
        return _float(math.prod(row.result.output_shape[2:]))
    if key == "c_out":
        return _float(row.settings[1])
    return _float(values[at[key]])


def _label(row: SweepRow, swept: list[int], depthwise: bool) -> str:
    parts = []
    for i in swept:
        value = row.settings[i]
        shown = "dw" if i == _GROUPS and depthwise and value == row.settings[0] else setting_text(value)
        parts.append(f"{SHORT_NAMES.get(AXES[i], AXES[i])}={shown}")
    return " ".join(parts)


def _float(value: int) -> float:
    """A figure as the plot's float; past float's range, infinite (which the plot leaves out)."""
    try:
        return float(value)
    except OverflowError:
        return float("inf")
