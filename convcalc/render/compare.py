"""Render a CompareReport: one row per variant, ratios to the standard convolution, a cost bar."""

from __future__ import annotations

from fractions import Fraction

from ..core.compare import CompareReport, VariantRow
from ..core.conventions import COMPARE_CONVENTION, SPEED_CONVENTION, TRAINING_CONVENTION
from ..core.formulas import ratio
from .bench import MIN_BLOCKS, busy_line, peaks_text
from .cells import BAR, BYTES, COUNT, MARK, PERCENT, RATIO, SECONDS, SHAPE, SI, TEXT, Cell, shape_text
from .lines import (
    check_format,
    expectation_lines,
    input_line,
    padding_lines,
    to_json,
    verification_line,
    warning_lines,
)
from .sheet import Column, Sheet, write

BAR_WIDTH = 10
_EIGHTHS = " ▏▎▍▌▋▊▉"


def render_compare(
    report: CompareReport,
    fmt: str = "table",
    *,
    width: int | None = 100,
    color: bool = False,
    ascii_only: bool = False,
) -> str:
    if not isinstance(report, CompareReport):
        raise TypeError(f"render_compare() takes a report from compare_report(); got {type(report).__name__}")
    check_format(fmt, explain=False)
    if fmt == "json":
        return to_json(report.to_list(), ascii_only)
    sheet = compare_sheet(report, versions=fmt != "latex")  # a paper's table names no tool versions
    return write(sheet, fmt, width=width, color=color, ascii_only=ascii_only)


def _fixed(value: Fraction) -> str:
    """Four decimals; a whole number where the value is past a float's range (a huge multiplier)."""
    whole = ratio(value.numerator, value.denominator)
    return f"{whole:,}" if isinstance(whole, int) else f"{whole:.4f}"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar in eighths of a character; full width = the standard convolution."""
    eighths = round(max(0.0, min(fraction, 1.0)) * width * 8)
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def compare_sheet(report: CompareReport, versions: bool = True) -> Sheet:
    """One row per variant; CSV headers (keys) are the JSON keys; versions False for a paper (LaTeX)."""
    columns = [
        Column("variant", wrap=12, key="title"),
        Column("params", "r", key="params"),
        Column("params/std", "r", moves=6, key="ratio_params"),
        Column("MACs", "r", key="macs"),
        Column("FLOPs", "r", key="flops", moves=3),  # 2 x MACs: the first figure to move under the table
        Column("MACs/std", "r", key="ratio_macs"),
        Column("output", "r", moves=7, key="output_shape"),
        Column("RF", "r", moves=4, key="receptive_field"),
        Column("act. mem", "r", moves=5, key="activation_bytes"),
        # narrow terminal: formulas, bar, then figures move
        Column("weights", key="formula", dim=True, moves=1),
    ]
    bn = report.rows[0].variant.bn
    if bn:
        columns.insert(2, Column("buffers", "r", moves=8, key="buffers"))
    if any(row.training for row in report.rows):
        columns += [
            Column("bwd MACs", "r", moves=3, key="backward_macs"),
            Column("Adam mem", "r", moves=5, key="adam_total_bytes"),
        ]
    if any(row.bench for row in report.rows):
        columns += bench_columns(report)
    if report.verified:
        columns.append(Column("torch", "c", key="verification_ok"))
    # the bar repeats MACs/std: left out
    columns.append(Column("MACs vs std", key="macs_bar", moves=2, listed=False))
    rows = [_row(report, row, len(columns)) for row in report.rows]
    return Sheet(
        title=f"compare: {report.standard.layer}",
        columns=columns,
        rows=rows,
        notes=notes(report, versions),
        csv_prefix=[("variant", [row.variant.name for row in report.rows])],
        label="tab:convcalc-compare",
        latex="parts",  # its type never smaller than its notes': split where it is wider than the text
    )


def _row(report: CompareReport, row: VariantRow, width: int) -> list[Cell]:
    r = row.result
    if r is None:  # blanks up to the formula, which says why; then blanks, and no bar
        skipped = [(TEXT, row.variant.title), *[(TEXT, None)] * (8 + row.variant.bn), (TEXT, "skipped")]
        return skipped + [(TEXT, None)] * (width - len(skipped) - 1) + [(BAR, "")]
    ratio_params, ratio_macs = report.ratios(r)
    cells: list[Cell] = [
        (TEXT, row.variant.title),
        (COUNT, r.params),
        *([(COUNT, r.buffers)] if row.variant.bn else []),
        (RATIO, ratio_params),
        (SI, r.macs),
        (SI, r.flops),
        (RATIO, ratio_macs),
        (SHAPE, r.output_shape),
        (SHAPE, r.receptive_field),
        (BYTES, r.activation_bytes),
        (TEXT, row.variant.formula),
    ]
    if any(other.training for other in report.rows):
        cells += [(SI, row.training.backward_macs), (BYTES, row.training.adam_total_bytes)]
    if any(other.bench for other in report.rows):
        cells += bench_cells(report, row)
    if report.verified:
        cells.append((MARK, row.verification.ok))
    return cells + [(BAR, bar(ratio_macs))]


def bench_columns(report: CompareReport) -> list[Column]:
    """--bench's columns: the latency, its ratio to the standard's beside MACs/std, rate, intensity."""
    columns = [
        Column("latency", "r", key="median_s"),
        Column("time/std", "r", key="ratio_time"),
        Column("FLOP/s", "r", moves=3, key="flops_per_s"),
        Column("FLOP/B", "r", moves=4, key="intensity"),
    ]
    if any(row.bench and row.bench.roofline_fraction is not None for row in report.rows):
        columns.append(Column("roofline", "r", moves=5, key="roofline_fraction"))
    return columns


def bench_cells(report: CompareReport, row: VariantRow) -> list[Cell]:
    b, standard = row.bench, report.rows[0].bench
    median = b and b.median_s
    base = standard and standard.median_s
    cells: list[Cell] = [
        (SECONDS, median),
        (RATIO, median / base if median and base else None),
        (SI, None if median is None else round(b.flops_per_s)),
        (RATIO, b and b.intensity),
    ]
    if any(other.bench and other.bench.roofline_fraction is not None for other in report.rows):
        cells.append((PERCENT, b and b.roofline_fraction))
    return cells


def plot_compare(report: CompareReport, path: str) -> int:
    """The variants as points for a paper: MACs against measured latency with --bench, else params against
    MACs; the Pareto front (lower is better on both) marked. Returns the points drawn. A variant whose
    output differs from the standard's (depthwise alone: M x C_IN channels) is no replacement for it, so
    it is left out, and the caption says so, as it does of a variant not timed."""
    from .plot import Point, write_plot

    shape = report.standard.output_shape
    rows = [row for row in report.rows if row.result and row.result.output_shape == shape]
    timed = [row for row in rows if row.bench and row.bench.median_s is not None]
    left_out = {"their output differs": [r.variant.title for r in report.rows if r.result and r not in rows]}
    if timed:
        points = [Point(row.variant.title, row.result.macs, 1e3 * row.bench.median_s) for row in timed]
        axes = {"x_label": "MACs", "y_label": f"latency, ms (median, {timed[0].bench.device})"}
        note = "MACs = multiply-accumulates; latency: median of torch.utils.benchmark, forward pass"
        left_out["not timed"] = [row.variant.title for row in rows if row not in timed]
    else:
        points = [Point(row.variant.title, row.result.params, row.result.macs) for row in rows]
        axes = {"x_label": "parameters", "y_label": "MACs"}
        note = "MACs = multiply-accumulates, batch included"
        if report.rows[0].bench:
            note += "; no variant was timed (see the notes), so params against MACs"
    note += "".join(f"; not drawn, {why}: {', '.join(names)}" for why, names in left_out.items() if names)
    note += "".join(f"; {line}" for line in busy_line([row.bench for row in timed]))  # as the table warns
    return write_plot(path, points, **axes, title=f"compare: {report.standard.layer}", note=note)


def speed_notes(report: CompareReport) -> list[str]:
    """How the variants were timed, which were not, and what the separable one's speed-up says."""
    timed = [row for row in report.rows if row.bench]
    if not timed:
        return []
    first = timed[0].bench
    count = max(row.bench.threads for row in timed)
    threads = f" ({count} threads)" if count else ""
    lines = [
        f"--bench on {first.device}{threads}: latency = median forward pass; time/std = latency / standard's"
    ]
    lines += [f"{row.variant.title}: {row.bench.skipped}" for row in timed if row.bench.skipped]
    few = [row.variant.name for row in timed if row.bench.median_s and row.bench.runs < MIN_BLOCKS]
    if few:
        lines.append(f"{', '.join(few)}: fewer than {MIN_BLOCKS} timed blocks, so a rough latency")
    ran = next((row.bench for row in timed if row.bench.median_s is not None), None)
    if ran is not None and ran.bound_flops_per_s is not None:
        lines.append(f"roofline {peaks_text(ran)}: achieved FLOP/s over the bound at each one's intensity")
    lines.append(_separable_speed(report))
    lines += busy_line([row.bench for row in timed])
    return [line for line in lines if line] + [SPEED_CONVENTION]


def _separable_speed(report: CompareReport) -> str:
    """The classic surprise, in numbers: the separable variant's MAC ratio beside its time ratio."""
    rows = {row.variant.name: row for row in report.rows}
    std, dwsep = rows["standard"], rows.get("dwsep")
    if not (dwsep and dwsep.bench and dwsep.bench.median_s and std.bench and std.bench.median_s):
        return ""
    macs = std.result.macs / dwsep.result.macs
    faster = std.bench.median_s / dwsep.bench.median_s
    speed = f"{faster:.3g}x faster" if faster >= 1 else f"{1 / faster:.3g}x slower"
    return (
        f"dw-separable: {macs:.3g}x fewer MACs, {speed}; its intensity "
        f"{dwsep.bench.intensity:.3g} FLOP/B against the standard's {std.bench.intensity:.3g}"
    )


def notes(report: CompareReport, versions: bool = True) -> list[str]:
    base = report.base
    lines = [input_line(base, base.input_shape, base.dtype), *padding_lines(base)]
    separable = report.separable_ratio()
    if separable:
        measured, closed = separable
        m = _multiplier(report)
        form = "1/Cout + 1/k^2" if m == 1 else f"M/Cout + M/k^2 (M={m})"
        lines.append(
            f"dw-separable MACs / standard: measured {_fixed(measured)}; MobileNet's closed form "
            f"{form} = {_fixed(closed)}"
        )
    lines += _shape_notes(report)
    lines += [
        f"{row.variant.title} skipped: {row.variant.skipped}" for row in report.rows if row.variant.skipped
    ]
    lines.append(verification_line(report, versions))
    lines += warning_lines(
        [row.verification for row in report.rows], [row.variant.name for row in report.rows]
    )
    lines += speed_notes(report)
    if any(row.training for row in report.rows):
        lines.append(
            "--backward: bwd MACs = grad input + grad weight; Adam mem = weights + grads + Adam state + "
            "saved activations; the JSON has every figure. " + TRAINING_CONVENTION
        )
    if any(row.variant.bn for row in report.rows):
        lines.append(
            "--bn: params include BatchNorm's weight and bias; its buffers (running mean and var, "
            "num_batches_tracked) are counted apart; conv bias is off unless --bias"
        )
    lines += expectation_lines(report.expectations)
    lines.append(COMPARE_CONVENTION)
    return lines


def _multiplier(report: CompareReport) -> int:
    dwsep = next(r.result for r in report.rows if r.variant.name == "dwsep")
    return dwsep.stages[0].spec.out_channels // report.base.in_channels


def _shape_notes(report: CompareReport) -> list[str]:
    """Say why a variant's output differs from the standard's, where it does."""
    standard = report.standard.output_shape
    lines = []
    narrower = [row for row in report.rows if row.result and row.result.output_shape[1] != standard[1]]
    if narrower:
        titles = " and ".join(row.variant.title for row in narrower)
        channels = narrower[0].result.output_shape[1]
        lines.append(
            f"{titles}: M x C_IN = {channels} output channels, the depthwise step alone; "
            f"dw-separable adds the pointwise step to reach C_OUT = {standard[1]}"
        )
    pointwise = next(
        (row.result for row in report.rows if row.variant.name == "pointwise" and row.result), None
    )
    if pointwise and pointwise.output_shape[2:] != standard[2:]:
        lines.append(
            f"pointwise: a 1x1 kernel takes no padding or dilation, so its output is "
            f"{shape_text(pointwise.output_shape[2:])} where the standard's is {shape_text(standard[2:])}"
        )
    return lines
