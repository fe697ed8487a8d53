import re
import shlex
from pathlib import Path

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


# Tool versions vary between machines, everything else in an output must not: "torch 2.13.0+cpu" in
# tables, "torch_version": "2.13.0+cpu" in JSON.
VERSIONS = re.compile(r'(torch|torchinfo)(_version": "| )\d+\.\d+[^\s,;")]*')


def without_versions(text: str) -> str:
    return VERSIONS.sub(r"\1\2<version>", text)


class Golden:
    """golden(output, path): the output is the golden copy at path, tool versions aside.

    The copy is a whole file (kept with its versions masked), or the part of a docs page between two
    markers, `between=(before, after)` (kept as printed). With --update-golden it is rewritten first.
    """

    def __init__(self, update: bool) -> None:
        self.update = update

    def __call__(self, output: str, path: Path, between: tuple[str, str] | None = None) -> None:
        if between is None:
            if self.update:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(without_versions(output))
            assert path.exists(), f"missing {path}; run pytest --update-golden"
            kept = path.read_text()
        else:
            before, after = between
            text = path.read_text()
            start = text.index(before) + len(before)
            end = text.index(after, start)
            if self.update:
                path.write_text(text[:start] + output + text[end:])
                text, end = path.read_text(), start + len(output)
            kept = text[start:end]
        stale = (
            f"{path} is not today's output; after a deliberate change, --update-golden and review the diff"
        )
        assert without_versions(kept) == without_versions(output), stale


@pytest.fixture
def golden(request) -> Golden:
    return Golden(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def isolated():
    """Run CLI commands in one guarded process of their own (tests/isolated.py), torch imported once."""
    with Isolated() as runner:
        yield runner


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    """Stand-ins for timm, torchvision and transformers (tests/stand_ins.py) imported in place of any
    installed; the real ones, where they were imported, are back after the test."""
    import sys

    import stand_ins as libraries  # tests/stand_ins.py

    libraries.write(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    ours = lambda name: name.split(".")[0] in libraries.LIBRARIES  # noqa: E731
    for name in [name for name in sys.modules if ours(name)]:
        monkeypatch.delitem(sys.modules, name)
    yield tmp_path
    for name in [name for name in sys.modules if ours(name)]:
        del sys.modules[name]  # the stand-ins; monkeypatch then puts back what was there
