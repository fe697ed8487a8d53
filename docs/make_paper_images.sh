#!/usr/bin/env bash
# The LaTeX output as it prints in a paper: docs/img/<name>.png, used by docs/papers.md.
# Needs convcalc on PATH, pdflatex (Debian: texlive-latex-base texlive-latex-recommended) and pdftoppm,
# pdftotext (poppler-utils). Run from anywhere: bash docs/make_paper_images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/img
dpi=150
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

render() { # NAME CONVCALC-ARGUMENTS...: one table on a page of article's text width (345 pt)
  local name=$1
  shift
  convcalc "$@" -f latex >"$tmp/table.tex"
  {
    echo '\documentclass{article}'
    echo '\usepackage[paperwidth=385pt,paperheight=700pt,margin=20pt]{geometry}'
    head -1 "$tmp/table.tex" | sed 's/^% convcalc: needs //; s/ in the preamble$//'
    echo '\pagestyle{empty}\makeatletter\setlength{\@fptop}{0pt}\makeatother' # a float page starts at the top
    echo '\begin{document}'
    cat "$tmp/table.tex"
    echo '\end{document}'
  } >"$tmp/$name.tex"
  for _ in 1 2; do # twice: a longtable settles its column widths on the second run
    (cd "$tmp" && pdflatex -interaction=nonstopmode -halt-on-error "$name.tex" >/dev/null)
  done
  # Cut the page under its last line of text.
  local bottom
  bottom=$(pdftotext -bbox "$tmp/$name.pdf" - | sed -n 's/.*yMax="\([0-9.]*\)".*/\1/p' | sort -g | tail -1)
  pdftoppm -png -r "$dpi" -singlefile -x 0 -y 0 -W $((385 * dpi / 72)) \
    -H "$(awk -v b="$bottom" -v d="$dpi" 'BEGIN { print int((b + 14) * d / 72) }')" \
    "$tmp/$name.pdf" "$out/$name"
  echo "$out/$name.png: convcalc $*"
}

render paper-compare compare 64 128 3 -p 1 -i 56 --no-bias -g 2 -g 32 -g 3
render paper-mobilenet stack --preset mobilenet_v1 --device meta --depth 1 --columns kind,kernel,stride,output,params,macs
render paper-conv conv 6 10 3 -g 2 --no-bias -i 32 --explain
