"""Receptive fields of whole feature maps, exactly, on or off a uniform grid. Standard library only.

Per spatial dimension, a Span says which input positions each position x of a map depends on: the
interval [first, last] of position x is

    advance * (x // period) + starts[x % period]  ..  advance * (x // period) + ends[x % period]

in input positions, counting padding as positions (as the single-layer figure does). Every layer in
Araujo et al.'s recurrence (Distill 2019) keeps period 1: the interval moves by the jump `advance` per
output and is `r` wide. A strided transposed convolution or an upsampling puts several outputs per input
step, whose intervals differ by residue: the period grows, and the receptive field is the widest
interval over the outputs (each residue measured, not bounded), the jump is not uniform.

Every layer reads, for output y = period_out * k + q, the input positions advance_out * k + t for t in
its taps[q] (read()): a convolution, pool, pad, crop, transposed convolution, adaptive pool and
upsampling are each one such table (below). Parallel paths join by the union of their intervals (join()).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import floor, gcd

Taps = tuple[tuple[int, ...], ...]  # per residue of the output, the input offsets it reads


@dataclass(frozen=True)
class Span:
    """Input positions per position of a map along one dimension (module docstring)."""

    period: int
    advance: int
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def at(self, x: int) -> tuple[int, int]:
        base = self.advance * (x // self.period)
        return base + self.starts[x % self.period], base + self.ends[x % self.period]

    @property
    def size(self) -> int:
        """The receptive field: the widest interval over the map's positions."""
        return max(e - s + 1 for s, e in zip(self.starts, self.ends))

    @property
    def jump(self) -> int | None:
        """Input positions between neighbouring outputs; None where they are not evenly spaced."""
        return self.advance if self.period == 1 else None


INPUT = Span(1, 1, (0,), (0,))  # the input map: each position is itself


def read(span: Span, period: int, advance: int, taps: Taps) -> Span | None:
    """The span of a layer whose output y = period * k + q reads input positions advance * k + t, t in
    taps[q]; None where some output reads no input (a transposed kernel shorter than its stride)."""
    if not all(taps):
        return None
    # After `repeat` outputs' periods the inputs read have moved a whole number of the input's periods.
    repeat = span.period // gcd(span.period, advance)
    out_period = period * repeat
    starts, ends = [], []
    for y in range(out_period):
        base = advance * (y // period)
        intervals = [span.at(base + t) for t in taps[y % period]]
        starts.append(min(s for s, _ in intervals))
        ends.append(max(e for _, e in intervals))
    return _simplest(
        Span(out_period, span.advance * advance * repeat // span.period, tuple(starts), tuple(ends))
    )


def join(spans: list[Span]) -> Span | None:
    """Parallel paths onto one map (a residual add, a concatenation): each position's union (its
    hull); None where the paths do not move at one rate over the input (maps that do not line up)."""
    period = 1
    for span in spans:
        period = period * span.period // gcd(period, span.period)
    rates = {span.advance * period // span.period for span in spans}
    if len(rates) != 1 or any(span.advance * period % span.period for span in spans):
        return None
    intervals = [[span.at(x) for span in spans] for x in range(period)]
    starts = tuple(min(s for s, _ in row) for row in intervals)
    ends = tuple(max(e for _, e in row) for row in intervals)
    return _simplest(Span(period, rates.pop(), starts, ends))


def _simplest(span: Span) -> Span:
    """The same span with its shortest period (outputs evenly spaced again give period 1)."""
    for period in range(1, span.period):
        if span.period % period or span.advance * period % span.period:
            continue
        step = span.advance * period // span.period
        if all(
            span.starts[x + period] == span.starts[x] + step and span.ends[x + period] == span.ends[x] + step
            for x in range(span.period - period)
        ):
            return Span(period, step, span.starts[:period], span.ends[:period])
    return span


# ---------------------------------------------------------------------------------------------------
# Each layer as the taps it reads


def window(kernel: int, stride: int, padding: int, dilation: int = 1) -> tuple[int, int, Taps]:
    """A convolution or pool (torch's window: output y reads y * stride - padding + t * dilation); a pad
    of p is window(1, 1, p), a crop from c window(1, 1, -c), a slice with step s window(1, s, -start)."""
    return 1, stride, (tuple(-padding + t * dilation for t in range(kernel)),)


def transposed(kernel: int, stride: int, padding: int, dilation: int = 1) -> tuple[int, int, Taps]:
    """A transposed convolution: input i adds into outputs i * stride - padding + t * dilation, so
    output stride * k + q reads input k + (q + padding - t * dilation) / stride where that divides."""
    taps = tuple(
        tuple(
            (q + padding - t * dilation) // stride
            for t in range(kernel)
            if (q + padding - t * dilation) % stride == 0
        )
        for q in range(stride)
    )
    return stride, 1, taps


def adaptive(size_in: int, size_out: int) -> tuple[int, int, Taps]:
    """An adaptive pool: output i reads [floor(i * n / m), ceil((i + 1) * n / m)) (torch's windows)."""
    g = gcd(size_in, size_out)
    period, advance = size_out // g, size_in // g
    taps = tuple(
        tuple(range(q * size_in // size_out, -(-(q + 1) * size_in // size_out))) for q in range(period)
    )
    return period, advance, taps


def whole(size_in: int) -> tuple[int, int, Taps]:
    """One value from the whole map (a global pool, a mean over it)."""
    return 1, size_in, (tuple(range(size_in)),)


def nearest(size_in: int, size_out: int) -> tuple[int, int, Taps]:
    """Nearest upsampling or downsampling by a whole factor: output y copies input floor(y * n / m)."""
    g = gcd(size_in, size_out)
    period, advance = size_out // g, size_in // g
    return period, advance, tuple((q * size_in // size_out,) for q in range(period))


def interpolated(size_in: int, size_out: int, align_corners: bool) -> tuple[int, int, Taps]:
    """Linear resampling along one axis (bilinear, trilinear), as torch places it: output y reads
    floor(src), and the next input where src has a fraction, src = (y + 1/2) * n / m - 1/2, or
    y * (n - 1) / (m - 1) with align_corners. Exact where n / m is (a whole factor)."""
    if align_corners:
        scale, offset = Fraction(size_in - 1, max(size_out - 1, 1)), Fraction(0)
    else:
        scale = Fraction(size_in, size_out)
        offset = scale / 2 - Fraction(1, 2)
    period, advance = scale.denominator, scale.numerator
    far = size_out  # periods from the map's start, where torch clamps a negative src to 0
    taps = []
    for q in range(period):
        src = (period * far + q) * scale + offset
        first = floor(src) - advance * far
        taps.append((first, first + 1) if src != floor(src) else (first,))
    return period, advance, tuple(taps)
