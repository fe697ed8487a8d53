import shlex

import pytest
from hypothesis import HealthCheck, settings
from isolated import Isolated  # tests/isolated.py
from typer.testing import CliRunner

from convcalc.cli import app

# torch-oracle examples take milliseconds each, with a slow first call; time is not what they test.
# "default" is derandomised: every run (CI, the README's command) draws the same examples. Fresh ones:
# `pytest --hypothesis-profile=random`, with `--hypothesis-seed=N` to choose the draw and replay it.
FAST_ENOUGH = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", derandomize=True, **FAST_ENOUGH)  # implies no example database
settings.register_profile("random", derandomize=False, database=None, **FAST_ENOUGH)
settings.load_profile("default")  # the --hypothesis-profile option, read after this file, wins


class Run:
    """Invoke the CLI as a user would, with a fixed terminal width so tables are stable."""

    def __init__(self) -> None:
        try:  # click < 8.2 mixes stderr into stdout unless told not to
            self.runner = CliRunner(mix_stderr=False)
        except TypeError:
            self.runner = CliRunner()

    def __call__(self, *args: str):
        if len(args) == 1:  # one string, as typed in a shell
            args = tuple(shlex.split(args[0]))
        return self.runner.invoke(app, list(args), env={"COLUMNS": "100"}, catch_exceptions=False)


@pytest.fixture
def run() -> Run:
    return Run()


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/ from current output")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture(scope="session")
def isolated():
    """Run CLI commands in one guarded process of their own (tests/isolated.py), torch imported once."""
    with Isolated() as runner:
        yield runner
