"""Values as a shell user types them: one grammar for every size and count, one message per mistake.

What torch accepts convcalc accepts; what torch rejects convcalc rejects, naming the parameter.
"""

import re
import warnings
from pathlib import Path

import pytest

from convcalc import ConvSpec, InvalidSpecError
from convcalc.core.spec import parse_count, parse_padding, parse_size

# int() takes the first five; torch takes none of them (a float channel count is a TypeError).
NOT_INTEGERS = ["6.0", "1_0", "+6", "６", "٣", "1e2", "6 0", "", "six"]
SIZE = "such as 3, or one per dimension: 3x5"
PADDINGS = "one per dimension: 1x2, before+after: 0+1 or 0+1x0+1, or tf-same"


def one_error_line(result) -> str:
    """The single stderr line of a refused command (exit 2, nothing on stdout, no traceback)."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convcalc: error: ")
    return lines[0].removeprefix("convcalc: error: ")


# Every place a count or size is typed, with a valid command around it ({} is the value).
PLACES = [
    ("C_IN", "conv {} 10 3", "a positive integer"),
    ("C_OUT", "conv 6 {} 3", "a positive integer"),
    ("KERNEL", "conv 6 10 {}", f"a positive integer {SIZE}"),
    ("--stride", "conv 6 10 3 --stride {}", f"a positive integer {SIZE}"),
    ("--dilation", "conv 6 10 3 -d {}", f"a positive integer {SIZE}"),
    ("--padding", "conv 6 10 3 -p {}", f"same, valid, an integer such as 1, {PADDINGS}"),
    ("--output-padding", "conv 6 10 3 -T -s 2 --output-padding {}", f"an integer >= 0 {SIZE}"),
    ("--groups", "conv 6 10 3 -g {}", "a positive integer"),
    ("--batch", "conv 6 10 3 -b {}", "a positive integer"),
    ("--input", "conv 6 10 3 -i {}", f"a positive integer {SIZE}"),
    ("--dim", "conv 6 10 3 --dim {}", "1, 2 or 3"),
    ("C_IN", "compare {} 12 3", "a positive integer"),
    ("--groups", "compare 6 12 3 -g {}", "a positive integer"),
    ("--multiplier", "compare 6 12 3 -m {}", "a positive integer"),
]


@pytest.mark.parametrize("text", NOT_INTEGERS)
@pytest.mark.parametrize(
    ("name", "command", "rule"), PLACES, ids=[f"{c.split()[0]} {n}" for n, c, _ in PLACES]
)
def test_every_count_and_size_has_one_grammar(run, name, command, rule, text):
    args = command.split()
    args[args.index("{}")] = text  # one argument, exactly as typed, spaces and all
    line = one_error_line(run(*args, "--no-verify"))
    assert line == f"{name}: got {text!r}; it must be {rule}"


@pytest.mark.parametrize(
    ("command", "line"),
    [
        # click would read these as unknown options; they are negative values of the argument
        ("conv -1 10 3", "C_IN: got -1; it must be a positive integer"),
        ("conv 6 -10 3", "C_OUT: got -10; it must be a positive integer"),
        ("conv 6 10 -3", "KERNEL: got -3; it must be a positive integer"),
        ("conv 6 10 -3x3", "KERNEL: got '-3x3'; it must be a positive integer"),
        ("conv -g 2 -s 2 6 -10 3", "C_OUT: got -10; it must be a positive integer"),
        ("conv --no-bias -T 6 -10 3", "C_OUT: got -10; it must be a positive integer"),
        ("compare -1 12 3", "C_IN: got -1; it must be a positive integer"),
        ("conv 0 10 3", "C_IN: got 0; it must be a positive integer"),
        ("conv 6 10 3 -1", "No such option: -1"),  # a value too many, not a negative argument
        # negative values of options are reported against the option
        ("conv 6 10 3 -s -1", "--stride: got -1; it must be a positive integer"),
        ("conv 6 10 3 -d -2", "--dilation: got -2; it must be a positive integer"),
        ("conv 6 10 3 -b -1", "--batch: got -1; it must be a positive integer"),
        ("conv 6 10 3 -g -2", "--groups: got -2; it must be a positive integer"),
        ("conv 6 10 3 -i -5", "--input: got -5; it must be a positive integer"),
        ("conv 6 10 3 -T -s 2 --output-padding -1", "--output-padding: got -1; it must be an integer >= 0"),
        ("conv 6 10 3 -T -p -1", "--padding: got -1; it must be an integer >= 0"),
        ("compare 6 12 3 -m -1", "--multiplier: got -1; it must be a positive integer"),
        # compare: a group count torch refuses is an error, one that merely does not divide is a row
        ("compare 6 12 3 -g 0", "--groups: got 0; it must be a positive integer"),
        ("compare 6 12 3 -g -2", "--groups: got -2; it must be a positive integer"),
        ("compare 6 12 3 -g 2 -g 0", "--groups: got 0; it must be a positive integer"),
        # --expect: the rule, not "not a number"
        ("conv 6 10 3 --expect params=-5", "--expect params: got '-5'; it must be a number >= 0 such as 270"),
        ("conv 6 10 3 --expect macs=2,3M", "--expect macs: got '2,3M'; it must be a number >= 0"),
        ("conv 6 10 3 --expect params=２７０", "--expect params: got '２７０'; it must be a number >= 0"),
        ("conv 6 10 3 --expect output=-1x10", "--expect output: got '-1x10'; it must be a shape"),
        ("conv 6", "Missing argument 'C_OUT'."),
        ("conv", "Missing argument 'C_IN'."),
    ],
)
def test_bad_values_name_the_parameter(run, command, line):
    assert one_error_line(run(command + " --no-verify")).startswith(line)


def test_a_group_count_that_does_not_divide_is_a_skipped_row(run):
    result = run("compare 6 12 3 -g 4 --no-verify")
    assert result.exit_code == 0
    assert "grouped g=4 skipped: C_IN=6 is not divisible by 4" in " ".join(result.stdout.split())


@pytest.mark.parametrize(
    ("command", "line"),
    [
        # the case: replicate padding crops 8 - 2 x 8 < 0; torch fails in F.pad
        (
            "conv 6 10 3 -p -8 --padding-mode replicate -i 8",
            "--padding: -8 crops the input of 8 to 0 along dimension 1, less than the effective kernel 3; "
            "use -2 or more",
        ),
        # cropped to 2, smaller than the kernel; torch: "Kernel size can't be greater than actual input"
        (
            "conv 6 10 3 -p -3 --padding-mode circular -i 8",
            "--padding: -3 crops the input of 8 to 2 along dimension 1, less than the effective kernel 3; "
            "use -2 or more",
        ),
        # zeros mode: torch says "negative padding is not supported"
        (
            "conv 6 10 3 -p -1",
            "--padding: got -1; it must be an integer >= 0 (a negative padding crops the input, as torch "
            "allows only with --padding-mode reflect, replicate or circular)",
        ),
        # a kernel that does not fit even the uncropped input is still the kernel's fault
        ("conv 6 10 9 -p -1 --padding-mode reflect -i 8", "KERNEL: effective kernel 9 (kernel 9,"),
    ],
)
def test_negative_padding_blames_the_padding(run, command, line):
    assert one_error_line(run(command + " --no-verify")).startswith(line)


def test_negative_padding_torch_accepts_is_accepted_and_verified(run):
    result = run("conv 6 10 3 -p -2 --padding-mode replicate -i 8 -f json")
    assert result.exit_code == 0, result.output
    assert '"output_shape": [\n    1,\n    10,\n    2,\n    2\n  ]' in result.stdout  # (8 - 2 - 2) - 3 + 1


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_padding_accepted_exactly_when_torch_accepts(mode):
    torch = pytest.importorskip("torch")
    for n in range(1, 7):
        for kernel in (1, 3):
            for padding in range(-4, 8):
                layer = torch.nn.Conv1d(1, 1, kernel, padding=padding, padding_mode=mode)
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        shape = tuple(layer(torch.zeros(1, 1, n)).shape[2:])
                except RuntimeError:
                    shape = None
                try:
                    spec = ConvSpec(1, 1, kernel, padding=padding, padding_mode=mode, input_size=n, dim=1)
                except InvalidSpecError as error:
                    assert shape is None, f"torch accepts {mode} padding {padding} of {n}: {error}"
                    blamed = "padding" if padding < 0 and kernel <= n else error.param
                    assert error.param == blamed, error
                else:
                    assert spec.output_spatial == shape, (mode, n, kernel, padding)


def test_documented_mistakes_say_what_the_docs_say(run):
    usage = (Path(__file__).parents[2] / "docs" / "usage.md").read_text()
    section = usage.split("## How values are written")[1].split("\n## ")[0]
    lines = re.search(r"```text\n(.*?)```", section, flags=re.S).group(1).splitlines()
    assert len(lines) >= 8
    for command, said in zip(lines[::2], lines[1::2]):
        result = run(command.removeprefix("$ convcalc ") + " --no-verify")
        assert result.exit_code == 2 and result.stderr.strip() == said, command


def test_parsers_directly():
    assert parse_count(" 64 ", "C_IN") == 64  # surrounding space, as a script may pass it, is fine
    assert parse_size("3X5", "KERNEL") == (3, 5)
    assert parse_size("0", "--output-padding", minimum=0) == 0
    assert parse_padding("-1x2") == (-1, 2)
    assert parse_padding(" Same ") == "same"
    with pytest.raises(InvalidSpecError, match=r"^C_IN: a value has more than 4,300 digits"):
        parse_count("9" * 4301, "C_IN")
    with pytest.raises(InvalidSpecError, match=r"^KERNEL: got '3 x 5'"):
        parse_size("3 x 5", "KERNEL")


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            "conv 6 10 3 --dim 3 -i 8x8",
            "--input: 8x8 has 2 values but the layer is 3-D; write 3 values such as 8x8x8",
        ),
        (
            "conv 6 10 3 --dim 2 -p 1x1x1",
            "--padding: 1x1x1 has 3 values but the layer is 2-D; write 2 values such as 1x1",
        ),
    ],
)
def test_a_size_with_the_wrong_dimensions_is_shown_in_its_own_values(run, args, said):
    result = run(args + " --no-verify")
    assert result.exit_code == 2 and said in result.stderr


def test_binary_units_are_for_bytes_only(run):
    refused = run("conv 6 10 3 --no-verify --expect macs=13.3MiB")
    assert refused.exit_code == 2 and "KiB, MiB and GiB are for the *_bytes figures" in refused.stderr
    assert run("conv 6 10 3 --no-verify --expect total_bytes=4.91MiB").exit_code == 0
