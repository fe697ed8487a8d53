"""The table writer draws a table in which nothing wraps itself, as rich would: the same text exactly."""

from hypothesis import given, settings
from hypothesis import strategies as st

from convcalc.render.cells import COUNT, MARK, SHAPE, TEXT
from convcalc.render.sheet import Column, Sheet, write_table

words = st.text(st.sampled_from("abcxyz _.-0123456789[]/()×→·"), min_size=0, max_size=14)
cell = st.one_of(
    st.tuples(st.just(TEXT), words),
    st.tuples(st.just(COUNT), st.integers(0, 10**14)),
    st.tuples(st.just(SHAPE), st.lists(st.integers(1, 999), min_size=1, max_size=4).map(tuple)),
    st.tuples(st.just(MARK), st.sampled_from([True, False, None])),
)


@st.composite
def sheets(draw):
    n = draw(st.integers(1, 6))
    columns = [
        Column(
            draw(words.filter(str.strip)),
            align=draw(st.sampled_from("lrc")),
            dim=draw(st.booleans()),
            key=f"c{i}",
        )
        for i in range(n)
    ]
    rows = draw(st.lists(st.lists(cell, min_size=n, max_size=n), min_size=0, max_size=8))
    notes = draw(st.lists(words, max_size=2))
    return Sheet(draw(words), columns, rows, notes)


@settings(max_examples=300, deadline=None)
@given(sheets(), st.sampled_from([None, 60, 100, 200]), st.booleans())
def test_the_fast_writer_draws_what_rich_draws(sheet, width, ascii_only):
    if ascii_only:
        sheet.columns = [
            Column(c.title.encode("ascii", "replace").decode(), c.align, key=c.key) for c in sheet.columns
        ]
        sheet.rows = [
            [(k, v.encode("ascii", "replace").decode()) if isinstance(v, str) else (k, v) for k, v in row]
            for row in sheet.rows
        ]
        sheet.title = sheet.title.encode("ascii", "replace").decode()
    fast = write_table(sheet, width=width, ascii_only=ascii_only)
    assert fast == write_table(sheet, width=width, ascii_only=ascii_only, fast=False)


def test_a_long_network_table_is_drawn_without_rich(monkeypatch):
    from convcalc.render import sheet as module

    columns = [
        Column("layer", key="layer"),
        Column("MACs", align="r", key="macs"),
        Column("torch", "c", key="t"),
    ]
    rows = [[(TEXT, f"blocks.{i}"), (COUNT, i * 1000), (MARK, i % 3 != 0 or None)] for i in range(3000)]
    big = Sheet("model: many", columns, rows, ["a note"])
    drawn = []
    real = module._plain_table
    monkeypatch.setattr(module, "_plain_table", lambda *a: drawn.append(real(*a)) or drawn[-1])
    fast = write_table(big, width=None)
    assert drawn and drawn[0] is not None and drawn[0] in fast
    assert fast == write_table(big, width=None, fast=False)
    assert fast.count("\n") == 1 + 3000 + 4 + 1  # title, rows, 3 rules and the header, the note
