"""compare's variants verified on the meta device answer BatchNorm's shapes without torch's Python
references (measure/shortcut.py), as a model's trace does: the same verdict, without importing
torch._dynamo (0.7 s), which `convcalc check` would otherwise pay for the first BatchNorm on meta."""

import json
import subprocess
import sys

import pytest

from convcalc import ConvSpec, compare_report

PROBE = """
import json, sys
from convcalc import ConvSpec, compare_report
spec = ConvSpec(6, 12, 3, padding=1, input_size=16)
report = compare_report(spec, bn=True, act="silu", multiplier=2, device="meta")
print(json.dumps({"ok": report.ok, "dynamo": "torch._dynamo" in sys.modules}))
"""


@pytest.mark.slow
def test_batchnorm_variants_on_meta_skip_dynamo():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {"ok": True, "dynamo": False}


@pytest.mark.parametrize(("bn", "act"), [(True, "relu"), (True, "gelu"), (True, None), (False, "tanh")])
def test_meta_verdicts_match_the_cpus(bn, act):
    spec = ConvSpec(6, 12, 3, padding=1, input_size=8)
    meta = compare_report(spec, bn=bn, act=act, device="meta")
    cpu = compare_report(spec, bn=bn, act=act, device="cpu")
    assert meta.ok and cpu.ok
    for on_meta, on_cpu in zip(meta.rows, cpu.rows):
        if on_meta.verification is None:
            continue
        measured = {c.key: c.measured for c in on_meta.verification.checks if "bytes" not in c.key}
        assert measured == {c.key: c.measured for c in on_cpu.verification.checks if "bytes" not in c.key}
