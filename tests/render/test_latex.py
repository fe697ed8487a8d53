"""The LaTeX output compiles and fits the page: every LaTeX golden file, through pdflatex where installed."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from convcalc.render.sheet import LATEX_PREAMBLE, latex_escape

GOLDEN = Path(__file__).parents[1] / "golden"
PDFLATEX = shutil.which("pdflatex")


def document(table: str) -> str:
    """The smallest paper: article's text width (345 pt), the packages the output's first line names."""
    first = table.splitlines()[0]
    packages = re.findall(r"\\usepackage\{(\w+)\}", first)
    assert first.startswith("% convcalc: needs ") and "booktabs" in packages, first
    preamble = " ".join(rf"\usepackage{{{package}}}" for package in packages)
    return "\n".join([r"\documentclass{article}", preamble, r"\begin{document}", table, r"\end{document}"])


def compile_latex(tmp_path: Path, table: str) -> str:
    """pdflatex's log; fails the test with the log's tail if pdflatex stops. A longtable settles its
    column widths over two runs, as LaTeX says it needs: the second run's log is the paper's."""
    (tmp_path / "paper.tex").write_text(document(table))
    for _ in range(2 if "longtable" in table else 1):
        result = subprocess.run(
            [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        log = (tmp_path / "paper.log").read_text(errors="replace")
        assert result.returncode == 0, log[-3000:]
    return log


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (Debian: texlive-latex-recommended)")
@pytest.mark.parametrize("name", sorted(p.name for p in GOLDEN.glob("*.tex")))
def test_golden_latex_compiles_and_fits(tmp_path, name):
    log = compile_latex(tmp_path, (GOLDEN / name).read_text())
    assert "Overfull \\hbox" not in log, "the table is wider than the text"
    assert "Overfull \\vbox" not in log and "Float too large" not in log, "the table is taller than the page"
    assert "Missing character" not in log and "LaTeX Error" not in log


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (Debian: texlive-latex-recommended)")
def test_every_character_convcalc_writes_compiles(tmp_path):
    text = "a -> b --input --- <x> |y| [z] 50% $5 #1 a_b {c} ~ ^ \\ & Cin·Cout·k² k³ 2×3 →≈≤≥–— █▏ １２ é"
    table = f"% convcalc: needs {LATEX_PREAMBLE}\n{latex_escape(text)}\\par\n"
    log = compile_latex(tmp_path, table)
    assert "Missing character" not in log


@pytest.mark.parametrize(
    ("text", "latex"),
    [
        ("a -> b", r"a $\rightarrow$ b"),
        ("--input", "-{}-input"),
        ("---", "-{}-{}-"),
        ("-->", r"-{}$\rightarrow$"),
        ("1 - 2", "1 - 2"),
        ("<x>", r"\textless{}x\textgreater{}"),
        ("a|b", r"a\textbar{}b"),
        ("[1]", "{[}1{]}"),
        ("pad_left", r"pad\_left"),
        ("k²·k³×2", r"k$^2$$\cdot$k$^3$$\times$2"),
        ("１２", "12"),  # full-width digits: their ASCII form
        ("█", "?"),  # nothing in ASCII: a question mark, never a pdflatex error
    ],
)
def test_latex_escape(text, latex):
    assert latex_escape(text) == latex


VERSION = re.compile(r"torch(info)? \d")


def test_latex_has_a_label_and_no_versions(run):
    conv = run("conv 6 10 3 -i 8 -f latex").stdout
    assert r"\label{tab:convcalc-conv}" in conv and not VERSION.search(conv)
    compare = run("compare 6 12 3 -i 8 -f latex").stdout
    assert r"\label{tab:convcalc-compare}" in compare and not VERSION.search(compare)
    assert VERSION.search(run("conv 6 10 3 -i 8 -f markdown").stdout)  # the other formats keep them


def test_explain_is_written_in_latex(run):
    result = run("conv 6 10 3 -i 8 --no-verify --explain -f latex")
    assert result.exit_code == 0
    latex = result.stdout
    assert r"{\footnotesize\ttfamily\raggedright" in latex
    assert r"output = floor((in + pad\_left + pad\_right" in latex
    assert latex.index("MACs = N x prod(output)") < latex.index(r"\end{table}")
