"""The LaTeX writer of a Sheet: a booktabs table for pdflatex's default fonts, the notes under it.

Standard library only; a sheet is read by its attributes, so nothing here imports the Sheet's module.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .cells import BAR, BYTES, COUNT, MARK, SHAPE, text

# Characters TeX reads as commands, those pdflatex's default (OT1) fonts draw as others (< as ¡, > as ¿,
# | as a dash, -- as an en-dash, [ after \\ as an option), and the non-ASCII ones convcalc writes.
_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "[": "{[}",
    "]": "{]}",
    "->": r"$\rightarrow$",
    "-": "-{}",  # only before another -: two hyphens, not an en-dash
    "·": r"$\cdot$",
    "²": r"$^2$",
    "³": r"$^3$",
    "×": r"$\times$",
    "→": r"$\rightarrow$",
    "≈": r"$\approx$",
    "≤": r"$\le$",
    "≥": r"$\ge$",
    "–": "--",
    "—": "---",
}
_LATEX_SPECIAL = re.compile(r"->|-(?=-)|[\\&%$#_{}~^<>|\[\]]|[^\x00-\x7f]")
LATEX_PACKAGES = ("booktabs", "graphicx")  # \toprule..., \resizebox
LATEX_PREAMBLE = " ".join(rf"\usepackage{{{package}}}" for package in LATEX_PACKAGES)


def latex_escape(value: str) -> str:
    """Text as pdflatex prints it; other non-ASCII characters in ASCII (full-width digits), or as ?."""
    return _LATEX_SPECIAL.sub(lambda m: _LATEX.get(m.group()) or _latex_ascii(m.group()), value)


def _latex_ascii(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char).encode("ascii", "ignore").decode()
    return latex_escape(folded) if folded else "?"


def _latex_cell(kind: str, value: Any, unit: tuple[int, str]) -> str:
    if value is None and kind != MARK:
        return "--"
    if kind == SHAPE:
        return "$" + r"\times".join(map(str, value)) + "$"
    written = latex_escape(text(kind, value, unit))
    return written.replace(",", "{,}") if kind in (COUNT, BYTES) else written  # one separator for figures


def write_latex(sheet: Any) -> str:
    """The sheet in LaTeX, in its layout (Sheet.latex): "float", one booktabs table shrunk to the text
    width where it is wider; "parts", a table whose type is never smaller than its notes', whole where it
    fits the text width, else split into tables that do; "long", a longtable across pages for a network,
    its type as large as fits. The title is the caption, the notes and any preformatted lines (--explain)
    follow in small type."""
    table = _Table(sheet)
    layout = getattr(sheet, "latex", "float")
    if layout == "long":
        return _longtable(sheet, table)
    if layout == "parts":
        return _parts(sheet, table)
    lines = [
        f"% convcalc: needs {LATEX_PREAMBLE} in the preamble",
        r"\begin{table}[t]",
        r"\centering",
        *_caption(sheet),
        # graphicx's \width is the table's natural width: only a table wider than the text shrinks.
        _SHRINK,
        *table.tabular(table.columns),
    ]
    lines[-1] += "}"
    return _finish(lines, sheet, r"\end{table}")


class _Table:
    """The sheet's LaTeX: header cells and row cells of the columns LaTeX shows (not bars), aligned."""

    def __init__(self, sheet: Any) -> None:
        keep = [i for i, c in enumerate(sheet.columns) if not is_bar(sheet, c)]
        unit = sheet.byte_unit()
        self.columns = list(range(len(keep)))
        self.align = [sheet.columns[i].align for i in keep]
        self.head = [latex_escape(sheet.columns[i].title) for i in keep]
        self.rows = [[_latex_cell(*row[i], unit) for i in keep] for row in sheet.rows]
        self.plain = [[sheet.columns[i].title for i in keep]]
        self.plain += [[text(*row[i], unit) for i in keep] for row in sheet.rows]
        self.totals = getattr(sheet, "totals", 0)

    def spec(self, columns: list[int], edges: str = "") -> str:
        return edges + "".join(self.align[i] for i in columns) + edges

    def line(self, cells: list[str], columns: list[int]) -> str:
        return " & ".join(cells[i] for i in columns) + r" \\"

    def body(self, columns: list[int], cells: Any = None) -> list[str]:
        """The rows (each through cells, where given), the totals after a rule of their own."""
        lines = [self.line(cells(row) if cells else row, columns) for row in self.rows]
        if self.totals and len(lines) > self.totals:
            lines.insert(len(lines) - self.totals, r"\midrule")
        return lines

    def tabular(self, columns: list[int], edges: str = "") -> list[str]:
        return [
            rf"\begin{{tabular}}{{{self.spec(columns, edges)}}}",
            r"\toprule",
            self.line(self.head, columns),
            r"\midrule",
            *self.body(columns),
            r"\bottomrule",
            r"\end{tabular}",
        ]

    def width(self, column: int) -> float:
        """An estimate, in points at footnotesize (8 pt), of a column's widest cell and its padding."""
        return max(_points(row[column]) for row in self.plain) + 2 * _TABCOLSEP

    def widest(self, column: int, count: int) -> list[str]:
        """The LaTeX of a column's `count` widest cells, by the estimate, widest first."""
        order = sorted(range(len(self.rows)), key=lambda r: -_points(self.plain[r + 1][column]))
        return [self.rows[r][column] for r in order[:count]]


# How much of a line of text each character takes, in ems of Computer Modern Roman (cmr10): enough to
# split a table where it will not fit, while LaTeX itself measures the table before choosing.
_EMS = dict.fromkeys("0123456789", 0.5) | dict.fromkeys("ijlft.,:;'!|()[]", 0.3) | dict.fromkeys("mwMW", 0.9)
_EMS |= {" ": 0.34, "x": 0.78, "%": 0.84, "+": 0.78, "=": 0.78, "-": 0.34, "/": 0.5, "·": 0.3}
_EMS |= dict.fromkeys("²³", 0.35)
_FOOTNOTESIZE = 8.0  # points: footnotesize in a 10 pt document
_TABCOLSEP = 4.0  # points, as the split and long layouts set tabcolsep
PART_WIDTH = 310.0  # points a part of a split table may take: article's text is 345 pt wide
_LENGTHS = r"\ifdefined\convcalcwidth\else\newlength{\convcalcwidth}\newlength{\convcalcwidest}\fi"
_SHRINK = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"


def _points(cell: str) -> float:
    ems = sum(_EMS.get(ch, 0.72 if ch.isupper() else 0.52) for ch in cell)
    return 1.05 * ems * _FOOTNOTESIZE


def _caption(sheet: Any, font: str = "") -> list[str]:
    """The caption, free to break after a slash (a model's path), in font where given (the list of tables
    gets the title alone), and the label."""
    label = [rf"\label{{{sheet.label}}}"] if sheet.label else []
    title = latex_escape(sheet.title).replace("/", r"/\allowbreak{}")
    short = f"[{title}]" if font else ""
    return [rf"\caption{short}{{{font}{title}}}", *label]


def _finish(lines: list[str], sheet: Any, end: str) -> str:
    lines += [
        *_latex_block(sheet.notes, r"\footnotesize"),
        *_latex_block(sheet.extra, r"\footnotesize\ttfamily"),
        end,
    ]
    return "\n".join(lines) + "\n"


def split(widths: list[float], first: float, count: int) -> list[list[int]]:
    """Columns 1.. (their widths) in `count` contiguous parts or fewer, each after column 0 (`first`
    wide), as even as that allows: the widest part as narrow as it can be."""

    def parts(capacity: float) -> list[list[int]]:
        out: list[list[int]] = [[]]
        used = first
        for i, w in enumerate(widths, 1):
            if out[-1] and used + w > capacity:
                out.append([])
                used = first
            out[-1].append(i)
            used += w
        return out

    low, high = max([first + w for w in widths] or [first]), first + sum(widths)
    while high - low > 0.5:  # the least capacity that needs no more than count parts
        middle = (low + high) / 2
        low, high = (low, middle) if len(parts(middle)) <= count else (middle, high)
    return [[0, *part] for part in parts(high)]


def fewest_parts(widths: list[float], first: float, room: float = PART_WIDTH) -> int:
    """How many parts the estimate needs for each to fit `room` (a column wider alone is a part)."""
    count = 1
    while (
        count < len(widths)
        and max(first + sum(widths[i - 1] for i in part[1:]) for part in split(widths, first, count)) > room
    ):
        count += 1
    return count


_OPTIONS = ("one", "two", "three", "four", "five", "six", "seven", "eight")


def _parts(sheet: Any, table: _Table) -> str:
    """A float whose table keeps footnotesize, the notes' size: LaTeX measures the whole table and its
    splits into parts (each beginning with the first column) and sets the fewest parts that fit the text
    width; the most parts still shrink to a text narrower than the estimate (a column of two)."""
    widths = [table.width(i) for i in table.columns]
    most = min(fewest_parts(widths[1:], widths[0]), len(_OPTIONS))
    lines = [
        f"% convcalc: needs {LATEX_PREAMBLE} in the preamble",
        "% table*: the whole text width in a layout of two columns (in one column, as table)",
        r"\begin{table*}[t]",
        r"\centering",
        *_caption(sheet),
        r"\footnotesize\setlength{\tabcolsep}{4pt}%",
    ]
    if most == 1:
        lines += [_SHRINK, *table.tabular(table.columns)]
        lines[-1] += "}"
        return _finish(lines, sheet, r"\end{table*}")
    lines += [
        "% the whole table, or the fewest parts of it (each with the first column) that fit the text width",
        _LENGTHS,
        r"\def\convcalcmeasure#1{\settowidth{\convcalcwidest}{#1}%",
        r"\ifdim\convcalcwidest>\convcalcwidth\setlength{\convcalcwidth}{\convcalcwidest}\fi}%",
        r"\def\convcalcset#1{" + _SHRINK.removesuffix("%") + r"#1}\par\medskip}%",
    ]
    for count, name in enumerate(_OPTIONS[:most], 1):
        lines.append(rf"\def\convcalc{name}{{%")
        for part in split(widths[1:], widths[0], count):
            lines += [r"\convcalcpart{%", *table.tabular(part), "}%"]
        lines.append("}%")
    lines.append(r"\let\convcalcpart\convcalcmeasure")
    for name in _OPTIONS[: most - 1]:
        lines.append(rf"\setlength{{\convcalcwidth}}{{0pt}}\convcalc{name}\ifdim\convcalcwidth>\linewidth")
    lines.append(rf"\let\convcalcpart\convcalcset\convcalc{_OPTIONS[most - 1]}")
    lines += [
        rf"\else\let\convcalcpart\convcalcset\convcalc{name}\fi" for name in reversed(_OPTIONS[: most - 1])
    ]
    return _finish(lines, sheet, r"\end{table*}")


def _longtable(sheet: Any, table: _Table) -> str:
    """A longtable for a network: caption and header on every page, the total row after a rule, the notes
    under it. A longtable cannot shrink as a box, so LaTeX measures it: in footnotesize, else scriptsize or
    tiny, the largest type that leaves its text columns (the layer's name, and its kind) 6 em each of the
    text width; they take what the figures leave, each up to its widest cell, the name at least half, a
    longer text breaking inside a CamelCase name, after a dot or an underscore, or at a space."""
    flexible = [0, 1] if len(table.columns) > 2 and table.align[1] == "l" else [0]
    fixed, count = table.columns[len(flexible) :], len(table.columns)
    widest = [table.widest(i, 5) for i in fixed]
    candidates = [[cells[r] if r < len(cells) else "" for cells in widest] for r in range(5)]
    texts = [r"\\".join(table.widest(i, 3)) for i in flexible]
    head = table.line(_ragged(table.head, flexible), table.columns)
    fixed_head, padding = table.line(table.head, fixed), 2 * len(flexible)
    lines = [
        r"% convcalc: needs \usepackage{booktabs} \usepackage{longtable} in the preamble",
        r"\begingroup",
        "% the largest type that leaves the text columns 6em each of the text width; their text may break",
        r"\ifdefined\convcalcwidth\else\newlength{\convcalcwidth}\newlength{\convcalcwidest}"
        r"\newlength{\convcalcname}\newlength{\convcalckind}\fi",
        rf"\def\convcalcfixed{{\begin{{tabular}}{{{table.spec(fixed, '@{}')}}}{fixed_head}",
        *(table.line(row, list(range(len(fixed)))) for row in candidates),
        r"\end{tabular}}%",
        r"\def\convcalcfit{\settowidth{\convcalcwidth}{\convcalcfixed}%",
        rf"\setlength{{\convcalcwidth}}{{\dimexpr\linewidth-\convcalcwidth-{padding}\tabcolsep\relax}}}}%",
        r"\footnotesize\setlength{\tabcolsep}{4pt}\convcalcfit",
        rf"\ifdim\convcalcwidth<{6 * len(flexible)}em\scriptsize\setlength{{\tabcolsep}}{{3pt}}\convcalcfit",
        rf"\ifdim\convcalcwidth<{6 * len(flexible)}em\tiny\setlength{{\tabcolsep}}{{2pt}}\convcalcfit\fi\fi",
        *_text_widths(texts),
        "% the caption in the text's type, not the table's",
        r"\expandafter\def\csname fnum@table\endcsname{\normalsize\tablename~\thetable}%",
        rf"\begin{{longtable}}{{@{{}}{_text_spec(flexible)}{table.spec(fixed)}@{{}}}}",
        "".join(_caption(sheet, r"\normalsize ")) + r"\\",
        r"\toprule",
        head,
        r"\midrule",
        r"\endfirsthead",
        rf"\multicolumn{{{count}}}{{@{{}}l}}{{\tablename~\thetable, continued}}\\",
        r"\toprule",
        head,
        r"\midrule",
        r"\endhead",
        r"\midrule",
        rf"\multicolumn{{{count}}}{{r@{{}}}}{{continued on the next page}}\\",
        r"\endfoot",
        r"\bottomrule",
        r"\endlastfoot",
        *table.body(table.columns, lambda row: _ragged(row, flexible)),
        r"\end{longtable}",
    ]
    return _finish(lines, sheet, r"\endgroup")


def _text_widths(texts: list[str]) -> list[str]:
    """LaTeX setting the text columns' widths from what the figures leave (convcalcwidth): each its widest
    cell where both fit; else the name at most half, the kind the rest up to its widest, the name the
    rest of that up to its widest."""
    name = [rf"\settowidth{{\convcalcname}}{{\begin{{tabular}}{{@{{}}l@{{}}}}{texts[0]}\end{{tabular}}}}%"]
    if len(texts) == 1:
        return [*name, r"\ifdim\convcalcname>\convcalcwidth\setlength{\convcalcname}{\convcalcwidth}\fi"]
    return [
        *name,
        rf"\settowidth{{\convcalckind}}{{\begin{{tabular}}{{@{{}}l@{{}}}}{texts[1]}\end{{tabular}}}}%",
        r"\setlength{\convcalcwidest}{\convcalcname}%",
        r"\ifdim\convcalcname>.5\convcalcwidth\setlength{\convcalcname}{.5\convcalcwidth}\fi",
        r"\ifdim\convcalckind>\dimexpr\convcalcwidth-\convcalcname\relax",
        r"\setlength{\convcalckind}{\dimexpr\convcalcwidth-\convcalcname\relax}\fi",
        r"\setlength{\convcalcname}{\dimexpr\convcalcwidth-\convcalckind\relax}%",
        r"\ifdim\convcalcname>\convcalcwidest\setlength{\convcalcname}{\convcalcwidest}\fi",
    ]


def _text_spec(flexible: list[int]) -> str:
    return "".join(r"p{\convcalc" + ("name" if i == 0 else "kind") + "}" for i in flexible)


_BREAK = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=\.)|(?<=\\_)")  # in CamelCase, after a dot or an underscore


def _ragged(cells: list[str], flexible: list[int]) -> list[str]:
    """A row with its text cells set ragged right in their paragraph columns, free to break inside a torch
    class's CamelCase name and after a dot or an underscore (and at a space)."""
    out = list(cells)
    for i in flexible:
        out[i] = r"\raggedright " + _BREAK.sub(r"\\allowbreak{}", out[i])
    return out


def _latex_block(lines: list[str], font: str) -> list[str]:
    """Lines under the table, left-aligned, each its own paragraph; leading spaces kept."""
    if not lines:
        return []
    # Lines break at spaces only: never inside a number (a figure wider than the column runs over).
    body = ["~" * (len(s) - len(s.lstrip(" "))) + latex_escape(s.lstrip(" ")) + r"\par" for s in lines]
    return [r"\par\smallskip", "{" + font + r"\raggedright", *body, "}"]


def is_bar(sheet: Any, column: Any) -> bool:
    """Whether a column holds bars (a picture of a ratio for people): left out of LaTeX and CSV."""
    index = sheet.columns.index(column)
    return bool(sheet.rows) and sheet.rows[0][index][0] == BAR
