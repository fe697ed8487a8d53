"""Measurement in torch: the only package that imports torch and torchinfo, and only inside functions.

planned.py resolves the device and runs what core/plan.py allows (for real, or on the meta device);
build.py builds every module from a layer kind's recipe; checks.py holds the Check and Verification
records; verify.py confirms a layer or a compare variant, stack.py a stack, model.py a user's model
(target.py builds it, trace.py traces it, with fields.py's receptive fields and shortcut.py's meta
shapes), all counted by witness.py's FLOP witness; probe.py measures a receptive field by gradients;
bench.py times --bench, backward.py and backward_step.py measure --backward; sweep.py verifies a sweep
in a pool of processes.
"""
