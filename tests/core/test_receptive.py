"""core/receptive.py: spans through layers, the expected figures written as arithmetic (the recurrence
r_out = r_in + (w - 1) x j_in, j_out = j_in x s where outputs stay evenly spaced)."""

from __future__ import annotations

from convcalc.core import receptive
from convcalc.core.receptive import INPUT, Span, read


def through(*tables) -> Span:
    span = INPUT
    for table in tables:
        span = read(span, *table)
    return span


def test_convolutions_follow_the_recurrence():
    span = through(receptive.window(3, 2, 1), receptive.window(3, 1, 1, dilation=2))
    assert (span.size, span.jump) == (1 + 2 * 1 + (2 * 2 + 1 - 1) * 2, 2 * 1)
    # output 0 reads first-layer outputs -1, 1, 3 (padding 1, dilation 2), each 3 inputs from 2i - 1
    assert span.at(0) == (2 * -1 - 1, 2 * 3 - 1 + 2)  # padding counted as positions


def test_a_transposed_kernel_of_its_stride_reads_one_input_per_output():
    span = through(receptive.window(2, 2, 0), receptive.transposed(2, 2, 0))
    assert span.size == 2 and span.jump is None  # outputs 2k and 2k + 1 share one input (of field 2)
    assert [span.at(x) for x in range(4)] == [(0, 1), (0, 1), (2, 3), (2, 3)]


def test_transposed_back_to_the_input_grid_is_even_again_after_a_whole_window():
    # kernel 3, stride 2, padding 1: even outputs read one input, odd ones two
    span = through(receptive.window(3, 2, 1), receptive.transposed(3, 2, 1))
    assert span.size == 3 + 1 * 2 and span.jump is None
    assert through(receptive.window(1, 2, 0), receptive.nearest(4, 8), receptive.window(2, 2, 0)).jump == 2


def test_parallel_paths_join_by_union_and_need_one_rate():
    a, b = through(receptive.window(3, 1, 1)), through(receptive.window(3, 1, 0))
    assert receptive.join([a, b]).at(0) == (-1, 2)
    assert receptive.join([a, through(receptive.window(1, 2, 0))]) is None


def test_adaptive_pool_windows_are_torchs():
    span = through(receptive.adaptive(10, 4))  # [0, 3), [2, 5), [5, 8), [7, 10)
    assert [span.at(x) for x in range(4)] == [(0, 2), (2, 4), (5, 7), (7, 9)]
    assert span.size == 3 and span.jump is None
