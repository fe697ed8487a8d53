"""Render a NetworkReport (`convcalc stack`, `convcalc model`): one row per layer, then the totals, in
the shape torchinfo users know; the totals' details and how torch confirmed them as notes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..core.conventions import NETWORK_CONVENTION, TRAINING_CONVENTION
from ..core.errors import FormatError, term
from ..core.grouping import EVERY_LAYER, GroupRow, grouped
from ..core.network import LayerRow, NetworkReport
from .bench import bench_lines
from .cells import BYTES, COUNT, PERCENT, SHAPE, SI, TEXT, Cell, byte_unit, shape_text, text
from .lines import check_format, expectation_lines, json_chunks, verification_line, warning_lines
from .sheet import Column, Sheet, write

# --columns: name -> (title, align, key, moves). The layer's name always comes first.
COLUMNS = {
    "kind": ("kind", "l", "kind", 5),
    "input": ("input", "r", "input_shape", 6),
    "output": ("output", "r", "output_shape", 7),
    "params": ("params", "r", "params", 0),
    "macs": ("MACs", "r", "macs", 0),
    "rf": ("RF", "r", "receptive_field", 3),
    "jump": ("jump", "r", "jump", 2),
    "memory": ("act. mem", "r", "output_bytes", 4),
    # torch's own figures beside convcalc's, for a reader who wants to see both
    "torch-params": ("torch params", "r", "torch_params", 1),
    "torch-macs": ("torch MACs", "r", "torch_macs", 1),
    # --backward's per layer: the backward pass's MACs and the activations the layer saves for it
    "bwd-macs": ("bwd MACs", "r", "backward_macs", 1),
    "saved": ("saved", "r", "saved_bytes", 1),
    # for papers: the window of each layer, and its share of the network's parameters and MACs
    "kernel": ("kernel", "r", "kernel", 8),
    "stride": ("stride", "r", "stride", 8),
    "params%": ("params %", "r", "params_share", 8),
    "macs%": ("MACs %", "r", "macs_share", 8),
}
DEFAULT_COLUMNS = ("kind", "output", "params", "macs", "rf", "jump", "memory")
_KINDS = {
    "input": SHAPE,
    "output": SHAPE,
    "params": COUNT,
    "macs": SI,
    "rf": SHAPE,
    "jump": SHAPE,
    "bwd-macs": SI,
    "saved": BYTES,
    "params%": PERCENT,
    "macs%": PERCENT,
}
TORCH_ONLY = "torch only"


def render_network(report: NetworkReport, fmt: str = "table", **options: Any) -> str:
    """The report as text; options are network_chunks's: columns, width, color, ascii_only."""
    return "".join(network_chunks(report, fmt, **options))


def network_chunks(
    report: NetworkReport,
    fmt: str = "table",
    *,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    width: int | None = 100,
    color: bool = False,
    ascii_only: bool = False,
) -> Iterable[str]:
    """render_network's text in pieces: JSON a row at a time (a model of 100,000 modules makes 80 MB of
    it), any other format whole. The format and columns are checked before the first piece."""
    check_format(fmt, explain=False)
    check_columns(columns)
    if fmt == "json":
        return json_chunks(report.to_dict(layers=False), ascii_only, (row.to_dict() for row in report.layers))
    # A paper's table names no tool versions; only a terminal's indents the nesting (Markdown drops it).
    sheet = network_sheet(report, columns, versions=fmt != "latex", indent=fmt == "table")
    return [write(sheet, fmt, width=width, color=color, ascii_only=ascii_only)]


def check_columns(columns: Sequence[str]) -> None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown or not columns:
        got = ",".join(columns) if columns else "nothing"
        raise FormatError(
            f"{term('columns')}: got {got!r}; choose from {','.join(COLUMNS)} (comma-separated)"
        )


def network_sheet(
    report: NetworkReport, columns: Sequence[str], versions: bool = True, indent: bool = True
) -> Sheet:
    """One row per layer down to the report's depth, a total row, and notes. CSV gets each layer's
    name and calls as they are in JSON, before the label people read."""
    verified = report.verification is not None
    heads = [Column("layer", key="label")]
    for name in columns:
        title, align, key, moves = COLUMNS[name]
        heads.append(Column(title, align, key=key, moves=moves))
    if verified:
        heads.append(Column("torch", "c", key="ok"))
    shown = shown_rows(report)
    rows = [_row(report, row, columns, verified, indent) for row in shown]
    rows.append(_total(report, columns, verified))
    return Sheet(
        csv_prefix=[
            ("name", [row.name for row in shown] + ["total"]),
            ("calls", [row.calls for row in shown] + [""]),
        ],
        title=f"{report.command}: {report.title}",
        columns=heads,
        rows=rows,
        notes=notes(report, len(shown), versions),
        label=f"tab:convcalc-{report.command}",
        latex="long",  # a longtable: a network's rows run over pages
        totals=1,
    )


def shown_rows(report: NetworkReport) -> list[LayerRow]:
    """The rows the table shows: a model's modules down to --depth; a stack's layers, grouped at a --depth
    below every layer's (core/grouping.py)."""
    if report.command == "stack":
        return grouped(report.layers, report.depth)
    return [row for row in report.layers if report.depth is None or row.depth <= report.depth]


def _label(report: NetworkReport, row: LayerRow, indent: bool) -> str:
    if report.command == "stack":
        return row.name
    calls = f" (x{row.calls})" if row.calls > 1 else ""
    if not row.calls:
        calls = " (children summed)" if row.summed else " (not called)"
    return "  " * max(row.depth - 1, 0) * indent + (row.name or row.kind) + calls


def _row(
    report: NetworkReport, row: LayerRow, columns: Sequence[str], verified: bool, indent: bool
) -> list[Cell]:
    cells: list[Cell] = [(TEXT, _label(report, row, indent))]
    for name in columns:
        if name == "kind":
            cells.append((TEXT, row.kind))
        elif name == "input":
            cells.append((SHAPE, row.input_shape))
        elif name == "memory":
            cells.append((BYTES, row.figure("output_bytes")))
        elif name in ("kernel", "stride"):
            cells.append(_window(row, name))
        elif name in ("params%", "macs%"):
            key = name[:-1]
            cells.append((PERCENT, _share(row.figure(key), report.total[key])))
        elif name.startswith("torch-"):
            key = name.removeprefix("torch-")
            cells.append((_KINDS[key], row.measured and row.measured.get(key)))
        else:
            cells.append((_KINDS[name], row.figure(COLUMNS[name][2])))
    if verified:
        cells.append((TEXT, _verdict(row)))
    return cells


def _window(row: LayerRow, key: str) -> Cell:
    """A layer's kernel or stride, one value per spatial dimension (a group: its units', each once)."""
    rows = row.window_rows if isinstance(row, GroupRow) else (row,)
    values = list(dict.fromkeys(v for v in (_window_of(r, key) for r in rows) if v is not None))
    if len(values) > 1:
        return (TEXT, ", ".join(shape_text(v) for v in values))
    return (SHAPE, values[0] if values else None)


def _window_of(row: LayerRow, key: str) -> tuple[int, ...] | None:
    """From the layer's settings: a pointwise kernel is 1, a pool's stride its kernel unless given; None
    for a layer without a window (linear, flatten, an adaptive pool, an activation)."""
    settings, dims = row.settings, len(row.input_shape or ()) - 2
    kernel = 1 if row.kind == "pointwise" else settings.get("kernel")
    if kernel is None or dims < 1:
        return None
    value = kernel if key == "kernel" else settings.get("stride") or kernel
    return tuple(value) if isinstance(value, list | tuple) else (value,) * dims


def _share(value: int | None, total: int | None) -> float | None:
    """A layer's share of the network's total (a fraction; None where either is unknown or the total 0)."""
    return None if value is None or not total else value / total


def _verdict(row: LayerRow) -> str:
    if row.ok is not None:
        return "ok" if row.ok else "DIFFERS"
    if row.analytic is None and row.measured is not None and row.leaf and row.calls:
        return TORCH_ONLY
    return ""


def _total(report: NetworkReport, columns: Sequence[str], verified: bool) -> list[Cell]:
    total = report.total
    values = {
        "kind": (TEXT, None),
        "input": (SHAPE, report.input_shape),
        "output": (SHAPE, total["output_shape"]),
        "params": (COUNT, total["params"]),
        "macs": (SI, total["macs"]),
        "rf": (SHAPE, total["receptive_field"]),
        "jump": (SHAPE, total["jump"]),
        "memory": (BYTES, total["activation_bytes"]),
        "torch-params": (COUNT, _checked(report, "params")),
        "torch-macs": (SI, _checked(report, "macs")),
        "bwd-macs": (SI, (report.backward or {}).get("backward_macs")),
        "saved": (BYTES, (report.backward or {}).get("saved_bytes")),
        "kernel": (SHAPE, None),
        "stride": (SHAPE, None),
        "params%": (PERCENT, _share(total["params"], total["params"])),
        "macs%": (PERCENT, _share(total["macs"], total["macs"])),
    }
    cells: list[Cell] = [(TEXT, "total"), *(values[name] for name in columns)]
    if verified:
        ok = report.verification.ok and all(row.ok is not False for row in report.layers)
        ran = report.verification.mode != "skipped"  # nothing was compared: no verdict to show
        cells.append((TEXT, ("ok" if ok else "DIFFERS") if ran else ""))
    return cells


def _checked(report: NetworkReport, key: str) -> int | None:
    """torch's total where verification compared it (a stack's), else torch's own count (a model's)."""
    if report.verification is None:
        return None
    measured = {c.key: c.measured for c in report.verification.checks}
    return measured.get(key, report.total[key] if report.command == "model" else None)


def notes(report: NetworkReport, shown: int, versions: bool = True) -> list[str]:
    t = report.total
    lines = [*_input_lines(report)]
    hidden = len(report.layers) - shown
    if report.command == "stack" and report.depth is not None and report.depth < EVERY_LAYER:
        lines.append(_grouping_line(report.depth))
    elif hidden:
        lines.append(f"{hidden} layers deeper than --depth {report.depth} not shown; the totals count them")
    lines.append(
        f"params {t['params']:,} (trainable {t['trainable_params']:,}, non-trainable "
        f"{t['non_trainable_params']:,}); buffers {t['buffers']:,}; MACs {t['macs']:,}; "
        f"FLOPs {t['flops']:,}; bias adds {t['bias_adds']:,}"
    )
    sizes = [
        ("input", t["input_bytes"]),
        ("forward/backward pass", t["forward_backward_bytes"]),
        ("params", t["param_bytes"]),
        ("estimated total", t["total_bytes"]),
    ]
    unit = byte_unit(t["total_bytes"])  # one unit, as down a column
    lines.append(
        "memory (torchsummary's estimate): " + "; ".join(f"{k} {text(BYTES, v, unit)}" for k, v in sizes)
    )
    lines += list(report.notes)
    lines.append(verification_line(report, versions))
    if report.verification and any(_verdict(row) == TORCH_ONLY for row in report.layers):
        lines.append(f"{TORCH_ONLY}: convcalc does not model the layer; its figures are torch's")
    lines += warning_lines([report.verification])
    lines += bench_lines(report.bench, "the whole forward pass")
    lines += backward_lines(report)
    lines += expectation_lines(report.expectations)
    lines.append(NETWORK_CONVENTION)
    return lines


SHOWN_TENSORS = 8  # inputs or outputs a note names one by one; JSON lists them all


def _input_lines(report: NetworkReport) -> list[str]:
    """The input line, every input named where there are several or one is not the model's float, and
    whose default it is where none was given; the outputs where the forward returned more than the one
    tensor the model row shows."""
    ins, outs = report.inputs, report.outputs
    plain = len(ins) <= 1 and all(name == "0" and dtype == report.dtype for name, _, dtype in ins)
    first = f"input {shape_text(report.input_shape)}, {report.dtype}" if plain else "inputs " + _tensors(ins)
    default = f" (default: {report.default_input}; set it with -i)" if report.default_input else ""
    lines = [first + default]
    if len(outs) > 1:
        lines.append(
            f"outputs {_tensors(outs)}: the model row shows the first; --expect outputs.PATH=SHAPE checks any"
        )
    return lines


def _tensors(records: tuple[tuple[str, Any, str], ...]) -> str:
    """'input_ids 1x128 int64; [1] 1x3x8x8 float32', at most SHOWN_TENSORS, then how many more."""
    named = [
        f"{f'[{name}]' if name.isdigit() else name} {shape_text(shape)} {dtype}"
        for name, shape, dtype in records[:SHOWN_TENSORS]
    ]
    more = len(records) - SHOWN_TENSORS
    return "; ".join(named) + (f"; and {more:,} more (all in JSON)" if more > 0 else "")


def _grouping_line(depth: int) -> str:
    """What a stack's rows stand for at a --depth below every layer's."""
    if depth <= 0:
        return "--depth 0: the totals alone"
    rows = "each row is a layer with the batchnorm, activations and dropout after it"
    if depth == 1:
        rows += ", and a run of repeated blocks is one row (N x, its figures summed)"
    return f"--depth {depth}: {rows}; the totals count every layer"


def backward_lines(report: NetworkReport) -> list[str]:
    """--backward's totals in one line, what they count in another."""
    b = report.backward
    if b is None:
        return []
    if b.get("grad_input_macs") is None:
        split = "torch's own count of the whole step: grad input, grad weight and bias grad not told apart"
    else:
        split = (
            f"grad input {b['grad_input_macs']:,}, grad weight {b['grad_weight_macs']:,}; "
            f"bias grad adds {b['bias_grad_adds']:,}"
        )
    unit = byte_unit(b["adam_total_bytes"])
    memory = "; ".join(
        f"{label} {text(BYTES, b[key], unit)}"
        for label, key in (
            ("weights", "weight_bytes"),
            ("grads", "grad_bytes"),
            ("SGD momentum", "sgd_state_bytes"),
            ("Adam state", "adam_state_bytes"),
            ("saved activations", "saved_bytes"),
        )
    )
    return [
        f"--backward: backward MACs {b['backward_macs']:,} ({split})",
        f"training memory: {memory}; total with SGD-momentum {text(BYTES, b['sgd_total_bytes'], unit)}, "
        f"with Adam {text(BYTES, b['adam_total_bytes'], unit)}",
        TRAINING_CONVENTION,
    ]
