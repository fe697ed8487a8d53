#!/usr/bin/env bash
# The plots docs/speed.md shows: docs/img/plot-*.svg, drawn by convcalc itself.
# Needs convcalc with its plot extra (pip install 'convcalc[plot]'). The compare plot holds latencies
# measured on the machine that runs this, so it changes from run to run and machine to machine.
# Run from anywhere: bash docs/make_plot_images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
convcalc compare 64 128 3 -p 1 -i 56 -g 4 --bench --no-verify --plot docs/img/plot-compare-bench.svg >/dev/null
convcalc sweep --c-in 64 --c-out 64,128 --kernel 1,3,5,7 -s 1,2 -g 1,2,4,8,16,dw -p 1 -i 56 --valid-only \
  -o /dev/null --plot docs/img/plot-sweep.svg
