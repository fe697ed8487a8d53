"""A stack's table at a --depth: its layers grouped as a paper's table groups them. Standard library only.

- depth 2: one row per unit: a layer that is not element-wise (a convolution, a linear layer, a pool, a
  flatten, an upsample) with the element-wise layers after it (batchnorm, activations, dropout: core/kinds'
  elementwise family), as MobileNet's Table 1 writes "Conv dw / s1" for a depthwise conv, its BatchNorm and
  its ReLU;
- depth 1: the units, with each run of repeated blocks (the same units, settings and shapes, one block
  after another) as one row, "5 x", as that table writes MobileNet's five 512-channel blocks;
- depth 0: no row, the total alone.

A group's figures are its layers' summed (its output and receptive field the last one's); its verdict is
ok where every layer's is, DIFFERS where one's is. The JSON keeps every layer, whatever the depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .kinds import ELEMENTWISE
from .network import ROW_BACKWARD, LayerRow

EVERY_LAYER = 3  # a stack's --depth from which every layer is a row
MAX_PERIOD = 8  # units in a block that repeats: longer blocks are left as they are
_SUMMED = ("params", "trainable_params", "buffers", "macs", "flops", "bias_adds", "param_bytes")
_SUMMED += ("output_bytes", *ROW_BACKWARD)


@dataclass(frozen=True)
class GroupRow(LayerRow):
    """Layers shown as one row: a unit, or a run of repeated blocks (repeats > 1)."""

    members: tuple[LayerRow, ...] = ()
    repeats: int = 1

    @property
    def ok(self) -> bool | None:
        verdicts = [row.ok for row in self.members if row.ok is not None]
        return None if not verdicts else all(verdicts)

    @property
    def window_rows(self) -> tuple[LayerRow, ...]:
        """The layers whose kernel and stride the row shows: each unit's first, of one block."""
        units = _units(list(self.members))
        return tuple(unit[0] for unit in units[: len(units) // self.repeats])


def grouped(rows: tuple[LayerRow, ...], depth: int | None) -> list[LayerRow]:
    """The rows a stack's table shows at depth (None: every layer)."""
    if depth is None or depth >= EVERY_LAYER:
        return list(rows)
    if depth <= 0:
        return []
    units = _units(list(rows))
    if depth == 2:
        return [_group(unit, 1) if len(unit) > 1 else unit[0] for unit in units]
    return _blocks(units)


def _units(rows: list[LayerRow]) -> list[list[LayerRow]]:
    """Each layer that is not element-wise with the element-wise layers after it."""
    units: list[list[LayerRow]] = []
    for row in rows:
        if units and row.kind in ELEMENTWISE:
            units[-1].append(row)
        else:
            units.append([row])
    return units


def _signature(unit: list[LayerRow]) -> tuple[Any, ...]:
    return tuple(
        (row.kind, json.dumps(row.settings, sort_keys=True), row.input_shape, row.figure("output_shape"))
        for row in unit
    )


def _blocks(units: list[list[LayerRow]]) -> list[LayerRow]:
    """Units, each run of a block of them repeated one after another as one row (the longest run first,
    then the shortest block)."""
    signatures = [_signature(unit) for unit in units]
    out: list[LayerRow] = []
    i = 0
    while i < len(units):
        period, times = _run(signatures, i)
        if times > 1:
            members = [row for unit in units[i : i + period * times] for row in unit]
            out.append(_group(members, times))
            i += period * times
        else:
            out.append(_group(units[i], 1) if len(units[i]) > 1 else units[i][0])
            i += 1
    return out


def _run(signatures: list[tuple[Any, ...]], start: int) -> tuple[int, int]:
    """(period, times) of the longest repeated run of blocks beginning at start; (1, 1) where none."""
    best = (1, 1)
    for period in range(1, MAX_PERIOD + 1):
        block = signatures[start : start + period]
        if len(block) < period:
            break
        times = 1
        while signatures[start + times * period : start + (times + 1) * period] == block:
            times += 1
        if times > 1 and period * times > best[0] * best[1]:
            best = (period, times)
    return best


def _group(members: list[LayerRow], repeats: int) -> GroupRow:
    first, last = members[0], members[-1]
    leaders = [unit[0] for unit in _units(members)]
    name = first.name if repeats == 1 else f"{first.name}..{leaders[-1].name}"
    kinds = ", ".join(row.kind for row in leaders[: len(leaders) // repeats])
    return GroupRow(
        name=name,
        kind=kinds if repeats == 1 else f"{repeats} x {kinds}",
        depth=1,
        input_shape=first.input_shape,
        analytic=_summed([row.analytic for row in members]),
        measured=_summed([row.measured for row in members]),
        settings=first.settings,
        receptive_field=last.receptive_field,
        jump=last.jump,
        calls=repeats,
        members=tuple(members),
        repeats=repeats,
    )


def _summed(sides: list[dict[str, Any] | None]) -> dict[str, Any] | None:
    """Figures of layers as one: each summed where every layer has it, the output the last one's."""
    if any(side is None for side in sides):
        return None
    out: dict[str, Any] = {"output_shape": sides[-1].get("output_shape")}
    for key in _SUMMED:
        values = [side.get(key) for side in sides]
        out[key] = None if None in values else sum(values)
    return out
