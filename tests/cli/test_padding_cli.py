"""tf-same, per-side padding and --output-size as a shell user types them, in conv, compare, stack and sweep:
the figures, the notes, the JSON, and one line (exit 2) for every mistake."""

import csv
import io
import json

import pytest

from convcalc.core.results import FIGURES
from convcalc.core.sweep import SETTINGS


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("convcalc: error: ")


@pytest.mark.parametrize(
    ("command", "line"),
    [
        ("conv 3 8 3 -p 0+1+2", "--padding: got '0+1+2'; it must be same, valid, an integer"),
        ("conv 3 8 3 -p 0+ -i 8", "--padding: got '0+'"),
        ("conv 3 8 3 -p +1", "--padding: got '+1'"),
        ("conv 3 8 3 -p 0+1x0+1x0+1 -i 8x8", "--dim: sizes disagree on the number of dimensions (--input"),
        ("conv 3 8 3 -p 0+1x0+1x0+1 --dim 2", "--padding: 0+1x0+1x0+1 has 3 values but the layer is 2-D"),
        ("conv 3 8 3 -p -1+1", "--padding: got -1; it must be an integer >= 0 (a negative padding crops"),
        ("conv 3 8 3 -p 0+4 -i 4 --padding-mode reflect", "--padding: 4 is too wide for reflect padding"),
        ("conv 3 8 3 -p 0+" + "9" * 4301, "--padding: a value has more than 4,300 digits"),
        ("conv 3 8 3 -T -p tf-same", "--padding: 'tf-same' works only for convolutions; for a transposed"),
        ("conv 3 8 3 -T -p 0+1", "--padding: 0+1x0+1: a transposed convolution pads both sides alike"),
        ("conv 3 8 3 -p TF-SAME -d 0", "--dilation: got 0"),
        ("conv 3 8 3 --output-size 8", "--output-size: only transposed convolutions have it; add -T"),
        ("conv 3 8 3 -T --output-size 0", "--output-size: got 0; it must be a positive integer"),
        ("conv 3 8 3 -T --output-size -4", "--output-size: got -4; it must be a positive integer"),
        ("conv 3 8 3 -T --output-size 8x8x8 -i 8x8", "--dim: sizes disagree on the number of dimensions"),
        ("conv 3 8 3 -T --output-size 16.0", "--output-size: got '16.0'; it must be a positive integer"),
        (
            "conv 3 8 3 -T -s 2 -i 7 --output-size 30",
            "--output-size: requested 30x30, but valid sizes range from 15x15 to 16x16 for an input of 7x7",
        ),
        (
            "conv 3 8 3 -T -s 2 -i 7 --output-size " + "9" * 40,
            "--output-size: requested a size of about 10^39, but valid sizes range from 15x15 to 16x16",
        ),
        (
            "conv 3 8 3 -T -s 2 -i 7 --output-size 16 --output-padding 1",
            "--output-size: it sets the output padding; give --output-size or --output-padding, not both",
        ),
        ("compare 6 12 3 -p 1+1+1", "--padding: got '1+1+1'"),
        ("sweep --c-in 4 --c-out 8 --kernel 3 -p 0,0+1+2", "--padding: got '0+1+2'"),
        ("sweep --c-in 4 --c-out 8 --kernel 3 --output-size abc", "--output-size: got 'abc'"),
        ("sweep --c-in 4 --c-out 8 --kernel 3 --output-size 3:1", "--output-size: '3:1' is empty"),
        ("stack 'conv out=8 kernel=3 padding=0+1+2' -i 3x8x8", "layer 1 (conv): padding: got '0+1+2'"),
        ("stack 'conv out=8 kernel=3 padding=-1+1' -i 3x8x8", "layer 1 (conv): padding: got -1"),
        (
            "stack 'conv out=8 kernel=3 stride=2 transposed=true output_size=90' -i 3x16x16",
            "layer 1 (conv1, conv): output_size: requested 90x90, but valid sizes range from 33x33 to 34x34",
        ),
        (
            "stack 'depthwise kernel=3 padding=tf-same output_size=3' -i 3x16x16",
            "layer 1 (depthwise): unknown field 'output_size'",
        ),
    ],
)
def test_every_mistake_is_one_line_and_exit_2(run, command, line):
    assert one_error_line(run(command)).startswith(line)


def test_tf_same_in_conv_notes_json_and_expect(run):
    table = run("conv 3 8 3 -s 2 -p tf-same -i 224 --no-verify --expect output=1x8x112x112")
    assert table.exit_code == 0
    assert (
        table.stdout.splitlines()[0]
        == "ZeroPad2d((0, 1, 0, 1)) -> Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2))"
    )
    assert (
        "padding tf-same (TensorFlow's 'SAME': output ceil(input / stride)) pads 0+1x0+1 (before+after where "
        "the two differ)" in " ".join(table.stdout.split())
    )
    data = json.loads(run("conv 3 8 3 -s 2 -p tf-same -i 7x8 --no-verify -f json").stdout)
    assert data["settings"]["padding"] == "tf-same"
    # 7: out 4, total (4 - 1) x 2 + 3 - 7 = 2; 8: out 4, total 1
    assert data["pads"] == [[1, 1], [0, 1]] and data["output_shape"] == [1, 8, 4, 4]
    plain = json.loads(run("conv 3 8 3 -p 1 -i 8 --no-verify -f json").stdout)
    assert "pads" not in plain and "output_size" not in plain["settings"]


def test_output_size_in_conv(run):
    result = run("conv 4 6 3 -T -s 2 -p 1 -i 6x4 --output-size 12x8 --no-verify --explain")
    assert result.exit_code == 0
    assert (
        "output_size 12x8: output_padding 1x1, as torch's forward(x, output_size=...) sets it"
        in result.stdout
    )
    assert "  dim 1: 12 - ((6 - 1) x 2 - 2 x 1 + 1 x (3 - 1) + 1) = 1" in result.stdout
    data = json.loads(run("conv 4 6 3 -T -s 2 -p 1 -i 6x4 --output-size 12x8 --no-verify -f json").stdout)
    assert data["settings"]["output_size"] == [12, 8] and data["settings"]["output_padding"] == [1, 1]


def test_per_side_padding_in_compare(run):
    result = run("compare 6 12 3 -s 2 -p 0+1 -i 8 --no-verify -f csv")
    assert result.exit_code == 0
    rows = {row["variant"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    # (8 + 0 + 1 - 3) // 2 + 1 = 4; the pointwise variant takes no padding: (8 - 1) // 2 + 1 = 4
    assert rows["standard"]["output_shape"] == "1x12x4x4" and rows["dwsep"]["output_shape"] == "1x12x4x4"
    title = run("compare 6 12 3 -s 2 -p tf-same -i 8 --no-verify").stdout.splitlines()[0]
    assert title == "compare: ZeroPad2d((0, 1, 0, 1)) -> Conv2d(6, 12, kernel_size=(3, 3), stride=(2, 2))"


def test_stack_specs_take_every_padding_form(run, tmp_path):
    spec = tmp_path / "ported.toml"
    spec.write_text(
        'input = "3x16x16"\n'
        '[[layer]]\nkind = "conv"\nout = 8\nkernel = 3\nstride = 2\npadding = "tf-same"\n'
        '[[layer]]\nkind = "dwsep"\nout = 16\nkernel = 3\nstride = 2\npadding = [[0, 1], [1, 1]]\n'
        '[[layer]]\nkind = "conv"\nout = 4\nkernel = 3\nstride = 2\ntransposed = true\n'
        "output_size = [9, 10]\n"
    )
    data = json.loads(run(f"stack {spec} -f json").stdout)
    shapes = {layer["name"]: layer["output_shape"] for layer in data["layers"]}
    # 16 -> ceil(16 / 2) = 8 -> (8 + 0 + 1 - 3) // 2 + 1 = 4 by (8 + 1 + 1 - 3) // 2 + 1 = 4 -> 9x10, of
    # (4 - 1) x 2 + 3 = 9 to 10
    assert shapes == {
        "conv1": [1, 8, 8, 8],
        "dwsep1.dw": [1, 8, 4, 4],
        "dwsep1.pw": [1, 16, 4, 4],
        "conv2": [1, 4, 9, 10],
    }
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert layers["conv1"]["settings"]["padding"] == "tf-same" and layers["conv1"]["pads"] == [[0, 1], [0, 1]]
    assert layers["dwsep1.dw"]["settings"]["padding"] == [[0, 1], [1, 1]]
    assert layers["conv2"]["settings"]["output_size"] == [9, 10]
    assert data["ok"] and all(layer["ok"] for layer in data["layers"])  # torch built and ran every one
    inline = run("stack 'conv out=8 kernel=3 stride=2 padding=0+1; relu' -i 3x8x8 --no-verify -f json")
    assert json.loads(inline.stdout)["layers"][0]["settings"]["padding"] == "0+1"


def test_sweep_writes_per_side_and_output_size_as_given(run):
    result = run("sweep --c-in 4 --c-out 8 --kernel 3 -s 2 -p 0+1,tf-same,1x0+1 -i 7")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [*SETTINGS, *FIGURES, "reason"]  # no output_size column unless given
    # 7 + 0 + 1 - 3 = 5 // 2 + 1 = 3; tf-same: ceil(7 / 2) = 4; 1x0+1: 4 by 3
    assert [(r["padding"], r["output_shape"]) for r in rows] == [
        ("0+1", "1x8x3x3"),
        ("tf-same", "1x8x4x4"),
        ("1x0+1", "1x8x4x3"),
    ]
    jsonl = run("sweep --c-in 4 --c-out 8 --kernel 3 -s 2 -p 0+1,2 -i 7 -f jsonl").stdout.splitlines()
    assert [json.loads(line)["padding"] for line in jsonl] == ["0+1", 2]
    sized = run("sweep --c-in 4 --c-out 8 --kernel 3 -s 2 --transposed yes -i 7 --output-size 15:17")
    rows = list(csv.DictReader(io.StringIO(sized.stdout)))
    assert list(rows[0])[: len(SETTINGS) + 1] == [*SETTINGS, "output_size"]
    assert [(r["output_size"], r["output_shape"]) for r in rows[:2]] == [
        ("15", "1x8x15x15"),
        ("16", "1x8x16x16"),
    ]
    assert rows[2]["reason"].startswith("--output-size: requested 17x17, but valid sizes range from 15x15")
    verified = run("sweep --c-in 4 --c-out 8 --kernel 3 -s 2 -p 0+1,tf-same -i 7 --verify -j 1")
    assert verified.exit_code == 0 and all(
        r["verified"] == "ok" for r in csv.DictReader(io.StringIO(verified.stdout))
    )


@pytest.mark.parametrize(
    "command",
    [
        "conv 3 8 3 -s 2 -p tf-same -i 8 --no-verify -f json",
        "conv 4 6 3 -T -s 2 -i 7 --output-size 16 --no-verify -f json",
        "stack 'conv out=8 kernel=3 stride=2 padding=0+1; conv out=4 kernel=2 stride=2 transposed=true "
        "output_size=9' -i 3x8x8 --no-verify -f json",
    ],
)
def test_the_new_json_keys_are_documented(run, command):
    from pathlib import Path

    schema = (Path(__file__).parents[2] / "docs" / "json-schema.md").read_text()
    text = run(command).stdout
    for key in ("pads", "output_size"):
        if f'"{key}"' in text:
            assert f"`{key}`" in schema
    assert '"pads"' in text or '"output_size"' in text


PROBE = """
import sys
from convcalc.cli import main
sys.argv = ["convcalc"] + sys.argv[1:]
try:
    main()
except SystemExit:
    pass
print("torch" in sys.modules, file=sys.stderr)
"""


@pytest.mark.slow  # fresh interpreters
@pytest.mark.parametrize(
    "command",
    [
        "conv 3 8 3 -s 2 -p tf-same --explain",
        "conv 3 8 3 -p 0+1x1 --padding-mode reflect -i 8 -f latex",
        "conv 4 6 3 -T -s 2 -i 7 --output-size 16 -f json",
        "stack --preset mobilenet_v1 --depth 1 --columns kind,kernel,stride,params%,macs% -f latex",
    ],
)
def test_the_new_forms_answer_without_torch(command):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", PROBE, *command.split(), "--no-verify"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout
    assert done.stderr.strip().splitlines()[-1] == "False"
