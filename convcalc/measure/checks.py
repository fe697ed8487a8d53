"""The record every measurement builds: one Check per figure, the Verification that holds them, and what
torch warned on the way, one line each. torch is imported inside functions only."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from ..core.plan import Plan
from ..core.results import FIGURES, Check, Verification
from .planned import device_label


def noting_warnings(check: Callable[..., Verification]) -> Callable[..., Verification]:
    """check, with what torch warned while it ran kept as one line each, not printed with file paths."""

    @functools.wraps(check)
    def checked(*args: Any, **kwargs: Any) -> Verification:
        with recording_warnings() as lines:
            verification = check(*args, **kwargs)
        return dataclasses.replace(verification, warnings=tuple(lines)) if lines else verification

    return checked


@contextlib.contextmanager
def recording_warnings() -> Iterator[list[str]]:
    """What torch warns inside the block, one line each, in the list given (filled as the block ends)."""
    lines: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield lines
    lines.extend(dict.fromkeys(_one_line(str(w.message)) for w in caught))


def _one_line(message: str) -> str:
    """torch's message without the C++ source location it appends."""
    return message.split(" (Triggered internally at", 1)[0].splitlines()[0].strip()


def make_verification(
    device: str, chosen: Plan, checks: list[Check], measured: dict | None = None, info: dict | None = None
) -> Verification:
    import torch

    measured = measured or {}
    reason = chosen.reason + (f"; {measured['witness_note']}" if measured.get("witness_note") else "")
    return Verification(
        device=device_label(device),
        mode=chosen.mode,
        reason=reason,
        torch_version=torch.__version__,
        torchinfo_version=info.get("version") if info else None,
        checks=tuple(checks),
        flop_witness=measured.get("witness"),
    )


def network_verification(device: str, chosen: Plan, checks: list[Check], traced: Any) -> Verification:
    """The verification record conv's uses, with the trace's witness and its note."""
    witness = {"witness": traced.witness, "witness_note": traced.note} if traced else None
    return make_verification(device, chosen, checks, witness)


def check(key: str, analytic: Any, measured: Any, note: str, label: str | None = None) -> Check:
    """One row: ok is None where torch has nothing to compare."""
    ok = None if measured is None else measured == analytic
    return Check(key, label or FIGURES[key], analytic, measured, ok, note)


def memory_note(on_meta: bool, how: str) -> str:
    return "not measured: the meta device allocates nothing" if on_meta else how
