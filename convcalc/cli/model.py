"""`convcalc model`: a torch model's layers and totals; imports and runs the user's code."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Annotated, Any

import typer

from ..api import inputs_from as inputs_from_target
from ..api import model_report
from ..core.errors import ConvCalcError
from ..core.inputs import parse_arg, parse_input_spec
from ..core.named import named_form
from ..core.network import NetworkReport
from ..core.spec import parse_count
from ..measure.target import set_apart_loaded
from . import emit
from .command import Command, command_app
from .network import ALL_DEFAULT, Columns, columns_option, depth_option, network_outcome
from .options import (
    BackwardOpt,
    Batch,
    BenchOpt,
    DType,
    Expect,
    Format,
    FormatOpt,
    PeakGbps,
    PeakTflops,
    no_digit_limit,
    speed,
)
from .output import Outcome
from .progress import progress_bar

command = command_app()  # this command alone; cli/group.py loads it when it runs


@command.command(
    cls=Command,
    short_help="A torch model's layers and totals; imports and runs your code.",
    epilog="\b\nExamples: convcalc model mypkg.nets:build -i 3x224x224 --expect 'macs<=600M'\n"
    "          convcalc model hf:path/to/config.json",
)
def model(
    target: Annotated[
        str,
        typer.Argument(
            metavar="TARGET",
            help="package.module:callable or path/to/file.py:callable, returning an nn.Module; "
            "convcalc imports that module and calls it: this runs your code. Or a model by name, built "
            "by its library without weights and without the network: torchvision:NAME, timm:NAME, "
            "hf:CONFIG (a config.json, or a model id in the local Hugging Face cache).",
            show_default=False,
        ),
    ],
    input_size: Annotated[
        list[str] | None,
        typer.Option(
            "--input",
            "-i",
            metavar="[NAME=]SHAPE[:DTYPE]",
            help="An input per sample, channels first: 3x224x224. Again for the next positional input; "
            "NAME= for a keyword one (mask=128); :DTYPE for ids or masks (input_ids=128:int64, "
            "mask=128:bool). Integers are zeros, bools true, floats zeros in --dtype. A model by name "
            "has a default: the input its library names (timm's input_size, Hugging Face's main input).",
            show_default=False,
        ),
    ] = None,
    args: Annotated[
        list[str] | None,
        typer.Option(
            "--arg",
            metavar="NAME=VALUE",
            help="A keyword argument that is not a tensor, VALUE a Python literal read as data, never run: "
            "use_cache=False, timestep=10, mode='fast'.",
            show_default=False,
        ),
    ] = None,
    inputs_from: Annotated[
        str | None,
        typer.Option(
            "--inputs",
            metavar="FILE.py:callable",
            help="Make the inputs with your callable (package.module:callable also): it returns a tensor, "
            "a tuple, a dict of keyword inputs or (args, kwargs), made on --device. This runs your code.",
            show_default=False,
        ),
    ] = None,
    batch: Batch = "1",
    dtype: Annotated[
        DType | None,
        typer.Option(
            "--dtype",
            metavar="DTYPE",
            help="Convert the model to this element type.",
            show_default="the model's",
        ),
    ] = None,
    device: Annotated[
        str,
        typer.Option(metavar="DEVICE", help="meta (no weights allocated), cpu, cuda, cuda:N, mps or auto."),
    ] = "meta",
    depth: Annotated[str, typer.Option(metavar="N", help="Show modules nested up to N deep.")] = "3",
    fmt: FormatOpt = Format.table,
    expect: Expect = None,
    columns: Columns = ALL_DEFAULT,
    bench: BenchOpt = False,
    peak_tflops: PeakTflops = None,
    peak_gbps: PeakGbps = None,
    backward: BackwardOpt = False,
) -> Outcome:
    """A torch model, built by your code (or by name, by torchvision, timm or transformers) and traced
    once (on the meta device unless --device says otherwise): every module's figures, convcalc's beside
    torch's where convcalc models the layer, and torch's own totals. Only this command imports and runs
    code you name."""
    no_digit_limit()
    chosen = columns_option(columns, backward, "model")
    given = [parse_input_spec(text) for text in input_size or ()]
    kwargs = _arguments(args or ())
    count = parse_count(batch, "batch")
    from ..measure.target import check_target  # no torch: its form, and its file

    check_target(target)  # TARGET's own mistakes first, before what it would be given
    if inputs_from is not None:
        if given:
            raise ConvCalcError("--inputs: your callable makes every input; leave out --input")
        if count != 1:
            raise ConvCalcError("--inputs: your callable makes the batch; leave out --batch")
        check_target(inputs_from, "--inputs")
    elif not given and not named_form(target):
        raise ConvCalcError("--input: required for a model, e.g. --input 3x224x224 (channels first)")
    make = partial(
        _report,
        target,
        inputs_from,
        inputs=given,
        kwargs=kwargs,
        batch=count,
        dtype=dtype and dtype.value,
        device=device,
        expect=expect or (),
        depth=depth_option(depth),
        **speed(bench, peak_tflops, peak_gbps),
        backward=backward,
    )
    return network_outcome(make, fmt, chosen)


def _report(target: str, inputs_from: str | None, **options: Any) -> NetworkReport:
    """The report, the --inputs callable imported first (running the user's code, as TARGET's does)."""
    if emit.OWNS_PROCESS:  # the convcalc program, not a caller's process
        set_apart_loaded()
    if inputs_from is not None:
        options["inputs"] = inputs_from_target(inputs_from)
    with progress_bar():
        return model_report(target, **options)


def _arguments(texts: Sequence[str]) -> dict[str, Any]:
    """--arg NAME=VALUE each as a keyword argument; a name given twice is refused."""
    kwargs: dict[str, Any] = {}
    for text in texts:
        name, value = parse_arg(text)
        if name in kwargs:
            raise ConvCalcError(f"--arg: {name!r} is given twice; keep one")
        kwargs[name] = value
    return kwargs
