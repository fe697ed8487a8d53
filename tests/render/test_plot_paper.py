"""Plots a paper takes as they are: every point of the Pareto front labelled, no label over another or over a
marker (measured as drawn, and read back from the SVG text), axes in SI prefixes, the busy-machine caveat in
the caption, and a sweep's default axes a trade-off."""

import csv
import io
import random
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.core.bench import Bench
from convcalc.render import plot as plot_module
from convcalc.render.labels import MAX_LABELS
from convcalc.render.plot import Point, _Sample, si, write_plot

mpl = pytest.importorskip("matplotlib")

SVG_NS = "{http://www.w3.org/2000/svg}"
TEXTS = ("MACs", "latency, ms", "compare", "")


def svg_texts(path) -> list[str]:
    return [t.text or "" for t in ET.parse(path).iter(f"{SVG_NS}text")]


def drawn(points: list[Point], higher: tuple[bool, bool] = (False, False)):
    """The figure as write_plot makes it, with its front, its labels and their extents as drawn."""
    sample = _Sample((-1 if higher[0] else 1, -1 if higher[1] else 1))
    sample.read(points)
    front, cloud, _, log = sample.kept()
    figure = plot_module._figure(front, cloud, log, TEXTS, higher)
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]

    def text_extent(annotation):  # the text alone: an annotation's extent takes in its line too
        annotation.update_positions(renderer)
        return mpl.text.Text.get_window_extent(annotation, renderer)

    labels = {t.get_text(): text_extent(t) for t in ax.texts}
    return front, cloud, ax, labels


def assert_readable(points: list[Point], higher: tuple[bool, bool] = (False, False)) -> None:
    front, cloud, ax, labels = drawn(points, higher)
    if len(front) <= MAX_LABELS:
        assert {p.label for p in front} <= set(labels), "a point of the front has no label"
    boxes = list(labels.values())
    for i, a in enumerate(boxes):
        assert (
            ax.bbox.x0 <= a.x0
            and a.x1 <= ax.bbox.x1 + 0.5
            and ax.bbox.y0 <= a.y0
            and a.y1 <= ax.bbox.y1 + 0.5
        )
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), "two labels overlap"
    marks = ax.transData.transform([(p.x, p.y) for p in front])
    for box in boxes:  # no label over a marker of the front (3 pt across, at 300 dpi: ~6 px in radius)
        for x, y in marks:
            assert not (box.x0 < x < box.x1 and box.y0 < y < box.y1), "a label covers a point of the front"


COMPARE = [  # a compare with --bench as the issue saw it: grouped g=16 the fastest, beside g=32
    Point("standard", 231_211_008, 31.9),
    Point("grouped g=2", 115_605_504, 31.8),
    Point("grouped g=4", 57_802_752, 31.9),
    Point("grouped g=16", 14_450_688, 15.2),
    Point("grouped g=32", 7_225_344, 16.1),
    Point("pointwise", 25_690_112, 30.1),
    Point("dw-separable", 27_496_448, 22.4),
]


def test_every_front_point_of_a_compare_is_labelled_without_overlaps(tmp_path):
    assert_readable(COMPARE)
    path = tmp_path / "compare.svg"
    write_plot(str(path), COMPARE, x_label="MACs", y_label="latency, ms", title="compare")
    texts = svg_texts(path)
    assert {"grouped g=16", "grouped g=32"} <= set(texts)  # both on the front, both labelled


def test_a_crowded_front_is_labelled_with_lines_where_beside_is_taken():
    crowded = [Point(f"variant {i}", 100 + i, 100 - i) for i in range(MAX_LABELS)]
    crowded += [Point(f"far {i}", 10_000 + 10 * i, 10_000 - i) for i in range(3)]
    assert_readable(crowded)
    _, _, ax, _ = drawn(crowded)
    assert any(t.arrow_patch is not None for t in ax.texts)  # joined to its point by a thin line


@settings(max_examples=15)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 60), st.integers(1, 60), st.sampled_from(["a", "grouped g=16", "c_in=64 k=3"])
        ),
        min_size=1,
        max_size=40,
    ),
    st.booleans(),
)
def test_random_fronts_are_labelled_without_overlaps(pairs, higher):
    points = [Point(f"{name} #{i}", x, y) for i, (x, y, name) in enumerate(pairs)]
    assert_readable(points, (False, higher))


def test_a_front_too_long_to_label_says_so():
    rng = random.Random(3)
    points = [Point(f"cfg {i}", i + 1, 1000 - i + rng.random()) for i in range(40)]
    front, _, ax, labels = drawn(points)
    assert len(front) == 40 and len([t for t in labels if t.startswith("cfg")]) == MAX_LABELS
    caption = ax.figure.get_supxlabel()
    assert "labels: 12 of the 40 points of the front, spread along it" in " ".join(caption.split())


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (500, "500"),
        (1500, "1.5K"),
        (1e8, "100M"),
        (2.5e8, "250M"),
        (4.09e9, "4.09G"),
        (0.25, "0.25"),
    ],
)
def test_ticks_are_written_with_si_prefixes(value, text):
    assert si(value) == text


def test_axes_show_100m_not_an_offset(tmp_path):
    path = tmp_path / "c.svg"
    write_plot(str(path), COMPARE, x_label="MACs", y_label="latency, ms", title="compare")
    texts = svg_texts(path)
    assert {"100M", "200M"} <= set(texts)
    assert not any("1e8" in t or "×10" in t or "e+" in t for t in texts)


def test_the_busy_machine_caveat_is_in_the_caption(tmp_path):
    from convcalc import ConvSpec
    from convcalc.api import compare_report
    from convcalc.render.compare import plot_compare

    report = compare_report(ConvSpec(6, 12, 3, input_size=8), verify=False)
    busy = Bench("cpu", 1, 1, median_s=1e-3, iqr_s=1e-5, runs=10, threads=2, load=7.5, cpus=2)
    rows = tuple(
        replace(row, bench=replace(busy, median_s=1e-3 * (i + 1))) for i, row in enumerate(report.rows)
    )
    path = tmp_path / "busy.svg"
    plot_compare(replace(report, rows=rows), str(path))
    caption = " ".join(" ".join(svg_texts(path)).split())
    assert "the machine was busy as timing began (load average 7.5 on 2 CPUs" in caption
    quiet = replace(busy, load=0.1)
    rows = tuple(
        replace(row, bench=replace(quiet, median_s=1e-3 * (i + 1))) for i, row in enumerate(report.rows)
    )
    plot_compare(replace(report, rows=rows), str(path))
    assert "busy" not in " ".join(svg_texts(path))


@pytest.mark.parametrize(
    ("options", "axes"),
    [
        ("--c-in 16,32 --c-out 32 --kernel 1,3,5", ("MACs", "receptive field")),
        ("--c-in 16,32 --c-out 32 --kernel 3 -s 1,2", ("MACs", "output size")),
        ("--c-in 16 --c-out 32:128:32 --kernel 3", ("MACs", "output channels")),
        ("--c-in 16,32 --c-out 32 --kernel 3 -g 1,2", ("parameters", "MACs")),
        ("--c-in 16 --c-out 32 --kernel 1,3 --plot-x params --plot-y flops", ("parameters", "FLOPs")),
    ],
)
def test_a_sweeps_plot_shows_a_trade_off_of_what_it_varies(run, tmp_path, options, axes):
    path = tmp_path / "sweep.svg"
    result = run(f"sweep {options} -i 16 --plot {path}")
    assert result.exit_code == 0, result.output
    texts = svg_texts(path)
    x, y = axes
    labels = {"parameters": "params (total)", "FLOPs": "FLOPs (2 x MACs)"}
    assert any(t.startswith(labels.get(x, x)) for t in texts) and any(
        t.startswith(labels.get(y, y)) for t in texts
    )


def test_a_kernel_sweep_front_keeps_the_cheapest_layer_of_each_receptive_field(run, tmp_path):
    path = tmp_path / "sweep.svg"
    command = f"sweep --c-in 16,32 --c-out 32,64 --kernel 1,3,5 -g 1,dw -i 16 --plot {path}"
    rows = list(csv.DictReader(io.StringIO(run(command).stdout)))
    best = {}  # receptive field -> the fewest MACs that reach it
    for row in rows:
        if not row["reason"]:
            field = row["receptive_field"]
            best[field] = min(best.get(field, 10**30), int(row["macs"]))
    texts = svg_texts(path)
    assert "c_in=16 c_out=32 k=5 g=dw" in texts  # the largest field, for the least: on the front, labelled
    assert sorted(best) == ["1x1", "3x3", "5x5"]
