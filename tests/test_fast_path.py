"""--no-verify must answer without importing torch (principle 1)."""

import json
import subprocess
import sys

PROBE = """
import sys
from convcalc.cli import main
sys.argv = ["convcalc"] + sys.argv[1:]
try:
    main()
except SystemExit:
    pass
print("TORCH_LOADED" if "torch" in sys.modules else "TORCH_ABSENT", file=sys.stderr)
"""


def run_probe(*args):
    return subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)


def test_no_verify_never_imports_torch():
    done = run_probe("conv", "6", "10", "3", "-g", "2", "--no-bias", "--no-verify", "-f", "json")
    assert json.loads(done.stdout)["params"] == 270
    assert done.stderr.strip().endswith("TORCH_ABSENT")


def test_verify_does_import_torch():
    # the probe above would pass trivially if it could not see torch at all
    done = run_probe("conv", "6", "10", "3", "--device", "meta", "-f", "json")
    assert done.stderr.strip().endswith("TORCH_LOADED")
