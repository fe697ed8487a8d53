"""The one place the library's words meet the command line's: each setting a message names (core/errors'
term()) as the option the user typed. `name=True` is a flag given alone (-T for transposed=True)."""

from __future__ import annotations

from ..core.errors import ConvCalcError

FLAGS = {
    # conv's and compare's layer
    "in_channels": "C_IN",
    "out_channels": "C_OUT",
    "kernel_size": "KERNEL",
    "stride": "--stride",
    "padding": "--padding",
    "dilation": "--dilation",
    "groups": "--groups",
    "output_padding": "--output-padding",
    "output_size": "--output-size",
    "padding_mode": "--padding-mode",
    "input_size": "--input",
    "batch": "--batch",
    "dtype": "--dtype",
    "dim": "--dim",
    "transposed=True": "-T",
    "multiplier": "--multiplier",
    "act": "--act",
    # every command's
    "device": "--device",
    "expect": "--expect",
    "fmt": "-f",
    "explain=True": "--explain",
    "bench": "--bench",
    "bench=True": "--bench",
    "backward": "--backward",
    "backward=True": "--backward",
    "peak_tflops": "--peak-tflops",
    "peak_gbps": "--peak-gbps",
    "plot": "--plot",
    # stack's and model's
    "spec": "SPEC",
    "preset": "--preset",
    "columns": "--columns",
    "depth": "--depth",
    # model's inputs
    "inputs": "--input",
    "inputs=callable": "--inputs",
    "args": "--arg",
    # sweep's settings, each its option
    "c_in": "--c-in",
    "c_out": "--c-out",
    "kernel": "--kernel",
    "input": "--input",
    "bias": "--bias",
    "transposed": "--transposed",
    "max_rows": "--max-rows",
    "jobs": "--jobs",
    "plot_x": "--plot-x",
    "plot_y": "--plot-y",
    # check's
    "config": "--config",
    "snapshot": "--snapshot",
}


def message(error: ConvCalcError) -> str:
    """The error's message as the command line says it."""
    return error.in_words(FLAGS)
