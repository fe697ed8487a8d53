"""--plot's renderer: the Pareto front against its definition, each format written and reproducible, a
million points in constant memory, and one line for every way the plot cannot be written."""

import math
import random
import subprocess
import sys
import textwrap
import tracemalloc
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcalc.cli.words import FLAGS
from convcalc.core.errors import ConvCalcError, worded
from convcalc.render import plot as plot_module  # convcalc.render, the attribute, is the function
from convcalc.render.plot import MISSING, Point, _Sample, check_plot_path, pareto_front, write_plot

SVG_NS = "{http://www.w3.org/2000/svg}"
VARIANTS = [
    Point("standard", 13_306_680, 0.91),
    Point("grouped g=2", 6_653_340, 0.52),
    Point("depthwise", 1_500_000, 0.40),
    Point("pointwise", 1_480_000, 0.61),
    Point("dw-separable", 2_980_000, 0.27),
    Point("shared dw", 1_500_000, 0.44),
]
NOTE = "MACs = multiply-accumulates; latency: median of torch.utils.benchmark"
TEXTS = {"x_label": "MACs", "y_label": "latency (ms)", "title": "conv 6->12 3x3", "note": NOTE}
MAGIC = {"svg": b"<?xml", "pdf": b"%PDF-", "png": b"\x89PNG\r\n\x1a\n"}


def dominated(p: Point, points: list[Point]) -> bool:
    return any(q.x <= p.x and q.y <= p.y and (q.x < p.x or q.y < p.y) for q in points)


def svg_texts(path: Path) -> list[str]:
    return [t.text or "" for t in ET.parse(path).iter(f"{SVG_NS}text")]


coordinate = st.integers(-3, 6) | st.floats(-1e6, 1e6, allow_nan=False)  # small integers: many ties


@given(st.lists(st.tuples(coordinate, coordinate), max_size=40))
def test_pareto_front_is_the_non_dominated_points(pairs):
    points = [Point(str(i), x, y) for i, (x, y) in enumerate(pairs)]
    front = pareto_front(points)
    best = {(p.x, p.y) for p in points if not dominated(p, points)}  # the definition, O(n^2)
    assert [(p.x, p.y) for p in front] == sorted(best)
    assert all(a.x < b.x and a.y > b.y for a, b in zip(front, front[1:]))  # a strict staircase
    for p in front:  # of equal points, the first given
        assert p is next(q for q in points if (q.x, q.y) == (p.x, p.y))


def test_pareto_front_skips_non_finite_points():
    points = [
        Point("nan", math.nan, 0),
        Point("inf", 1, -math.inf),
        Point("big", 10**400, 0),
        Point("a", 2, 2),
    ]
    assert pareto_front(points) == [Point("a", 2, 2)]


@pytest.mark.parametrize("log", [False, True])
def test_a_stream_keeps_the_exact_front_of_what_its_axes_show(monkeypatch, log):
    monkeypatch.setattr(plot_module, "MAX_CLOUD", 50)
    rng = random.Random(7)
    if log:  # positive values over two decades: the axes go logarithmic and drop x <= 0 or y <= 0
        points = [Point(str(i), rng.uniform(-1, 1e4), rng.uniform(-1, 1e4)) for i in range(20_000)]
    else:  # linear: every quadrant counts, and many ties
        points = [Point(str(i), rng.randint(-3, 19), rng.randint(-3, 19)) for i in range(20_000)]
    sample = _Sample()
    sample.read(iter(points))
    front, cloud, count, axes = sample.kept()
    shown = [p for p in points if not log or (p.x > 0 and p.y > 0)]
    assert axes == (log, log) and count == len(shown)
    assert front == pareto_front(shown)
    assert len(cloud) <= 50 and all(p in shown for p in cloud)


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


@pytest.mark.parametrize("fmt", ["svg", "pdf", "png", "SVG"])
def test_each_format_is_written(tmp_path, mpl, fmt):
    path = tmp_path / f"compare.{fmt}"
    assert write_plot(str(path), iter(VARIANTS), **TEXTS) == len(VARIANTS)
    data = path.read_bytes()
    assert data.startswith(MAGIC[fmt.lower()]) and len(data) > 1000
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    if fmt == "pdf":
        assert b"/FontFile2" in data  # TrueType embedded (fonttype 42)


def test_svg_keeps_text_as_text_and_labels_the_points(tmp_path, mpl):
    path = tmp_path / "compare.svg"
    write_plot(str(path), VARIANTS, **TEXTS)
    texts = svg_texts(path)
    for text in ("MACs", "latency (ms)", "conv 6->12 3x3", "configurations", "Pareto front", NOTE):
        assert text in texts
    grey = {t.text for t in ET.parse(path).iter(f"{SVG_NS}text") if "fill: #666666" in t.get("style", "")}
    assert {"pointwise", "depthwise", "dw-separable"} <= set(texts) - grey  # the front, in black
    assert {"standard", "grouped g=2"} <= grey  # a few points: the dominated ones too, in grey


@pytest.mark.slow
def test_output_is_reproducible_byte_for_byte(tmp_path, mpl):
    for fmt in ("svg", "pdf", "png"):
        first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
        write_plot(str(first), VARIANTS, **TEXTS)
        write_plot(str(second), VARIANTS, **TEXTS)
        assert first.read_bytes() == second.read_bytes(), fmt


def test_rc_params_are_left_as_they_were(tmp_path, mpl):
    before = dict(mpl.rcParams)
    write_plot(str(tmp_path / "a.svg"), VARIANTS, **TEXTS)
    assert dict(mpl.rcParams) == before


def test_log_axes_over_two_decades_drop_non_positive_points(tmp_path, mpl):
    path = tmp_path / "sweep.svg"
    points = [Point("zero", 0, 5), Point("nan", math.nan, 1), Point("a", 10, 50), Point("b", 10_000, 1)]
    assert write_plot(str(path), points, x_label="params", y_label="ms", title="t") == 2
    texts = svg_texts(path)
    assert "params, log scale" in texts and "ms" in texts  # y spans 50: linear
    assert "zero" not in texts and {"a", "b"} <= set(texts)


def test_a_long_front_gets_a_spread_of_labels_and_text_is_literal(tmp_path, mpl):
    path = tmp_path / "front.svg"
    front = [Point(f"cfg {i} $x$ <b>", i + 1, 1000 - i) for i in range(200)]
    long = Point("a label much longer than a figure can hold", 0.5, 2000)
    write_plot(str(path), [*front, long], x_label="cost in $", y_label="$y$", title="50% & <more>")
    texts = svg_texts(path)
    labels = [t for t in texts if t.startswith(("cfg", "a label"))]
    assert 3 <= len(labels) <= 12 and len(set(labels)) == len(labels)
    assert labels[0] == "a label much longer than a …"  # the cheapest end first, cut to 28 characters
    assert {"cost in $, log scale", "$y$", "50% & <more>"} <= set(texts)  # not mathtext, escaped XML


@pytest.mark.slow
def test_a_million_points_in_constant_memory(tmp_path, mpl):
    xs = [float(1 + (i * 37) % 1009) for i in range(1009)]
    ys = [float(1 + (i * 53) % 1013) for i in range(1013)]

    def sweep(n):  # a new Point each time, as a sweep makes them: keeping them all would take ~70 MB
        for i in range(n):
            yield Point("cfg", xs[i % 1009], ys[i % 1013])

    write_plot(str(tmp_path / "warm.svg"), sweep(10), x_label="x", y_label="y", title="t")  # imports
    tracemalloc.start()
    try:
        count = write_plot(str(tmp_path / "sweep.svg"), sweep(1_000_000), x_label="x", y_label="y", title="t")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 1_000_000
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_no_points_is_an_error_not_an_empty_figure(tmp_path, mpl):
    for points in ([], [Point("nan", math.nan, 1.0)]):
        with pytest.raises(ConvCalcError, match=r"^plot: no valid configurations to plot$"):
            write_plot(str(tmp_path / "a.svg"), points, **TEXTS)
    assert not list(tmp_path.iterdir())


def never(*_):
    raise AssertionError("the points were read before the path was checked")
    yield


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("plot.jpg", r"^plot: .*plot\.jpg must end in \.svg, \.pdf or \.png, not '\.jpg'$"),
        ("plot", r"^plot: .*plot must end in \.svg, \.pdf or \.png, and has no suffix$"),
        ("missing/plot.svg", r"^plot: no folder .*missing; create it first$"),
        ("folder.svg", r"^plot: .*folder\.svg is a folder; give a file name ending in \.svg$"),
    ],
)
def test_a_path_that_cannot_be_written_fails_first(tmp_path, name, message):
    (tmp_path / "folder.svg").mkdir()
    path = str(tmp_path / name)
    with pytest.raises(ConvCalcError, match=message):
        check_plot_path(path)
    with pytest.raises(ConvCalcError, match=message):
        write_plot(path, never(), **TEXTS)


def test_a_folder_that_vanishes_is_one_line_naming_the_path(tmp_path, mpl):
    folder = tmp_path / "out"
    folder.mkdir()

    def points():
        yield from VARIANTS
        folder.rmdir()  # gone while the sweep ran

    with pytest.raises(ConvCalcError, match=r"^plot: cannot write .*out/a\.svg: No such file or directory$"):
        write_plot(str(folder / "a.svg"), points(), **TEXTS)


def test_a_refused_write_leaves_nothing_behind(tmp_path, mpl, monkeypatch):
    def refuse(*_):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(plot_module.os, "replace", refuse)
    with pytest.raises(ConvCalcError, match=r"^plot: cannot write .*a\.pdf: Permission denied$"):
        write_plot(str(tmp_path / "a.pdf"), VARIANTS, **TEXTS)
    assert not list(tmp_path.iterdir())


def run_python(code: str) -> subprocess.CompletedProcess:
    code = textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_without_matplotlib_the_message_is_one_line(tmp_path):
    result = run_python(f"""
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        from convcalc.render.plot import check_plot_path
        check_plot_path({str(tmp_path / "a.svg")!r})
    """)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"convcalc.core.errors.ConvCalcError: {worded(MISSING)}"
    assert (
        worded(MISSING, FLAGS) == "--plot needs matplotlib, an optional extra: pip install 'convcalc[plot]'"
    )


@pytest.mark.slow
def test_checking_imports_no_matplotlib_and_writing_no_pyplot(tmp_path, mpl):
    result = run_python(f"""
        import sys
        from convcalc.render.plot import Point, check_plot_path, write_plot
        check_plot_path({str(tmp_path / "a.svg")!r})
        print("matplotlib" in sys.modules)
        write_plot({str(tmp_path / "a.svg")!r}, [Point("a", 1, 1)], x_label="x", y_label="y", title="t")
        print("matplotlib.pyplot" in sys.modules)
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_compare_plots_its_variants(run, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "family.svg"
    result = run(f"compare 6 12 3 --no-verify --plot {path}")
    assert result.exit_code == 0, result.output
    svg = path.read_text()
    for title in ("standard", "grouped g=2", "dw-separable"):
        assert title in svg
    assert "parameters" in svg and "MACs" in svg  # no --bench: params against MACs


def test_compare_plot_path_is_checked_before_any_work(run, tmp_path):
    result = run(f"compare 6 12 3 --plot {tmp_path / 'missing' / 'x.svg'}")
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: error: --plot: no folder")
    assert result.stdout == ""


def test_a_name_too_long_for_the_file_system_is_one_line(run, tmp_path):
    result = run(f"compare 4 8 3 -i 8 --no-verify --plot {tmp_path / ('x' * 300 + '.svg')}")
    assert result.exit_code == 2
    assert result.stderr.startswith("convcalc: error: --plot: cannot use ")
