"""The public functions the CLI calls, named as its commands: conv_report(), compare_report(),
stack_report(), model_report() and sweep_rows(), each a whole pipeline (analysis, verification in
torch, --expect) as one call, for Python users and the CLI.

Each function imports what only it needs when it runs (and torch only to verify), so that a command
pays for its own work alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .core.analysis import analyze
from .core.errors import InvalidSpecError, SpecFileError, term
from .core.expect import check_expectations
from .core.modules import as_spec
from .core.results import Report
from .core.spec import ConvSpec, IntOrSize, Size, check_device

if TYPE_CHECKING:
    from .core.compare import CompareReport
    from .core.network import NetworkReport
    from .core.stack_grammar import StackSpec
    from .core.sweep import SweepRows


def conv_report(
    spec: ConvSpec | Any,
    *,
    input_size: IntOrSize | None = None,
    batch: int | None = None,
    dtype: str | None = None,
    device: str = "cpu",
    verify: bool = True,
    full: bool = False,
    expect: Sequence[str] = (),
    explain: bool = False,
    bench: bool = False,
    peak_tflops: float | None = None,
    peak_gbps: float | None = None,
    backward: bool = False,
) -> Report:
    """Analyze spec; unless verify is False, confirm it in torch on device; check expectations; with
    bench, time its forward pass there (peak_tflops and peak_gbps, the device's, give the roofline).

    spec is a ConvSpec or a torch convolution module (nn.Conv2d(3, 4, 3), ...), whose settings are read
    into one; input_size, batch and dtype, when given, replace the spec's (a module's dtype is its weight's).
    """
    spec = as_spec(spec, input_size=input_size, batch=batch, dtype=dtype)
    check_device(device)
    peaks = _peaks(bench, device, peak_tflops, peak_gbps)
    result = analyze(spec)
    training = None
    if backward:
        from .core.backward import conv_training

        training = conv_training(result)
    figures = result.figures() | (training.figures() if training else {})
    expectations = check_expectations(figures, list(expect))  # bad clauses fail before torch loads
    verification = None
    if verify:
        from .measure.verify import verify as run_verify  # imports torch lazily, inside its functions

        verification = run_verify(result, device=device, full=full)
        if training and verification.mode != "skipped":
            from .measure.backward import conv_training_checks

            checks, where = conv_training_checks(result, training, device, full)
            verification = verification.with_training_step(checks, where)
    timed = None
    if peaks is not None:
        from .measure.bench import bench_conv

        timed = bench_conv(result, device, full, peaks)
    explanation: tuple[str, ...] = ()
    if explain:
        from .core.explain import explain as explain_lines

        explanation = explain_lines(result)
    return Report(result, verification, expectations, explanation, timed, training)


def _peaks(bench: bool, device: str, peak_tflops: float | None, peak_gbps: float | None) -> Any:
    """--bench's peaks (core.bench.bench_settings), its module imported only where a peak or --bench is."""
    if not bench and peak_tflops is None and peak_gbps is None:
        return None
    from .core.bench import bench_settings

    return bench_settings(bench, device, peak_tflops, peak_gbps)


def compare_report(
    base: ConvSpec,
    *,
    groups: list[int] | None = None,
    multiplier: int = 1,
    bn: bool = False,
    act: str | None = None,
    device: str = "cpu",
    verify: bool = True,
    full: bool = False,
    expect: Sequence[str] = (),
    bench: bool = False,
    peak_tflops: float | None = None,
    peak_gbps: float | None = None,
    backward: bool = False,
) -> CompareReport:
    """Analyze every variant of base; unless verify is False, build each in torch on device; with bench,
    time each variant's forward pass there; with backward, add a training step's figures."""
    from .core.backward import variant_training
    from .core.compare import CompareReport, VariantRow
    from .core.variants import analyze_variant, build_variants

    check_device(device)
    peaks = _peaks(bench, device, peak_tflops, peak_gbps)
    variants = build_variants(base, groups, multiplier, bn, act)
    results = [None if v.skipped else analyze_variant(v) for v in variants]
    trainings = [variant_training(r, True, device) if r and backward else None for r in results]
    rows = tuple(VariantRow(v, r, None, None, t) for v, r, t in zip(variants, results, trainings))
    draft = CompareReport(base, rows, verify)
    expectations = check_expectations(draft.figures(), list(expect))  # bad clauses fail before torch loads
    verifications = [None] * len(variants)
    if verify:
        from .measure.verify import verify_variant

        verifications = [r and verify_variant(r, device=device, full=full) for r in results]
        if backward:
            verifications = [_with_training(r, v, device, full) for r, v in zip(results, verifications)]
    timed = [None] * len(variants)
    if peaks is not None:
        from .measure.bench import bench_variant

        timed = [r and bench_variant(r, device, full, peaks) for r in results]
    rows = tuple(VariantRow(*row) for row in zip(variants, results, verifications, timed, trainings))
    return CompareReport(base, rows, verify, expectations)


def _with_training(result: Any, verification: Any, device: str, full: bool) -> Any:
    """A variant's verification with its training step's checks added, where it ran at all."""
    if result is None or verification.mode == "skipped":
        return verification
    from .measure.backward import variant_training_checks

    checks, where = variant_training_checks(result, device, full)
    return verification.with_training_step(checks, where)


def stack_report(
    spec: str | StackSpec | None = None,
    *,
    preset: str | None = None,
    input_size: str | Size | None = None,
    batch: int = 1,
    dtype: str = "float32",
    device: str = "cpu",
    verify: bool = True,
    full: bool = False,
    expect: Sequence[str] = (),
    title: str | None = None,
    bench: bool = False,
    peak_tflops: float | None = None,
    peak_gbps: float | None = None,
    backward: bool = False,
    depth: int | None = None,
) -> NetworkReport:
    """Analyze a stack (a .toml or .json file, an inline string, a parsed StackSpec, or a shipped preset
    by name: mobilenet_v1, vgg16) on an input
    (C, *spatial) -- input_size, else the spec's own; unless verify is False, build it in torch as one
    nn.Sequential on device and compare every layer; with bench, time its forward pass there; with
    backward, add a training step's figures (the batch needing no gradient), per layer and in total.
    depth, for its table: 2, a layer with the batchnorm, activations and dropout after it per row; 1, with
    runs of repeated blocks as one row; 0, the totals alone; None (or 3 and more), every layer."""
    from .core.backward import stack_training
    from .core.network import NetworkReport, stack_rows, stack_totals, with_backward
    from .core.stack_analysis import analyze_stack
    from .core.stack_grammar import PRESETS, StackSpec, load_stack, parse_input, parse_stack
    from .core.stack_grammar import preset as read_preset

    if (spec is None) == (preset is None):
        both = spec is not None
        raise SpecFileError(
            f"stack: give {term('spec')} or {term('preset')} NAME"
            + (", not both" if both else f" ({', '.join(PRESETS)})")
        )
    if isinstance(spec, StackSpec):
        stack = spec
    else:
        stack = load_stack(spec) if spec is not None else parse_stack(read_preset(preset), "toml")
    shape = parse_input(input_size) if input_size is not None else stack.input_shape
    if shape is None:
        raise InvalidSpecError(
            "input_size", f"the spec names no input; give one, e.g. {term('input_size')} 3x224x224"
        )
    check_device(device)
    if depth is not None and (type(depth) is not int or depth < 0):
        raise InvalidSpecError("depth", f"got {depth!r}; it must be an integer >= 0")
    peaks = _peaks(bench, device, peak_tflops, peak_gbps)
    result = analyze_stack(stack.layers, shape, batch, dtype)
    name = title or preset or (spec if isinstance(spec, str) and len(spec) <= 60 else "stack")
    report = NetworkReport("stack", name, result.input_shape, dtype, stack_rows(result), stack_totals(result))
    report = replace(report, depth=depth)
    if backward:
        report = with_backward(report, *stack_training(result, device))
    report = replace(report, expectations=_expected(report, expect))
    if peaks is not None:  # bad --expect clauses and peaks have failed before torch loads
        from .measure.bench import bench_stack

        report = replace(report, bench=bench_stack(result, device, full, peaks))
    if not verify:
        return report
    from .measure.stack import verify_stack

    verification, measured = verify_stack(result, device=device, full=full)
    if backward and verification.mode != "skipped":
        from .measure.backward import stack_training_checks

        checks, per_layer, ran_on, where = stack_training_checks(result, device, full)
        if ran_on:  # convcalc's figures by torch's rules where it ran (half-precision BatchNorm differs)
            report = with_backward(report, *stack_training(result, ran_on))
        measured = {name: {**figures, **per_layer.get(name, {})} for name, figures in measured.items()}
        verification = verification.with_training_step(checks, where)
    rows = tuple(replace(row, measured=measured.get(row.name)) for row in report.layers)
    return replace(report, layers=rows, verification=verification)


def model_report(
    model: Any,
    *,
    input_size: str | Size | None = None,
    inputs: Any = None,
    kwargs: Mapping[str, Any] | None = None,
    batch: int = 1,
    dtype: str | None = None,
    device: str = "meta",
    expect: Sequence[str] = (),
    depth: int | None = 3,
    title: str | None = None,
    bench: bool = False,
    peak_tflops: float | None = None,
    peak_gbps: float | None = None,
    backward: bool = False,
) -> NetworkReport:
    """Trace a torch module (or TARGET, `package.module:callable` or `file.py:callable`, built here on
    device; meta allocates no weights) on its inputs and count every layer; the totals are torch's own.

    The forward is called with input_size, one positional input (C, *spatial), or with inputs, as
    torchinfo's input_data: a tensor (used as it is), `[NAME=]SHAPE[:DTYPE]` text ('3x224x224',
    'input_ids=128:int64'), a list of those (positional, then keyword), a dict of keyword inputs, or a
    callable returning a tensor, a tuple, a dict or (args, kwargs), called under the device. The batch goes
    before each shape given as text; integer inputs are zeros, bool ones all true, floats zeros in the
    model's dtype. kwargs: the forward's other keyword arguments (use_cache=False, timestep=10).

    A module given is run where its parameters are; dtype, when given, converts it. With bench, its
    forward pass is timed where it ran for real (not on meta); with backward, torch's count of a training
    step is added (the batch needing no gradient)."""
    from .core.inputs import make_request
    from .core.named import named_form
    from .measure.model import run_model

    request = make_request(input_size, inputs, kwargs, batch)
    if not request.items and request.maker is None and not (isinstance(model, str) and named_form(model)):
        raise InvalidSpecError("inputs", "required: a shape per sample, e.g. 3x224x224 (channels first)")
    if isinstance(model, str):
        check_device(device)
    peaks = _peaks(bench, device if isinstance(model, str) else "", peak_tflops, peak_gbps)
    report = run_model(model, request, dtype, device, title, depth, peaks, backward)
    return replace(report, expectations=_expected(report, expect))


def inputs_from(target: str) -> Any:
    """The callable `file.py:callable` or `package.module:callable` names, for model_report(inputs=...):
    its module is imported, which runs that code."""
    from .measure.target import load_target

    return load_target(target, term("inputs=callable"))


def sweep_rows(
    *,
    c_in: Any,
    c_out: Any,
    kernel: Any,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: Any = 1,
    bias: Any = True,
    transposed: Any = False,
    output_padding: Any = 0,
    padding_mode: Any = "zeros",
    input: Any = 224,  # noqa: A002 -- the setting's name, as --input and the rows' column name it
    batch: Any = 1,
    dtype: Any = "float32",
    dim: Any = None,
    output_size: Any = None,
    verify: bool = False,
    jobs: int | None = None,
    max_rows: int | None = None,
    words: Mapping[str, str] | None = None,
) -> SweepRows:
    """Every combination of conv's settings, one row each: a lazy iterator of SweepRow (its settings, in
    AXES' order; the ConvResult, or None and the reason ConvSpec gives), in constant memory.

    Each setting takes a value (64, (3, 5), 'same', 'dw' for depthwise groups, True), a list of values,
    a range, or text in the command's grammar ('8:64:8', '1,3x5', 'on,off'); the size is known before any
    row is made (rows.count), and refused past max_rows (100,000,000 unless given). With verify, each valid
    row is built on the meta device in a pool of jobs processes (at most the CPUs and what memory holds)
    and row.verified holds torch's verdict; rows.mismatches counts the disagreements seen so far.
    output_size: a transposed layer's output sizes, which set its output padding (a column only if given).
    words: how a reason names the settings (the command passes its options), else by their names.
    """
    from .core.sweep import MAX_ROWS, SweepRows, parse_sweep

    settings = {
        "c_in": c_in, "c_out": c_out, "kernel": kernel, "stride": stride, "padding": padding,
        "dilation": dilation, "groups": groups, "bias": bias, "transposed": transposed,
        "output_padding": output_padding, "padding_mode": padding_mode, "input": input, "batch": batch,
        "dtype": dtype, "dim": dim, "output_size": output_size,
    }  # fmt: skip
    sweep = parse_sweep(settings, MAX_ROWS if max_rows is None else max_rows)
    if not verify:
        return SweepRows(sweep, words)
    from .measure.sweep import pool_size, verify_rows

    workers = pool_size(jobs)
    return SweepRows(sweep, words, lambda rows: verify_rows(rows, workers))


def _expected(report: NetworkReport, expect: Sequence[str]) -> tuple[Any, ...]:
    """The --expect clauses checked; figures() names every figure of every row (a dict of a million
    keys for a model of 100,000 modules), so it is made only when something is expected."""
    return check_expectations(report.figures(), list(expect)) if expect else ()
