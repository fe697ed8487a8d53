"""`convcalc sweep`: parse the lists and ranges, stream the rows to the output, choose the exit code.

The grammar and the engine are core/sweep.py's; the writers render/sweep.py's;
the --verify pool measure/sweep.py's, imported only when asked for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from enum import Enum
from typing import IO, Annotated, Any

import typer

from ..api import sweep_rows
from ..core.errors import ConvCalcError, InvalidSpecError, printable, term
from ..core.results import FIGURES
from ..core.spec import DTYPE_BYTES, PADDING_MODES, parse_count
from ..core.sweep import AXES, MAX_ROWS, Sweep, SweepRow, SweepRows
from ..measure.sweep import Ended
from ..render.sweep import BENEFITS, SWEEP_FORMATS, Progress, plot_axes, render_sweep
from . import emit
from .command import Command, command_app
from .options import no_digit_limit, one_of
from .words import FLAGS

command = command_app()  # this command alone; cli/group.py loads it when it runs


SweepFormat = Enum("SweepFormat", {f: f for f in SWEEP_FORMATS}, type=str)
NUMERIC = [key for key in FIGURES if key not in ("output_shape", "effective_kernel", "receptive_field")]
PLOTTED = [*NUMERIC, *BENEFITS]  # counts and bytes (lower is better), then what a layer gives (higher is)


def _list(*names: str, help: str, required: bool = False) -> Any:  # noqa: A002 -- typer's own word
    return typer.Option(*names, metavar="LIST", help=help, show_default=not required)


LIST = "a value, a comma list or a range start:stop[:step] (stop included)"
CIn = Annotated[str, _list("--c-in", help=f"Input channels: {LIST}, e.g. 8:1024:8.", required=True)]
COut = Annotated[str, _list("--c-out", help="Output channels, e.g. 32,64,128.", required=True)]
Kernel = Annotated[str, _list("--kernel", help="Kernel sizes, e.g. 1,3,5 or 3x5.", required=True)]


@command.command(
    cls=Command,
    short_help="Every combination of lists and ranges of settings: one row each.",
    epilog="\b\nExample: convcalc sweep --c-in 32,64 --c-out 64 --kernel 1,3 -g 1,dw -i 56",
)
def sweep(
    c_in: CIn,
    c_out: COut,
    kernel: Kernel,
    stride: Annotated[str, _list("--stride", "-s", help="Strides, e.g. 1,2.")] = "1",
    padding: Annotated[
        str, _list("--padding", "-p", help="Paddings: integers, same, valid, tf-same, before+after: 0+1.")
    ] = "0",
    dilation: Annotated[str, _list("--dilation", "-d", help="Dilations, e.g. 1:3.")] = "1",
    output_padding: Annotated[str, _list("--output-padding", help="Output paddings (transposed).")] = "0",
    output_size: Annotated[
        str | None,
        _list("--output-size", help="Output sizes of a transposed layer (they set its output padding)."),
    ] = None,
    groups: Annotated[str, _list("--groups", "-g", help="Groups; dw: groups = that row's c_in.")] = "1",
    bias: Annotated[str, _list("--bias", help="Bias: on, off, or on,off.")] = "on",
    transposed: Annotated[str, _list("--transposed", help="ConvTranspose: no, yes, or no,yes.")] = "no",
    dim: Annotated[
        str | None, _list("--dim", help="1, 2 or 3; inferred from sizes such as 3x3x3 if not given.")
    ] = None,
    padding_mode: Annotated[str, _list("--padding-mode", help=f"{one_of(PADDING_MODES)}.")] = "zeros",
    input_size: Annotated[str, _list("--input", "-i", help="Input spatial sizes, e.g. 32,224.")] = "224",
    batch: Annotated[str, _list("--batch", "-b", help="Batch sizes.")] = "1",
    dtype: Annotated[str, _list("--dtype", help=f"{one_of(DTYPE_BYTES)}.")] = "float32",
    fmt: Annotated[
        SweepFormat,
        typer.Option("--format", "-f", metavar="FORMAT", help=f"Output format: {one_of(SweepFormat)}."),
    ] = SweepFormat.csv,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to FILE.", show_default="stdout"),
    ] = None,
    valid_only: Annotated[
        bool, typer.Option("--valid-only", help="Drop invalid combinations instead of giving the reason.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option("--verify/--no-verify", help="Confirm every valid row in torch, on the meta device."),
    ] = False,
    jobs: Annotated[
        str | None,
        typer.Option("--jobs", "-j", metavar="N", help="Processes for --verify.", show_default="CPU count"),
    ] = None,
    max_rows: Annotated[
        str, typer.Option(metavar="N", help="Refuse a sweep of more rows than this.")
    ] = f"{MAX_ROWS}",
    plot: Annotated[
        str | None,
        typer.Option(
            metavar="FILE",
            help="Also plot the valid rows: FILE.svg, .pdf or .png (matplotlib).",
            show_default=False,
        ),
    ] = None,
    plot_x: Annotated[
        str | None,
        typer.Option(
            metavar="FIGURE",
            help=f"x of --plot: {', '.join(PLOTTED)}.",
            show_default="chosen from what the sweep varies",
        ),
    ] = None,
    plot_y: Annotated[
        str | None,
        typer.Option(metavar="FIGURE", help="y of --plot, as --plot-x.", show_default="as --plot-x"),
    ] = None,
) -> None:
    """Sweep any of conv's settings over lists and ranges: one row per combination (CSV, JSON lines or
    Markdown), streamed in constant memory; invalid combinations keep the reason. See docs/sweep.md."""
    no_digit_limit()
    given = {**{name: value for name, value in locals().items() if name in AXES}, "input": input_size}
    wanted = None if jobs is None else _positive(jobs, "jobs")  # checked with or without --verify
    limit = _positive(max_rows, "max_rows")
    rows = sweep_rows(**given, verify=verify, jobs=wanted, max_rows=limit, words=FLAGS)
    plotting = _plot_axes(rows.sweep, plot, plot_x, plot_y, output)
    if verify:
        _say_pool(wanted)
    try:
        with _output(output) as stream:
            code = _run(rows, fmt.value, stream, valid_only, plotting, output is not None)
    except Ended as ended:  # SIGTERM or SIGHUP: the pool has stopped; exit as the signal would
        emit.warn("convcalc: terminated")
        raise typer.Exit(ended.code) from None
    raise typer.Exit(code)


def _say_pool(wanted: int | None) -> None:
    """One line when --jobs asked for more workers than the CPUs or the free memory hold."""
    from ..measure.sweep import pool_size

    if wanted is not None and pool_size(wanted) < wanted:
        emit.warn(
            f"convcalc: --jobs {wanted}: {pool_size(wanted)} workers, as many as the CPUs and memory hold"
        )


def _positive(text: str, name: str) -> int:
    value = parse_count(text, name)
    if value < 1:
        raise InvalidSpecError(name, f"got {value}; it must be a positive integer")
    return value


def _plot_axes(
    plan: Sweep, path: str | None, x: str | None, y: str | None, output: str | None
) -> tuple[str, ...] | None:
    """(path, x, y, why) for --plot, checked before any row is made; None without --plot. An axis not
    given is chosen from what the sweep varies (render/sweep.plot_axes), and why says so."""
    for name, key in (("plot_x", x), ("plot_y", y)):
        if key is not None and key not in PLOTTED:
            raise ConvCalcError(
                f"{term(name)}: {key!r} is not a figure to plot; use one of {', '.join(PLOTTED)}"
            )
    if path is None:
        return None
    from ..render.plot import check_plot_path

    check_plot_path(path)
    if output is not None and _same_file(path, output):
        raise ConvCalcError(f"--plot: {printable(path)} is also --output; give the plot a file of its own")
    chosen_x, chosen_y, why = plot_axes(plan)
    return path, x or chosen_x, y or chosen_y, why if x is None and y is None else ""


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return os.path.realpath(a) == os.path.realpath(b)


class _Stopped(Exception):
    """The output could not take more: the exit code, its line already on stderr."""

    def __init__(self, code: int) -> None:
        self.code = code


@contextmanager
def _output(path: str | None) -> Iterator[Callable[[str], None]]:
    """A function writing text to stdout or to the file at path; it raises _Stopped when it cannot."""
    if path is None:
        yield _to_stdout
        return
    try:
        file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 -- closed below, errors named
    except OSError as exc:
        raise ConvCalcError(f"--output: cannot write {printable(path)}: {exc.strerror or exc}") from None
    try:
        yield lambda chunk: _to_file(file, path, chunk)
    except BaseException:
        with suppress(OSError):  # the write that failed has said so
            file.close()
        raise
    try:  # the last chunk reaches the file only here: a full disk or a file that takes no writes says so
        file.close()
    except OSError as exc:
        emit.warn(f"convcalc: error: cannot write {printable(path)}: {exc.strerror or exc}")
        raise typer.Exit(emit.CANNOT_WRITE) from None


def _to_stdout(chunk: str) -> None:
    code = emit.write(chunk)
    if code is not None:
        raise _Stopped(code)


def _to_file(file: IO[str], path: str, chunk: str) -> None:
    try:
        file.write(chunk)
    except OSError as exc:
        emit.warn(f"convcalc: error: cannot write {printable(path)}: {exc.strerror or exc}")
        raise _Stopped(emit.CANNOT_WRITE) from None


def _run(
    rows: SweepRows,
    fmt: str,
    write: Callable[[str], None],
    valid_only: bool,
    plotting: tuple[str, ...] | None,
    to_file: bool,
) -> int:
    """Stream the rows to write (and to the plot); the exit code."""
    verified = rows.verifier is not None
    tally = _Tally(keep=plotting is not None)
    progress = Progress(
        rows.count, "verifying" if verified else "sweeping", to_file and _stderr_is_terminal()
    )
    chunks = render_sweep(  # verdicts and plots take the rows with a ConvResult each; else the leaner rows
        rows.sweep,
        tally.count(rows) if verified or plotting else rows.figure_rows(),
        fmt,
        valid_only=valid_only,
        verified=verified,
        ascii_only=not to_file and emit.ascii_only(),
        advance=progress.advance,
    )
    try:
        kept = tally.written(chunks, write)
        if plotting:
            _plot(rows.sweep, kept, *plotting)
        else:
            for _ in kept:
                pass
    except _Stopped as stop:
        return stop.code
    finally:
        progress.close()
    if rows.mismatches:
        emit.warn(f"convcalc: MISMATCH: torch disagreed on {rows.mismatches:,} rows; see the verified column")
        return 1
    return 0


def _stderr_is_terminal() -> bool:
    return sys.stderr is not None and sys.stderr.isatty()


class _Tally:
    """Keeps the valid rows of the chunk being written, for a plot."""

    def __init__(self, keep: bool) -> None:
        self.keep, self.valid = keep, []

    def count(self, rows: Iterable[SweepRow]) -> Iterator[SweepRow]:
        for row in rows:
            if self.keep and row.result is not None:
                self.valid.append(row)
            yield row

    def written(self, chunks: Iterable[str], write: Callable[[str], None]) -> Iterator[SweepRow]:
        """Write each chunk, then give the valid rows it held: a chunk's worth in memory at most."""
        for chunk in chunks:
            if chunk:
                write(chunk)
            yield from self.valid
            self.valid.clear()


def _plot(plan: Sweep, rows: Iterable[SweepRow], path: str, x: str, y: str, why: str) -> None:
    from ..render.plot import write_plot
    from ..render.sweep import plot_points

    chosen = f"; axes: {why} (--plot-x and --plot-y choose others)" if why else ""
    write_plot(
        path,
        plot_points(plan, rows, x, y),
        x_label=BENEFITS.get(x) or FIGURES[x],
        y_label=BENEFITS.get(y) or FIGURES[y],
        title=f"convcalc sweep over {', '.join(plan.swept()) or 'one layer'}",
        note=f"each point a valid configuration, of {plan.count:,} swept; labels: the settings swept{chosen}",
        higher=(x in BENEFITS, y in BENEFITS),
    )
