"""Turn a Report into text: a rich table for people; JSON, CSV, Markdown and LaTeX to paste.

Returns strings and never prints. rich is imported only by the table renderer.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from .results import CONVENTION, Check, Report

FORMATS = ("table", "json", "csv", "markdown", "latex")
_SI = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def render(report: Report, fmt: str = "table", *, width: int = 100, color: bool = False) -> str:
    """The report in one of FORMATS."""
    if fmt == "table":
        return render_table(report, width=width, color=color)
    renderers = {"json": render_json, "csv": render_csv, "markdown": render_markdown, "latex": render_latex}
    return renderers[fmt](report)


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def si(n: int) -> str:
    """13306680 -> '13.3M'; numbers under 1000 as they are."""
    for scale, suffix in _SI:
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}"
    return str(n)


def value_text(key: str, value: Any) -> str:
    """A figure for people: shapes as 1x10x30x30, counts with separators, bytes with MiB."""
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return shape_text(value)
    if key.endswith("bytes"):
        for scale, unit in ((2**30, "GiB"), (2**20, "MiB")):
            if value >= scale:
                return f"{value / scale:,.2f} {unit}"
        return f"{value:,} B"
    return f"{value:,}" if isinstance(value, int) else str(value)


def headline(report: Report) -> list[str]:
    """The lines that go with every table: input, dtype, how it was verified, convention."""
    r = report.result
    default = " (default --input; set it with -i)" if r.spec.default_input else ""
    lines = [f"input {shape_text(r.input_shape)}{default}, {r.memory.dtype}"]
    v = report.verification
    if v is None:
        lines.append("analytic only (--no-verify): nothing was confirmed by torch")
    else:
        tools = f"torch {v.torch_version}" + (
            f", torchinfo {v.torchinfo_version}" if v.torchinfo_version else ""
        )
        compared = [c for c in v.checks if c.ok is not None]
        differ = [c.label for c in compared if not c.ok]
        verdict = (
            f"all {len(compared)} compared figures agree"
            if not differ
            else f"{len(differ)} of {len(compared)} figures DIFFER: {', '.join(differ)}"
        )
        lines.append(f"verified on {v.device}: {v.reason}; {tools}; {verdict}")
    lines += [
        f"expect {e.key}={e.expected}: {'ok' if e.ok else 'NOT MET'} (actual {value_text(e.key, e.actual)})"
        for e in report.expectations
    ]
    lines.append(CONVENTION)
    return lines


def render_table(report: Report, *, width: int = 100, color: bool = False) -> str:
    from rich.console import Console
    from rich.table import Table

    verified = report.verification is not None
    table = Table(expand=False)
    table.add_column("figure")
    table.add_column("convcalc", justify="right")
    if verified:
        table.add_column("torch", justify="right")
        table.add_column("match", justify="center")
        table.add_column("how torch counted", style="dim", overflow="fold")
    styles = {True: "[green]ok[/]", False: "[bold red]DIFFERS[/]", None: ""}
    for c in report.checks():
        cells = [c.label, value_text(c.key, c.analytic)]
        if verified:
            cells += [value_text(c.key, c.measured), styles[c.ok], c.note]
        table.add_row(*cells)
    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=color,
        color_system="auto" if color else None,
        highlight=False,
    )
    console.print(report.result.layer, style="bold", markup=False)
    console.print(table)
    # Notes are not wrapped by rich, so their text is the same at any width; the terminal wraps them.
    for line in headline(report):
        console.print(line, style="dim" if line == CONVENTION else None, markup=False, soft_wrap=True)
    if report.explanation:
        console.print()
        for line in report.explanation:
            console.print(line, markup=False, soft_wrap=True)
    return console.file.getvalue()


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def _plain(key: str, value: Any) -> Any:
    return shape_text(value) if isinstance(value, tuple) else ("" if value is None else value)


def grid(report: Report, cell: Callable[[str, Any], Any], marks: dict) -> tuple[list[str], list[list[Any]]]:
    """Header and rows shared by the paste formats; the torch columns only when torch ran."""
    verified = report.verification is not None
    header = ["figure", "convcalc"] + (["torch", "match", "note"] if verified else [])
    rows = []
    for c in report.checks():
        row = [c.label, cell(c.key, c.analytic)]
        if verified:
            row += [cell(c.key, c.measured), marks[c.ok], c.note]
        rows.append(row)
    return header, rows


def render_csv(report: Report) -> str:
    """Raw integers (no separators) for spreadsheets; layer and key columns for joining runs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header, rows = grid(report, _plain, {True: "yes", False: "no", None: ""})
    writer.writerow(["layer", "key", *header])
    for c, row in zip(report.checks(), rows):
        writer.writerow([report.result.layer, c.key, *row])
    return buffer.getvalue()


def render_markdown(report: Report) -> str:
    header, rows = grid(report, value_text, {True: "ok", False: "DIFFERS", None: ""})
    align = {"figure": "---", "convcalc": "---:", "torch": "---:", "match": ":---:", "note": "---"}
    lines = [f"**{report.result.layer}**", "", _md_row(header), _md_row([align[h] for h in header])]
    lines += [_md_row(row) for row in rows]
    lines += [""] + [f"_{line}_  " for line in headline(report)]
    if report.explanation:
        lines += ["", "```", *report.explanation, "```"]
    return "\n".join(lines) + "\n"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


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
}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in text)


def _latex_value(key: str, value: Any) -> str:
    if value is None:
        return "--"
    if isinstance(value, tuple):
        return "$" + r"\times".join(map(str, value)) + "$"
    if isinstance(value, int) and not key.endswith("bytes"):
        return f"{value:,}".replace(",", "{,}")
    return latex_escape(value_text(key, value))


def render_latex(report: Report) -> str:
    """A booktabs table (needs \\usepackage{booktabs})."""
    header, rows = grid(report, _latex_value, {True: "ok", False: "DIFFERS", None: ""})
    caption = latex_escape(f"{report.result.layer}; " + "; ".join(headline(report)))
    spec = {"figure": "l", "convcalc": "r", "torch": "r", "match": "c", "note": "l"}
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\begin{{tabular}}{{{''.join(spec[h] for h in header)}}}",
        r"\toprule",
        " & ".join(h.capitalize() if h == "figure" else h for h in header) + r" \\",
        r"\midrule",
    ]
    for row in rows:
        cells = [latex_escape(row[0]), *row[1:]]
        if len(cells) > 2:
            cells[-1] = latex_escape(cells[-1])
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{caption}}}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def differing(report: Report) -> list[Check]:
    """Rows where torch disagrees with the analytic figure."""
    return [c for c in report.checks() if c.ok is False]
