"""A Sheet is a titled grid of typed cells plus notes; one writer per output format.

Every command builds a Sheet and hands it to these writers, so the table, Markdown, LaTeX and
CSV look and escape the same everywhere. Standard library only; rich is imported by the table writer.
"""

from __future__ import annotations

import csv
import io
import textwrap
from dataclasses import dataclass, field, replace
from typing import Any

from .cells import BYTES, MARK, TEXT, Cell, byte_unit, plain, text
from .latex import LATEX_PACKAGES as LATEX_PACKAGES  # re-exported, where the LaTeX writer always was
from .latex import LATEX_PREAMBLE as LATEX_PREAMBLE
from .latex import is_bar as _is_bar
from .latex import latex_escape as latex_escape
from .latex import write_latex

_ALIGN = {"l": "left", "r": "right", "c": "center"}


@dataclass
class Column:
    title: str  # for people: the table, Markdown and LaTeX header
    align: str = "l"  # l, r or c
    dim: bool = False  # de-emphasised in the rich table
    # 0: never wraps (every figure); n: may wrap between words, down to n characters, before columns move
    wrap: int = 0
    # On a terminal too narrow for the table: 0 stays; 1 moves to a table under it first, then 2, ...
    moves: int = 0
    listed: bool = True  # a moved column is shown under the table (False: left out, as a bar)
    # For programs: the CSV header, snake_case, unique in its sheet, the JSON key where there is one.
    key: str = field(default="", kw_only=True)


@dataclass
class Sheet:
    title: str
    columns: list[Column]
    rows: list[list[Cell]]
    notes: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # preformatted lines, such as --explain's formulas
    csv_prefix: list[tuple[str, list[Any]]] = field(default_factory=list)  # leading CSV columns
    label: str = ""  # the LaTeX \label, e.g. tab:convcalc-conv
    # LaTeX's layout (render/latex.py): "float", one table shrunk to the text width where wider; "parts",
    # split into tables that fit where it is wider, its type kept; "long", a longtable across pages
    latex: str = "float"
    totals: int = 0  # the last rows are totals, set apart by a rule in LaTeX

    def byte_unit(self) -> tuple[int, str]:
        """One unit for every byte figure of the sheet, from the largest: a table reads down a column."""
        return byte_unit(
            max((v for row in self.rows for k, v in row if k == BYTES and v is not None), default=0)
        )


def write_table(
    sheet: Sheet,
    *,
    width: int | None = 100,
    color: bool = False,
    ascii_only: bool = False,
    fast: bool = True,
) -> str:
    """The rich table; width None (a pipe) keeps every line whole, however long.

    Figures never wrap. When the table is wider than `width`, the columns that may move (Column.moves)
    leave it one by one for a table under it; if it is still too wide, it is drawn wider than `width`
    rather than folding a number. ascii_only: the sheet is already ASCII; rich draws ASCII boxes.
    fast: a table in which nothing wraps, without colour, is drawn here as rich would draw it, at a
    hundredth of rich's cost (a 100,000-module model's table); False always asks rich.
    """
    unit = sheet.byte_unit()
    cells = [[text(kind, value, unit) for kind, value in row] for row in sheet.rows]
    sizes = _sizes(sheet, cells)
    groups = _column_groups(sheet, sizes, width)
    squeeze = width is not None
    need = max(_width_needed(sizes, group, squeeze) for group in groups)
    # On a terminal, text wraps at spaces to its width (a word or a number is never split); a pipe gets
    # whole lines. Formulas (--explain) hang their continuation lines under their start.
    title = _wrap([sheet.title], width, hang=0)
    under = _wrap(sheet.notes, width, hang=0) + (
        ["", *_wrap(sheet.extra, width, hang=4)] if sheet.extra else []
    )
    tables: list[Any] = []  # each drawn here where nothing wraps, else a rich table and its width
    for group in groups:  # each table as wide as it needs, up to the terminal's width
        own = _width_needed(sizes, group, squeeze)
        drawn = _plain_table(sheet, cells, sizes, group, ascii_only) if fast and not color else None
        fits = drawn is not None and own == _width_needed(sizes, group, False)
        tables.append(drawn if fits else (_rich_table(sheet, cells, group), own))
    if all(isinstance(table, str) for table in tables):  # rich is not needed, nor imported
        out = (
            "".join(f"{line}\n" for line in title) + "".join(tables) + "".join(f"{line}\n" for line in under)
        )
    else:
        out = _through_rich(title, tables, under, need, width, color, ascii_only)
    return "".join(line.rstrip() + "\n" for line in out.splitlines())  # rich pads wrapped lines with blanks


def _through_rich(
    title: list[str],
    tables: list[Any],
    under: list[str],
    need: int,
    width: int | None,
    color: bool,
    ascii_only: bool,
) -> str:
    from rich.console import Console

    console = Console(
        file=_Buffer("ascii" if ascii_only else "utf-8"),
        width=need if width is None else max(width, need),
        height=25,  # with the width, keeps rich from its 80x25 guess on a TERM=dumb terminal
        force_terminal=color,
        color_system="auto" if color else None,
        highlight=False,
        emoji=False,  # a module named :smile: keeps its name
    )
    for line in title:
        console.print(line, style="bold", markup=False, soft_wrap=True)
    for table in tables:
        if isinstance(table, str):
            console.file.write(table)
        else:
            console.print(table[0], width=table[1] if width is None else max(width, table[1]))
    for line in under:
        console.print(line, markup=False, soft_wrap=True)
    return console.file.getvalue()


def _wrap(lines: list[str], width: int | None, hang: int) -> list[str]:
    """lines wrapped at spaces to width, continuation lines indented `hang` more than the first."""
    if width is None:
        return lines
    wrapped = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip(" ")) + hang)
        wrapped += textwrap.wrap(
            line, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
        ) or [line]
    return wrapped


def _column_groups(sheet: Sheet, sizes: list[tuple[int, int]], width: int | None) -> list[list[int]]:
    """The columns of the table, then of each table under it, which repeats the first column."""
    kept, moved = list(range(len(sheet.columns))), []
    for column in sorted((c for c in sheet.columns if c.moves), key=lambda c: c.moves):
        if width is None or _width_needed(sizes, kept) <= width:
            break
        index = sheet.columns.index(column)
        kept.remove(index)
        moved += [index] if column.listed else []
    groups = [kept]
    for index in sorted(moved):
        if len(groups) == 1 or _width_needed(sizes, [*groups[-1], index]) > width:
            groups.append([0])
        groups[-1].append(index)
    return groups


class _Buffer(io.StringIO):
    """A string buffer that tells rich the real stream's encoding, so rich picks ASCII boxes for ASCII."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def _sizes(sheet: Sheet, cells: list[list[str]]) -> list[tuple[int, int]]:
    """Each column's natural width, and its width squeezed (a wrapping one at Column.wrap, or its
    longest word): measured once, however often the layout asks."""
    sizes = []
    for i, column in enumerate(sheet.columns):
        natural = max([cell_len(column.title)] + [cell_len(row[i]) for row in cells])
        squeezed = min(natural, max(column.wrap, _longest_word(column, cells, i))) if column.wrap else natural
        sizes.append((natural, squeezed))
    return sizes


def _width_needed(sizes: list[tuple[int, int]], kept: list[int], squeeze: bool = True) -> int:
    """Columns at their natural width (squeeze: wrapping ones squeezed), borders and padding."""
    return 1 + sum(3 + sizes[i][1 if squeeze else 0] for i in kept)


def cell_len(text: str) -> int:
    """Columns a text takes on a terminal: its length, where it is ASCII (every figure, most names)."""
    if text.isascii():
        return len(text)
    from rich.cells import cell_len as wide  # East Asian wide characters take two

    return wide(text)


def _longest_word(column: Column, cells: list[list[str]], i: int) -> int:
    words = column.title.split() + [w for row in cells for w in row[i].split()]
    return max(map(cell_len, words), default=1)


def _plain_table(
    sheet: Sheet, cells: list[list[str]], sizes: list[tuple[int, int]], kept: list[int], ascii_only: bool
) -> str | None:
    """The table rich draws for these columns when every cell keeps its natural width: the same
    characters (its heavy-headed box, or ASCII's), the same padding and alignment. None where a cell
    has what rich lays out its own way (a line break, spaces at an end)."""
    from rich import box

    b = box.ASCII if ascii_only else box.HEAVY_HEAD
    body = [[written[i] for i in kept] for written in cells]  # a mark's text is its word, as rich's
    heads = [sheet.columns[i].title for i in kept]
    if any(v != v.strip(" ") or "\n" in v for v in [*heads, *(v for values in body for v in values)]):
        return None
    aligns = [sheet.columns[i].align for i in kept]
    widths = [sizes[i][0] for i in kept]

    def line(values: list[str], left: str, middle: str, right: str) -> str:
        padded = []
        for value, align, size in zip(values, aligns, widths):
            excess = size - cell_len(value)
            before = {"l": 0, "r": excess, "c": excess // 2}[align]
            padded.append(" " * (before + 1) + value + " " * (excess - before + 1))
        return left + middle.join(padded) + right

    def rule(left: str, fill: str, cross: str, right: str) -> str:
        return left + cross.join(fill * (size + 2) for size in widths) + right

    lines = [
        rule(b.top_left, b.top, b.top_divider, b.top_right),
        line(heads, b.head_left, b.head_vertical, b.head_right),
        rule(b.head_row_left, b.head_row_horizontal, b.head_row_cross, b.head_row_right),
        *(line(values, b.mid_left, b.mid_vertical, b.mid_right) for values in body),
        rule(b.bottom_left, b.bottom, b.bottom_divider, b.bottom_right),
    ]
    return "".join(f"{text}\n" for text in lines)


def _rich_table(sheet: Sheet, cells: list[list[str]], kept: list[int]) -> Any:
    from rich.table import Table

    table = Table(expand=False)
    for i in kept:
        col = sheet.columns[i]
        table.add_column(
            col.title,
            justify=_ALIGN[col.align],
            style="dim" if col.dim else None,
            no_wrap=not col.wrap,
            # a wrapping column breaks between words, never inside one
            min_width=_longest_word(col, cells, i) if col.wrap else None,
        )
    marks = {True: "[green]ok[/]", False: "[bold red]DIFFERS[/]", None: ""}
    for written, row in zip(cells, sheet.rows):
        table.add_row(*[marks[row[i][1]] if row[i][0] == MARK else _escape_markup(written[i]) for i in kept])
    return table


# Characters convcalc writes that an ASCII stream cannot carry, and what stands in for them.
_TO_ASCII = str.maketrans(
    {"·": "*", "²": "^2", "³": "^3", "×": "x", "→": "->", "—": "--", "–": "-", "…": "...", "█": "#"}
    | {ch: "" for ch in " ▏▎▍▌▋▊▉"[1:]}
)


def _ascii(value: str) -> str:
    """value for an ASCII stream: known symbols spelt out, anything else as '?'."""
    return value.translate(_TO_ASCII).encode("ascii", "replace").decode("ascii")


def _escape_markup(value: str) -> str:
    return value.replace("[", "\\[")


def write_markdown(sheet: Sheet) -> str:
    align = {"l": "---", "r": "---:", "c": ":---:"}
    lines = [
        f"**{sheet.title}**",
        "",
        md_row([c.title for c in sheet.columns]),
        md_row([align[c.align] for c in sheet.columns]),
    ]
    unit = sheet.byte_unit()
    lines += [md_row([text(k, v, unit) for k, v in row]) for row in sheet.rows]
    lines += [""] + [f"_{line}_  " for line in sheet.notes]
    if sheet.extra:
        lines += ["", "```", *sheet.extra, "```"]
    return "\n".join(lines) + "\n"


def md_row(cells: list[str]) -> str:
    # | ends a cell; * would start emphasis (Cin*Cout*k^2 on an ASCII stream)
    return "| " + " | ".join(cell.replace("|", "\\|").replace("*", "\\*") for cell in cells) + " |"


def csv_header(sheet: Sheet) -> list[str]:
    """The sheet's CSV column names: its leading columns', then each column's key (never its title)."""
    names = [name for name, _ in sheet.csv_prefix]
    names += [c.key for c in sheet.columns if not _is_bar(sheet, c)]
    if "" in names or len(set(names)) < len(names):
        raise ValueError(f"CSV header names must be unique and set on every Column: {names}")
    return names


def write_csv(sheet: Sheet) -> str:
    """Raw values for spreadsheets, with the sheet's leading columns (layer, key, ...) first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keep = [i for i, c in enumerate(sheet.columns) if not _is_bar(sheet, c)]
    writer.writerow(csv_header(sheet))
    for n, row in enumerate(sheet.rows):
        prefix = [plain(TEXT, values[n]) for _, values in sheet.csv_prefix]
        writer.writerow(prefix + [plain(*row[i]) for i in keep])
    return buffer.getvalue()


def write(
    sheet: Sheet, fmt: str, *, width: int | None = 100, color: bool = False, ascii_only: bool = False
) -> str:
    """The sheet in table, markdown, latex or csv; ascii_only for a stream that cannot carry more."""
    if ascii_only:  # before the writers escape anything, so Markdown sees Cin*Cout as text to escape
        sheet = ascii_sheet(sheet)
    if fmt == "table":
        return write_table(sheet, width=width, color=color, ascii_only=ascii_only)
    return {"markdown": write_markdown, "latex": write_latex, "csv": write_csv}[fmt](sheet)


def ascii_sheet(sheet: Sheet) -> Sheet:
    """The sheet with every text in ASCII: titles, notes and text cells (figures are ASCII already)."""
    columns = [replace(c, title=_ascii(c.title)) for c in sheet.columns]
    rows = [[(k, _ascii(v)) if isinstance(v, str) else (k, v) for k, v in row] for row in sheet.rows]
    return replace(
        sheet,
        title=_ascii(sheet.title),
        columns=columns,
        rows=rows,
        notes=[_ascii(line) for line in sheet.notes],
        extra=[_ascii(line) for line in sheet.extra],
        csv_prefix=[
            (name, [_ascii(v) if isinstance(v, str) else v for v in values])
            for name, values in sheet.csv_prefix
        ],
    )
