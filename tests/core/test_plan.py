"""Bounds without torch: the closed forms and the plan that keep every input's time and memory bounded.

The commands themselves, run under an address-space limit, are in tests/cli/test_bounds.py.
"""

import pytest

from convcalc import ConvSpec, InvalidSpecError, analyze
from convcalc.core import formulas
from convcalc.core.plan import INT64, choose, forward_bytes, probe_size, unrepresentable
from convcalc.core.spec import check_device


@pytest.mark.parametrize(
    ("k", "s", "d"), [(k, s, d) for k in range(1, 13) for s in range(1, 9) for d in range(1, 7)]
)
def test_transposed_receptive_field_closed_form_equals_counting_taps(k, s, d):
    by_residue: dict[int, list[int]] = {}
    for tap in range(k):
        by_residue.setdefault(tap * d % s, []).append(tap * d)
    counted = max((max(offsets) - min(offsets)) // s + 1 for offsets in by_residue.values())
    assert formulas.transposed_receptive_field(k, s, d) == counted


def test_divisors_are_complete_when_small_and_bounded_when_huge():
    assert formulas.divisors(36) == [1, 2, 3, 4, 6, 9, 12, 18, 36]
    n = 2**12 * 3**4 * 5**3 * 7  # below 2^32: every divisor
    found = formulas.divisors(n)
    assert found == sorted(set(found)) and all(n % d == 0 for d in found)
    assert len(found) == 13 * 5 * 4 * 2  # (12+1)(4+1)(3+1)(1+1): all of them
    huge = formulas.divisors(2**100 * 3)
    assert huge[:4] == [1, 2, 3, 4] and huge[-1] == 2**100 * 3 and len(huge) < 2 * 2**16


def test_the_plan_covers_the_whole_batch_unfolded_on_cpu():
    """The float64 slow path unfolds every sample: 48 x 32 x 3x3 x 256x256 values, not one sample's."""
    result = analyze(ConvSpec(32, 1, 3, padding=1, input_size=256, batch=48, dtype="float64"))
    columns = 48 * 32 * 3 * 3 * 256 * 256 * 8
    tensors = (48 * 32 * 256 * 256 + 2 * 48 * 1 * 256 * 256 + 1 * 32 * 3 * 3 + 1) * 8  # output twice
    assert forward_bytes(result, "cpu") == columns + tensors
    assert choose([result], "cpu", full=False, free=None).mode == "meta"


def test_settings_and_tensors_beyond_int64_are_named():
    assert "in_channels=" in unrepresentable([analyze(ConvSpec(INT64, 1, 1, input_size=1))])
    assert "the output tensor" in unrepresentable([analyze(ConvSpec(1, 2**40, 1, input_size=2**22))])
    assert unrepresentable([analyze(ConvSpec(6, 10, 3))]) == ""
    assert choose([analyze(ConvSpec(1, 1, 1, input_size=INT64))], "cpu", False, None).mode == "skipped"


def test_probe_grows_with_the_receptive_field_not_the_stride_or_input():
    assert probe_size(False, 3, 1, 1).inputs == 3
    assert probe_size(False, 3, 10**6, 1).inputs == 3
    assert probe_size(True, 512, 512, 1).inputs == 3
    assert probe_size(True, 10**8, 1, 1) is None and probe_size(False, 1, 1, 2**31) is None


@pytest.mark.parametrize("device", ["cuda\n", "cpu\n", "meta\n"])
def test_a_device_with_a_trailing_newline_is_refused(device):
    with pytest.raises(InvalidSpecError, match="unknown device"):
        check_device(device)
