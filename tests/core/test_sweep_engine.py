"""core/sweep.py: the list and range grammar, the lazy product, and rows equal to ConvSpec + analyze()
one layer at a time (figure_rows(), which the command writes, too); and ConvSpec's kept geometry, which
must not change a single verdict."""

import itertools
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc import ConvSpec, InvalidSpecError, analyze
from convcalc.cli import words
from convcalc.core import geometry
from convcalc.core.sweep import SHORT, Steps, Sweep, Values, parse_sweep, parse_values, product
from convcalc.render.sweep import SWEEP_FORMATS, csv_figures, figures, render_sweep

REQUIRED = {"c_in": "8", "c_out": "8", "kernel": "3"}


@pytest.mark.parametrize(
    ("name", "text", "values"),
    [
        ("c_in", "32,64,128", [32, 64, 128]),
        ("c_in", "8:32:8", [8, 16, 24, 32]),
        ("c_in", "1:3", [1, 2, 3]),
        ("c_in", "1:10:4", [1, 5, 9]),  # the stop is included only when a step lands on it
        ("c_in", "4, 1:2 ,7", [4, 1, 2, 7]),  # values and ranges mixed, spaces allowed
        ("kernel", "1,3x5,3x3x3", [1, (3, 5), (3, 3, 3)]),
        ("padding", "0,same,VALID,1x2,0:1", [0, "same", "valid", (1, 2), 0, 1]),
        ("groups", "1,dw,DW", [1, "dw", "dw"]),
        ("bias", "on,off,yes,no,true,false", [True, False, True, False, True, False]),
        ("transposed", "no,yes", [False, True]),
        ("padding_mode", "zeros,reflect", ["zeros", "reflect"]),
        ("dtype", "float32,bfloat16", ["float32", "bfloat16"]),
        ("dim", "1:3", [1, 2, 3]),
        ("output_padding", "0,1", [0, 1]),
        ("c_in", "-1:1", [-1, 0, 1]),  # read, so that each row names the rule its value breaks
    ],
)
def test_values(name, text, values):
    parsed = parse_values(name, text)
    assert list(parsed) == values and parsed.count == len(values)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c_in", "5:1", "--c-in: '5:1' is empty: it starts above its stop; write the smaller first: 1:5"),
        ("c_in", "1:10:0", "--c-in: the step of '1:10:0' is 0; a range start:stop:step counts up"),
        ("c_in", "1:10:-2", "--c-in: the step of '1:10:-2' is -2"),
        ("kernel", "3,,5", "--kernel: value 2 of '3,,5' is empty; separate values with one comma: 1,3,5"),
        ("kernel", "3,", "--kernel: value 2 of '3,' is empty"),
        ("c_in", "", "--c-in: value 1 of '' is empty"),
        ("c_in", "a", "--c-in: got 'a'; it must be a positive integer"),
        ("c_in", "1:2:3:4", "--c-in: got '1:2:3:4'; a range is start:stop or start:stop:step, e.g. 8:64:8"),
        ("c_in", "1:", "--c-in: got '1:'; a range is"),
        ("c_in", "1.5", "--c-in: got '1.5'"),
        ("kernel", "3x3:5", "--kernel: got '3x3:5'; a range is"),
        ("groups", "depthwise", "--groups: got 'depthwise'; it must be a positive integer or dw"),
        ("bias", "maybe", "--bias: got 'maybe'; use on or off"),
        ("bias", "0:1", "--bias: got '0:1'"),
        ("padding_mode", "mirror", "--padding-mode: unknown padding mode 'mirror'; use zeros, reflect"),
        ("dtype", "int8", "--dtype: unknown dtype 'int8'; use float32"),
        ("padding", "half", "--padding: got 'half'; it must be same, valid, an integer"),
        ("c_in", "1:" + "9" * 4301, "--c-in: a value has more than 4,300 digits"),
    ],
)
def test_bad_values_name_the_option_and_the_rule(name, text, message):
    """The option on the command line; the setting's name (c_in) from Python."""
    with pytest.raises(InvalidSpecError) as error:
        parse_values(name, text)
    assert words.message(error.value).startswith(message)
    assert str(error.value).startswith(f"{name}: ")


def test_row_count_is_arithmetic_never_a_list():
    huge = parse_values("c_in", f"1:{10**30}")
    assert huge.count == 10**30 and Steps(1, 10**30, 7).count == (10**30 - 1) // 7 + 1
    with pytest.raises(
        InvalidSpecError, match=r"c_in: the sweep has about 10\^33 rows .*max_rows 100,000,000"
    ):
        parse_sweep({**REQUIRED, "c_in": f"1:{10**30}", "c_out": "1:1000"})
    assert parse_sweep({**REQUIRED, "c_in": "1:100"}, max_rows=100).count == 100
    with pytest.raises(InvalidSpecError, match="more than max_rows 99"):
        parse_sweep({**REQUIRED, "c_in": "1:100"}, max_rows=99)


def test_required_settings():
    with pytest.raises(InvalidSpecError, match="^kernel: required"):
        parse_sweep({"c_in": "8", "c_out": "8"})


def test_product_is_itertools_order_and_walks_long_ranges_lazily():
    axes, counts = [[1, 2], range(10), ["a", "b"]], [2, 10, 2]
    assert list(product(axes, counts)) == list(itertools.product(*axes))
    endless = range(10**30)  # one value past SHORT would make itertools.product copy it: it is walked
    first = list(itertools.islice(product([[1, 2], endless, "ab"], [2, 10**30, 2]), 5))
    assert first == [(1, 0, "a"), (1, 0, "b"), (1, 1, "a"), (1, 1, "b"), (1, 2, "a")]
    long = [[0], range(SHORT + 5), [7, 8]]
    assert list(product(long, [1, SHORT + 5, 2])) == list(itertools.product(*long))


def test_a_long_range_streams_at_once():
    sweep = parse_sweep({**REQUIRED, "c_in": "1:90000000"})
    rows = sweep.rows()
    assert [row.settings[0] for row in itertools.islice(rows, 3)] == [1, 2, 3]


def one_at_a_time(values):
    kwargs = dict(zip(ConvSpec.__dataclass_fields__, values))
    try:
        return analyze(ConvSpec(**kwargs)), ""
    except InvalidSpecError as exc:
        return None, str(exc)


def texts(options, most=2):
    return st.lists(st.sampled_from(options), min_size=1, max_size=most).map(",".join)


SWEEPS = st.fixed_dictionaries(
    {
        "c_in": texts(["0", "1", "2", "3", "4", "6", "1:4", "2:12:5"], most=3),
        "c_out": texts(["1", "2", "4", "6", "8"], most=3),
        "kernel": texts(["1", "2", "3", "5", "3x1", "2x2x2", "0"], most=3),
    },
    optional={
        "stride": texts(["1", "2", "3", "1x2"]),
        "padding": texts(["0", "1", "-1", "same", "valid", "2x0"]),
        "dilation": texts(["1", "2", "1:3"]),
        "output_padding": texts(["0", "1", "2"]),
        "groups": texts(["1", "2", "3", "dw"]),
        "bias": texts(["on", "off"]),
        "transposed": texts(["no", "yes"]),
        "dim": texts(["1", "2", "3", "4"]),
        "padding_mode": texts(["zeros", "reflect", "circular", "replicate"]),
        "input": texts(["1", "3", "5", "8x6", "32"]),
        "batch": texts(["1", "2"]),
        "dtype": texts(["float32", "float16"]),
    },
)


@settings(max_examples=150)
@given(SWEEPS)
def test_rows_equal_conv_spec_and_analyze_one_at_a_time(options):
    sweep = parse_sweep(options, max_rows=10**9)
    rows = list(itertools.islice(sweep.rows(), 2_000))
    assert len(rows) == min(sweep.count, 2_000)
    for row, combination in zip(rows, sweep.combinations()):
        expected = list(combination)
        if combination[6] == "dw":
            expected[6] = combination[0]  # dw: groups = that row's c_in
        assert row.settings == tuple(expected)
        result, reason = one_at_a_time(row.settings)
        assert (row.result, row.reason, row.valid) == (result, reason, result is not None)
        if result is not None:
            assert figures(row) == tuple(result.figures().values())
            shaped = [("x".join(map(str, v)) if isinstance(v, tuple) else str(v)) for v in figures(row)]
            assert csv_figures(figures(row)) == ",".join(shaped)


@settings(max_examples=150)
@given(SWEEPS)
def test_figure_rows_equal_rows(options):
    """figure_rows() asks the same rules and formulas without building each row's objects: every row,
    valid or not, has the settings, dim, figures and reason (in the library's words or the CLI's) that
    ConvSpec + analyze() give it."""
    sweep = parse_sweep(options, max_rows=10**9)
    for flags in (None, words.FLAGS):
        pairs = list(itertools.islice(zip(sweep.figure_rows(flags), sweep.rows(flags)), 2_000))
        assert len(pairs) == min(sweep.count, 2_000)
        for lean, row in pairs:
            dim = row.result.spec.dim if row.valid else None
            assert (lean.settings, lean.reason, lean.dim) == (row.settings, row.reason, dim)
            assert lean.figures == (figures(row) if row.valid else None)


def test_figure_rows_keep_sizes_by_value_only_when_equal_means_the_same():
    """A Sweep built by hand may hold True beside 1: equal, but ConvSpec refuses it."""
    axes = list(parse_sweep({"c_in": "2", "c_out": "2", "kernel": "1"}).axes)
    axes[5] = Values("dilation", (1, True, 1))
    sweep = Sweep(tuple(axes))
    rows = [(row.reason, row.valid) for row in sweep.rows()]
    assert rows[1] == ("dilation: got True; it must be a positive integer", False)
    assert [valid for _, valid in rows] == [True, False, True]
    assert [(row.reason, row.valid) for row in sweep.figure_rows()] == rows


@settings(max_examples=60)
@given(SWEEPS, st.sampled_from(SWEEP_FORMATS), st.booleans())
def test_figure_rows_write_what_rows_write(options, fmt, valid_only):
    sweep = parse_sweep(options, max_rows=10**9)

    def text(rows):
        return "".join(render_sweep(sweep, itertools.islice(rows, 2_000), fmt, valid_only=valid_only))

    assert text(sweep.figure_rows()) == text(sweep.rows())


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["rows", "figure_rows"])
@pytest.mark.parametrize(
    "options",
    [
        {"c_in": "1:64", "c_out": "8:64:8", "kernel": "1:5", "groups": "1,2,dw", "stride": "1:4"},
        # new sizes every row, each line as long (a growing input would lengthen the lines)
        {"c_in": "4", "c_out": "8", "kernel": "1", "dilation": "10000:99999", "input": "8"},
    ],
)
def test_rows_stream_in_constant_memory(engine, options):
    """Rendering 40,960 rows holds no more than 4,096: nothing accumulates but one chunk (and at
    most 1,024 kept sizes, however many distinct ones the sweep has)."""
    sweep = parse_sweep(options)

    def peak(count):
        rows = itertools.islice(getattr(sweep, engine)(), count)
        tracemalloc.start()
        for _ in render_sweep(sweep, rows, "csv"):
            pass
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return top

    peak(100)  # warm: the kept geometries and the csv writer's first allocations
    small, large = peak(4_096), peak(40_960)
    assert large < small * 1.25 + 16_384


WEIRD = st.one_of(
    st.integers(-1, 4),
    st.just(3.0),
    st.just(True),
    st.just(False),
    st.just("3"),
    st.tuples(st.integers(0, 4), st.integers(0, 4)),
    st.tuples(st.just(True), st.integers(1, 3)),
)


@settings(max_examples=300)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"in_channels": st.integers(1, 4), "out_channels": st.just(4), "kernel_size": WEIRD},
            optional={"stride": WEIRD, "padding": WEIRD, "dilation": WEIRD, "input_size": WEIRD},
        ),
        min_size=1,
        max_size=6,
    )
)
def test_kept_geometry_gives_the_verdict_a_fresh_one_gives(configs):
    """ConvSpec keeps each set of sizes it has judged; 3.0 and True equal 3 and 1 but break a rule, so
    they must never be found under an int's key. Each spec is built cold (nothing kept) and warm."""

    def outcome(config):
        try:
            spec = ConvSpec(**config)
        except (InvalidSpecError, TypeError) as exc:  # a float size is a TypeError, as it always was
            return type(exc), str(exc)
        return spec, spec.pads, spec.output_spatial, spec.default_input

    for config in configs:
        geometry.forget_geometries()
        cold = outcome(config)
        for other in configs:
            outcome(other)
        assert outcome(config) == cold
