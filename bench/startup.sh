#!/usr/bin/env bash
# The start-up comparison of bench/startup.py, run by hyperfine instead (each command's runs back to
# back, not interleaved; no paired ratios). The commands come from `startup.py --list`, so both agree.
#
#   bench/startup.sh [small|big|all] [startup.py options such as --only torchinfo]
#   PYTHON=/path/to/venv/bin/python bench/startup.sh all        # default PYTHON: .bench-venv/bin/python
#
# Writes bench/results/hyperfine-SUITE.md. hyperfine stops at the first command that exits non-zero.
set -euo pipefail
unset PYTHONDONTWRITEBYTECODE  # bytecode cached, as on a user's machine (see startup.py)
cd "$(dirname "$0")/.."
python=${PYTHON:-.bench-venv/bin/python}
suite=${1:-small}
shift $(($# > 0 ? 1 : 0))

listing=$("$python" bench/startup.py --python "$python" --suite "$suite" --list "$@")
args=()
while IFS=$'\t' read -r label command; do
    args+=(--command-name "$label" "$command")
done <<<"$listing"

mkdir -p bench/results
# -N: no intermediate shell, so the shell's own start-up is not in the figures.
hyperfine -N --warmup 2 --runs 10 --export-markdown "bench/results/hyperfine-$suite.md" "${args[@]}"
