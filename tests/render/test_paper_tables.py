"""Tables a paper takes as they are: a network as a longtable (its header on every page, the total row and
the notes kept), compare's table never in smaller type than its notes, in any text width pdflatex sets."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PDFLATEX = shutil.which("pdflatex")
needs_pdflatex = pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed")

# Test-only hooks in the preamble: a \resizebox that shrinks says so; each tabular typeset (measured or
# set) says so.
HOOKS = r"""
\let\convcalcoldresizebox\resizebox
\renewcommand{\resizebox}[3]{\sbox0{#3}\ifdim\wd0>\linewidth\typeout{SHRUNK}\fi\convcalcoldresizebox{#1}{#2}{#3}}
\let\convcalcoldtabular\tabular
\def\tabular{\typeout{TABULAR}\convcalcoldtabular}
"""


def pdflatex(tmp_path: Path, table: str, options: str = "", width: str = "") -> str:
    """The log of pdflatex run twice (a longtable settles its widths) on the table in an article."""
    packages = " ".join(
        rf"\usepackage{{{p}}}" for p in re.findall(r"\\usepackage\{(\w+)\}", table.split("\n")[0])
    )
    text_width = rf"\setlength{{\textwidth}}{{{width}}}" if width else ""
    (tmp_path / "paper.tex").write_text(
        "\n".join(
            [
                rf"\documentclass[{options}]{{article}}",
                packages,
                r"\usepackage{graphicx}",
                text_width,
                HOOKS,
                r"\begin{document}",
                table,
                r"\end{document}",
            ]
        )
    )
    for _ in range(2):
        result = subprocess.run(
            [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    log = (tmp_path / "paper.log").read_text(errors="replace")
    assert result.returncode == 0, log[-3000:]
    assert "Overfull \\hbox" not in log and "Float too large" not in log
    return log


def test_a_network_is_a_longtable_with_its_header_on_every_page_and_its_total_kept(run):
    latex = run("stack --preset mobilenet_v1 --device meta -f latex").stdout
    assert latex.startswith(r"% convcalc: needs \usepackage{booktabs} \usepackage{longtable} in the preamble")
    assert r"\begin{table}" not in latex  # not a float: a longtable breaks across pages
    head = latex.index(r"\endfirsthead")
    assert latex.count("output & params & MACs") == 3  # measured once, on the first page, on every page
    assert r"\endhead" in latex[head:] and r"\endfoot" in latex and r"\endlastfoot" in latex
    total = latex.index(r"\raggedright total &")
    assert latex[:total].rstrip().endswith(r"\midrule") and latex.index(r"\end{longtable}") > total
    notes = latex.index(r"\end{longtable}")
    assert "params 4,231,976 (trainable" in latex[notes:] and latex.rstrip().endswith(r"\endgroup")


@needs_pdflatex
def test_mobilenet_runs_over_pages_and_fits(run, tmp_path):
    log = pdflatex(tmp_path, run("stack --preset mobilenet_v1 --device meta -f latex").stdout)
    pages = int(re.search(r"Output written on paper.pdf \((\d+) pages?", log)[1])
    assert pages >= 2  # 85 rows: where the float was "too large for page by 237.94pt"


MODEL = "model docs/examples/resnet.py:resnet50 -i 3x224x224 --depth 3 -f latex"
MOBILENET = (
    "stack --preset mobilenet_v1 --device meta --depth 1 --columns kind,kernel,stride,output,params,"
    "params%,macs,macs% -f latex"
)


@pytest.mark.slow  # pdflatex twice, five times
@needs_pdflatex
@pytest.mark.parametrize(
    ("command", "width"),
    [(MODEL, ""), (MODEL, "320pt"), (MODEL, "500pt"), (MOBILENET, ""), (MOBILENET, "500pt")],
)
def test_model_and_stack_tables_fit_the_text_width(run, tmp_path, command, width):
    """In the type that fits: a narrower text takes a smaller type, down to tiny (ResNet-50 to depth 3
    needs 320 pt, the ten columns of MobileNet 345 pt)."""
    pdflatex(tmp_path, run(command).stdout, width=width)


COMPARE = "compare 64 128 3 -p 1 -i 56 --no-bias -g 2 -g 32 -g 3 -f latex"


def test_compare_keeps_the_notes_type():
    from typer.testing import CliRunner

    from convcalc.cli import app

    latex = CliRunner().invoke(app, COMPARE.split()).stdout
    table = latex[: latex.index(r"\par\smallskip")]
    assert r"\footnotesize\setlength{\tabcolsep}{4pt}" in table
    assert r"{\footnotesize\raggedright" in latex[len(table) :]  # the notes: the same type
    assert not re.search(r"\\(scriptsize|tiny)", table)


@pytest.mark.slow  # pdflatex twice, three times
@needs_pdflatex
def test_compare_is_whole_where_it_fits_and_in_parts_where_not_never_shrunk(run, tmp_path):
    latex = run(COMPARE).stdout
    # each tabular typeset counts once, and twice where set (the hook measures it): measured whole and set
    wide = pdflatex(tmp_path, latex, width="600pt")
    assert wide.count("TABULAR") == 1 + 2 and "SHRUNK" not in wide
    # in article's 345 pt: measured whole, measured in two parts, set in two parts, at footnotesize
    article = pdflatex(tmp_path, latex)
    assert article.count("TABULAR") == 1 + 2 + 2 * 2 and "SHRUNK" not in article
    # table*: the whole text width of a layout of two columns
    assert "SHRUNK" not in pdflatex(tmp_path, latex, options="twocolumn")


@pytest.mark.slow
@needs_pdflatex
@pytest.mark.parametrize("options", ["", "twocolumn"])
def test_compare_with_more_columns_is_never_shrunk(run, tmp_path, options):
    latex = run("compare 64 128 3 -p 1 -i 56 --bn --act relu --backward --no-verify -f latex").stdout
    assert "SHRUNK" not in pdflatex(tmp_path, latex, options=options)
