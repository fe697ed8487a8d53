import pytest

from convcalc.measure import witness


@pytest.fixture
def broken_light_witness(monkeypatch):
    """A torch whose internals changed: building the light mode fails, FlopCounterMode counts."""

    def fail():
        raise AttributeError("module 'torch.utils.flop_counter' has no attribute 'flop_registry'")

    monkeypatch.setattr(witness, "_light", None)
    monkeypatch.setattr(witness, "_build_light_mode", fail)
