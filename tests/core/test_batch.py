"""analyze_many(): a lazy stream of rows, each the same as ConvSpec + analyze() one at a time."""

import itertools
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import ConvSpec, InvalidSpecError, analyze, analyze_many

SETTINGS = st.fixed_dictionaries(
    {
        "in_channels": st.integers(-1, 12),
        "out_channels": st.integers(0, 12),
        "kernel_size": st.one_of(st.integers(0, 6), st.tuples(st.integers(1, 4), st.integers(1, 4))),
        "stride": st.integers(0, 3),
        "padding": st.one_of(st.integers(-1, 3), st.sampled_from(["same", "valid"])),
        "dilation": st.integers(0, 3),
        "groups": st.integers(1, 4),
        "transposed": st.booleans(),
        "input_size": st.integers(1, 10),
        "bias": st.booleans(),
    }
)


def one_at_a_time(settings_: dict):
    try:
        return analyze(ConvSpec(**settings_)), ""
    except InvalidSpecError as exc:
        return None, str(exc)


@settings(max_examples=300)
@given(st.lists(SETTINGS, max_size=8))
def test_rows_equal_one_layer_at_a_time(configs):
    rows = list(analyze_many(configs))
    assert [row.settings for row in rows] == configs
    for row, settings_ in zip(rows, configs):
        result, reason = one_at_a_time(settings_)
        assert (row.result, row.reason, row.valid) == (result, reason, result is not None)


@pytest.mark.slow
def test_the_stream_is_lazy_and_flat_in_memory():
    """Consuming 20,000 rows holds no more than consuming 2,000: nothing accumulates."""

    def endless():
        for i in itertools.count():
            yield {"in_channels": 1 + i % 7, "out_channels": 4, "kernel_size": 3, "groups": 1 + i % 2}

    def peak(count: int) -> int:
        tracemalloc.start()
        for _ in itertools.islice(analyze_many(endless()), count):
            pass
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    small, large = peak(2_000), peak(20_000)
    assert large < small + 4096
    first = next(analyze_many(endless()))  # an endless stream yields at once
    assert first.valid and first.result.params == 4 * 1 * 9 + 4
