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
    """A booktabs table float, shrunk to the text width where it is wider: the title as the caption,
    the notes and any preformatted lines (--explain) in small type under the table."""
    keep = [i for i, c in enumerate(sheet.columns) if not is_bar(sheet, c)]
    unit = sheet.byte_unit()
    lines = [
        f"% convcalc: needs {LATEX_PREAMBLE} in the preamble",
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{latex_escape(sheet.title)}}}",
        *([rf"\label{{{sheet.label}}}"] if sheet.label else []),
        # graphicx's \width is the table's natural width: only a table wider than the text shrinks.
        r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
        rf"\begin{{tabular}}{{{''.join(sheet.columns[i].align for i in keep)}}}",
        r"\toprule",
        " & ".join(latex_escape(sheet.columns[i].title) for i in keep) + r" \\",
        r"\midrule",
        *(" & ".join(_latex_cell(*row[i], unit) for i in keep) + r" \\" for row in sheet.rows),
        r"\bottomrule",
        r"\end{tabular}}",
        *_latex_block(sheet.notes, r"\footnotesize"),
        *_latex_block(sheet.extra, r"\footnotesize\ttfamily"),
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


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
