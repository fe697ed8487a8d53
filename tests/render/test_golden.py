"""Golden files of every output format, rendered at a fixed width.

After a deliberate change of output, regenerate with `pytest tests/render/test_golden.py --update-golden`
and review the diff.
"""

from pathlib import Path

import pytest

GOLDEN = Path(__file__).parents[1] / "golden"

STACK = (  # every kind of layer, verified
    "'conv out=8 kernel=3 padding=1; bn; relu; dwsep out=16 kernel=3 stride=2; maxpool kernel=2; "
    "conv out=8 kernel=3 dilation=2 groups=2 padding=2; conv out=4 kernel=2 stride=2 transposed=true; "
    "adaptive_avgpool out=1; flatten; linear out=10'"
)
CASES = {  # as typed in a shell; the run fixture splits each
    "grouped_no_verify.table.txt": "conv 6 10 3 -g 2 --no-bias --no-verify",
    "grouped.table.txt": "conv 6 10 3 -g 2 --no-bias",
    "grouped_explain.table.txt": "conv 6 10 3 -g 2 --no-bias --no-verify --explain",
    "transposed.json": "conv 4 6 3 -T -s 2 --output-padding 1 -g 2 -i 7 -b 2 -f json",
    "transposed.csv": "conv 4 6 3 -T -s 2 -i 7 -f csv",
    "dilated.markdown.md": "conv 3 4 3 -d 2 -p 2 -f markdown",
    "conv3d.latex.tex": "conv 8 16 3x3x3 -s 2 -i 16 -f latex",
    "compare.table.txt": "compare 6 12 3 --no-bias",
    "compare_bn.markdown.md": "compare 3 4 3 -p 1 --bn --act relu -m 2 -f markdown",
    "compare_skip.json": "compare 6 10 3 -g 2 -g 4 -i 8 -f json",
    "compare.latex.tex": "compare 8 8 3 -p 1 -i 16 --no-verify -f latex",
    # Papers: verified (versions left out of LaTeX), a skipped variant, `->` and --explain escaped.
    "compare_verified.latex.tex": "compare 64 128 3 -p 1 -i 56 --no-bias -g 2 -g 32 -g 3 -f latex",
    "compare_bn_act.latex.tex": "compare 3 4 3 -p 1 --bn --act relu -i 8 --no-verify -f latex",
    "transposed_explain.latex.tex": "conv 4 6 3 -T -s 2 -i 7 --explain -f latex",
    "compare_bn.csv": "compare 6 12 3 -g 2 -g 5 -i 8 --bn -f csv",
    # Networks: one stack of every kind verified, presets on meta (no free-memory figure in the reason).
    "stack.table.txt": "stack " + STACK + " -i 3x32x32",
    "stack.csv": "stack 'conv out=8 kernel=3; relu; maxpool kernel=2; flatten; linear out=4' "
    "-i 1x16x16 -f csv",
    "stack_mobilenet.markdown.md": "stack --preset mobilenet_v1 --device meta -f markdown",
    "stack_vgg16.json": "stack --preset vgg16 --device meta -f json",
    "stack_vgg16.latex.tex": "stack --preset vgg16 --no-verify -f latex",
    "model_resnet50.table.txt": "model docs/examples/resnet.py:resnet50 -i 3x224x224 --depth 1",
    "model_resnet50.markdown.md": "model docs/examples/resnet.py:resnet50 -i 3x224x224 --depth 2 -f markdown",
    # Papers: a network as a longtable, grouped (--depth) and with the columns a paper's table has.
    "stack_mobilenet.latex.tex": "stack --preset mobilenet_v1 --device meta --depth 1 "
    "--columns kind,kernel,stride,output,params,params%,macs,macs% -f latex",  # ten columns: in tiny type
    "stack_mobilenet_all.latex.tex": "stack --preset mobilenet_v1 --device meta -f latex",
    "stack_depth.table.txt": "stack --preset mobilenet_v1 --device meta --depth 1 "
    "--columns kind,kernel,stride,output,params%,macs%",
    "model_resnet50.latex.tex": "model docs/examples/resnet.py:resnet50 -i 3x224x224 --depth 2 -f latex",
    "compare_backward.latex.tex": "compare 32 64 3 -p 0+1x1 -s 2 -i 17 --no-verify --backward -f latex",
    "conv_tf_same_explain.markdown.md": "conv 3 32 3 -s 2 -p tf-same -i 225x224 --explain -f markdown",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(run, golden, name):
    result = run(CASES[name])
    assert result.exit_code == 0, result.output
    golden(result.stdout, GOLDEN / name)
