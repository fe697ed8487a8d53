"""The analytic core: layer settings, formulas, results, the verification plan, report data.

Standard library only: nothing here imports torch or rich.
"""
