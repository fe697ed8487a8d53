"""--backward in torch: plan a training step as verification plans a forward pass, run it where the plan
says (measure/backward_step.py measures it) and check core/backward.py's figures against it.

A training step holds more than a forward pass: the input's gradient, gradients the size of the largest
activations and of the weights, and Adam's two buffers beside them (measure/backward_step.py). It does about
five forward passes' work (a step, then a second backward for grad input alone). torch is imported
inside functions only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from ..core.backward import stack_training, variant_training
from ..core.plan import FREE_SHARE, Plan, gib
from ..core.results import TRAINING_FIGURES, Check, Training
from ..core.spec import DTYPE_BYTES
from .backward_step import measure_stack_training, measure_training, training_checks
from .build import build_layer, build_stack, build_variant
from .checks import check
from .planned import free_memory, plan, plan_stack, resolve_device, run_planned
from .trace import error_line
from .values import value_mode

STEP_WORK = 4  # forward passes' worth of work beyond the one verification plans for


def conv_training_checks(result: Any, analytic: Training, device: str, full: bool) -> tuple[list[Check], str]:
    """One convolution's training step (its input needing a gradient, as inside a network): the checks,
    and where the step ran (or why it did not)."""
    m = result.memory
    extra = m.input_bytes + 2 * m.output_bytes + 3 * m.param_bytes

    def measure(dev: str) -> dict[str, Any]:
        return measure_training(
            build_layer(result.spec, dev), _zeros(result.input_shape, result.spec.dtype, dev), True
        )

    measured, where = _run([result], device, full, extra, result.macs, measure)
    if measured is None:
        return _unmeasured(analytic, where), where
    return training_checks(analytic, measured, groups=result.spec.groups), where


def variant_training_checks(result: Any, device: str, full: bool) -> tuple[list[Check], str]:
    """A compare variant's training step, its stages one after the other; and where it ran."""
    stages = list(result.stages)
    extra = stages[0].memory.input_bytes + 2 * result.activation_bytes + 3 * result.param_bytes

    def measure(dev: str) -> dict[str, Any]:
        x = _zeros(result.input_shape, stages[0].spec.dtype, dev)
        return measure_training(build_variant(result.variant, dev), x, True)

    measured, where = _run(stages, device, full, extra, result.macs, measure)
    if measured is None:
        return _unmeasured(variant_training(result, True, device), where), where
    analytic = variant_training(result, True, measured["device"])  # torch's rules where it ran
    return training_checks(analytic, measured), where


def stack_training_checks(
    result: Any, device: str, full: bool
) -> tuple[list[Check], dict[str, dict[str, Any]], str, str]:
    """A stack's training step (the batch needs no gradient): the totals' checks, torch's figures per
    layer by name, the device type it ran on ('' where it did not run) and where it ran, in words."""
    extra = 2 * result.activation_bytes + 3 * result.params * DTYPE_BYTES[result.dtype]
    names = [row.name for row in result.layers]

    def measure(dev: str) -> dict[str, Any]:
        layers, totals = measure_stack_training(
            build_stack(result, dev), _zeros(result.input_shape, result.dtype, dev), names
        )
        return {**totals, "layers": dict(zip(names, layers))}

    def row_figures(layer: Training, measured: dict[str, Any]) -> dict[str, Any]:
        over = layer.torch_grad_weight_macs - layer.grad_weight_macs  # torch's grouped grad-weight excess
        return {
            "backward_macs": measured["backward_flops"] // 2 - over,
            "saved_bytes": measured["saved_bytes"],
        }

    device = resolve_device(device)
    chosen = plan_stack(result, device, full, extra, STEP_WORK * result.macs)
    measured, where = _run_planned(chosen, device, measure)
    if measured is None:
        return _unmeasured(stack_training(result, device)[1], where), {}, "", where
    layers, total = stack_training(result, measured["device"])  # torch's rules where it ran
    rows = {name: row_figures(t, measured["layers"][name]) for name, t in zip(names, layers)}
    return training_checks(total, measured), rows, measured["device"], where


def model_backward(
    model: Any, fed: Any, held: int, notes: list[str], read_values: bool = False
) -> dict[str, Any] | None:
    """A model's training step, torch's own count (the batch needing no gradient), where x is; held: the
    bytes its forward pass holds. None, with a note, where it does not fit or torch refuses it."""
    import torch

    from .backward_step import model_training

    params = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    need = held + 3 * params + fed.bytes  # grads and Adam's two buffers beside them
    where = next((t.device for t in fed.tensors), torch.device("cpu"))
    free = None if where.type == "meta" else free_memory(str(where))
    if free is not None and need > free * FREE_SHARE:
        notes.append(f"--backward: not measured: a training step on {where} would need about {gib(need)}")
        return None
    # a forward that read values on meta reads them again in the step: answered as in the trace
    reading = value_mode(fed.made) if read_values and where.type == "meta" else contextlib.nullcontext()
    try:
        with reading:
            m = model_training(model, fed.args, fed.kwargs)
    except torch.OutOfMemoryError:
        notes.append(f"--backward: not measured: a training step ran out of memory on {where}")
        return None
    except Exception as exc:  # noqa: BLE001 -- the user's own code failed in its backward or hooks
        notes.append(f"--backward: not measured: the training step failed: {error_line(exc)}")
        return None
    if m["no_gradient"]:  # nothing to differentiate: zeros here would read as a step that costs nothing
        notes.append(f"--backward: no backward ran: {m['no_gradient']}")
        return None
    memory = {key: m[key] for key in ("weight_bytes", "grad_bytes", "sgd_state_bytes", "adam_state_bytes")}
    saved = m["saved_bytes"]
    kept = memory["weight_bytes"] + memory["grad_bytes"] + saved
    return {
        "grad_input_macs": None,  # one backward of the whole model: not told apart
        "grad_weight_macs": None,
        "backward_macs": m["backward_flops"] // 2,
        "backward_flops": m["backward_flops"],
        "bias_grad_adds": None,
        **memory,
        "saved_bytes": saved,
        "sgd_total_bytes": kept + memory["sgd_state_bytes"],
        "adam_total_bytes": kept + memory["adam_state_bytes"],
    }


def _run(
    stages: Sequence[Any], device: str, full: bool, extra: int, macs: int, measure: Callable[[str], dict]
) -> tuple[dict[str, Any] | None, str]:
    """The measurement where the plan allows (on meta if not, or if the real step fails), or None; and
    where the step ran, or why it did not, in words."""
    device = resolve_device(device)
    return _run_planned(plan(list(stages), device, full, extra, STEP_WORK * macs), device, measure)


def _run_planned(
    chosen: Plan, device: str, measure: Callable[[str], dict]
) -> tuple[dict[str, Any] | None, str]:
    if chosen.mode == "skipped":
        return None, f"training step not run: {chosen.reason}"

    def run(dev: str) -> dict[str, Any]:
        try:
            return {"training": measure(dev)}
        except ValueError as exc:  # torch refuses the step itself, e.g. BatchNorm on one value per channel
            raise RuntimeError(str(exc)) from None

    chosen, measured = run_planned(run, chosen, device)
    if "rejected" in measured:
        return None, f"training step not measured: torch refuses it: {measured['rejected']}"
    if chosen.mode == "real":
        return measured["training"], f"training step run on {device}"
    if device == "meta":
        return measured["training"], "training step on the meta device (the memory rows: what torch keeps)"
    return measured["training"], f"training step {chosen.reason}"


def _unmeasured(analytic: Training, why: str) -> list[Check]:
    """The analytic rows, each saying why torch measured nothing."""
    figures = analytic.figures()
    return [check(key, figures[key], None, why, label) for key, label in TRAINING_FIGURES.items()]


def _zeros(shape: tuple[int, ...], dtype: str, device: str) -> Any:
    import torch

    return torch.zeros(shape, device=device, dtype=getattr(torch, dtype))
