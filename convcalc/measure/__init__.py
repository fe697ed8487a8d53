"""Measurement in torch: the FLOP witness, verification of layers, the receptive-field probe.

The only package that imports torch and torchinfo, and only inside functions.
"""
