"""The docs cannot go stale: their commands and code run, their code prints what its comments promise,
every option and JSON key is documented, and CI runs the README's own test command."""

import io
import json
import re
import shlex
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.S)


def console_commands() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        for block in blocks(path, "console"):
            for line in block.splitlines():
                if line.startswith("$ convcalc "):
                    command = line[len("$ convcalc ") :].split("  #")[0].strip()
                    found.append((path.name, command))
    return found


COMMANDS = console_commands()
# What a documented model TARGET needs beyond convcalc's own dependencies: its command skips without it.
NEEDED = {
    "docs/examples/hf.py:bert": ("transformers",),
    "docs/examples/hf.py:unet": ("diffusers",),
    "hf:docs/examples/bert-base/config.json": ("transformers",),
}


def test_docs_have_commands():
    assert len(COMMANDS) >= 30


@pytest.mark.slow  # a hundred commands, most of them verified in torch, some timed (--bench) or pooled (-j)
@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[f"{p}: {c}" for p, c in COMMANDS])
def test_documented_command_runs(run, page, command):
    for library in NEEDED.get(command.split()[1] if command.startswith("model ") else "", ()):
        pytest.importorskip(library, reason=f"{command} needs {library}")
    result = run(*shlex.split(command))
    assert result.exit_code == 0, f"{page}: convcalc {command}\n{result.output}"


EXAMPLES = [(p.name, code) for p in DOCS for code in blocks(p, "python")]


def promises(code: str) -> dict[int, str]:
    """By line: what a `print(...)  # text` line of an example promises to print, its comment's text.

    `...` in a promise stands for any text, as in doctest: `# {'standard': 648, ..., 'dwsep': 126, ...}`.
    """
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT and token.line.lstrip().startswith("print("):
            found[token.start[0]] = token.string.removeprefix("#").strip()
    return found


def kept(promise: str, printed: str) -> bool:
    pattern = ".*?".join(re.escape(part) for part in promise.split("..."))
    return re.fullmatch(pattern, printed, flags=re.S) is not None


def run_example(code: str, page: str) -> dict[int, list[str]]:
    """Run an example as it is; what each of its lines printed, one string per call."""
    printed: dict[int, list[str]] = {}

    def recorded(*args, sep=None, end=None, file=None, flush=False):
        shown = io.StringIO()
        print(*args, sep=sep, end="", file=shown)
        printed.setdefault(sys._getframe(1).f_lineno, []).append(shown.getvalue())
        print(*args, sep=sep, end=end, file=file, flush=flush)

    exec(compile(code, page, "exec"), {"print": recorded})
    return printed


def test_docs_promise_printed_values():
    assert sum(len(promises(code)) for _, code in EXAMPLES) >= 10


@pytest.mark.parametrize(("page", "code"), EXAMPLES, ids=lambda v: str(v)[:40])
def test_documented_python_prints_what_it_promises(page, code, capsys):
    printed = run_example(code, page)
    assert capsys.readouterr().out, f"{page}: the example printed nothing"
    lines = code.splitlines()
    for number, promise in promises(code).items():
        shown = printed.get(number)
        assert shown, f"{page}: `{lines[number - 1].strip()}` never ran"
        for text in shown:
            assert kept(promise, text), f"{page}: `{lines[number - 1].strip()}` printed {text!r}"


# The page that documents each command's options.
PAGES = {
    "conv": "usage.md",
    "compare": "usage.md",
    "stack": "networks.md",
    "model": "networks.md",
    "sweep": "sweep.md",
    "check": "ci.md",
}


def test_every_command_has_a_page():
    from convcalc.cli.group import COMMANDS

    commands = set(COMMANDS)
    assert commands == set(PAGES), f"commands without a page in PAGES: {sorted(commands - set(PAGES))}"


@pytest.mark.parametrize("command", list(PAGES))
def test_every_option_is_documented(run, command):
    usage = (ROOT / "docs" / PAGES[command]).read_text()
    options = set(re.findall(r"(--[a-z][a-z-]+)", run(command, "--help").stdout))
    options -= {"--help", "--install-completion", "--show-completion"}
    missing = sorted(o for o in options if f"`{o}" not in usage)
    assert not missing, f"options missing from docs/{PAGES[command]}: {missing}"


def keys(value, found=None):
    found = set() if found is None else found
    if isinstance(value, dict):
        for k, v in value.items():
            found.add(k)
            keys(v, found)
    elif isinstance(value, list):
        for v in value:
            keys(v, found)
    return found


@pytest.mark.parametrize(
    "command",
    [
        "conv 6 10 3 --expect params=1 --explain",
        "conv 6 10 3 -i 8 --bench --peak-tflops 1 --peak-gbps 10 --backward",
        "stack 'conv out=4 kernel=3; relu; flatten; linear out=2' -i 3x8x8 --backward",
        "model docs/examples/resnet.py:resnet50 -i 3x32x32 --depth 1 --backward",
        "compare 6 12 3 -g 4 --bn --expect dwsep.params=1",
        "stack 'conv out=4 kernel=3; bn eps=0.001 momentum=0.2; leaky negative_slope=0.2; "
        "dwsep out=8 kernel=3; maxpool kernel=2; adaptive_avgpool out=2; flatten; linear out=2; dropout' "
        "-i 3x16x16 --expect params=1",
        "model docs/examples/resnet.py:resnet50 -i 3x32x32 --depth 1 --expect conv1.params=1",
    ],
)
def test_every_json_key_is_documented(run, command):
    schema = (ROOT / "docs" / "json-schema.md").read_text()
    data = json.loads(run(command + " -f json").stdout)
    missing = sorted(k for k in keys(data) if f"`{k}`" not in schema)
    assert not missing, f"JSON keys missing from docs/json-schema.md: {missing}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, flags=re.S)
    assert len(commands) == 2, "the README has exactly two set-up commands"
    main_job, tests = commands
    assert "convcalc conv" in main_job and "pytest" in tests
    assert tests in (ROOT / ".ci" / "run").read_text()


NETWORK_STACK = (
    "stack 'conv name=stem out=16 kernel=3 padding=1 bias=false; bn; relu; repeat times=2 [ dwsep "
    "name=block out=32 kernel=3 stride=2 padding=1 bias=false; bn; relu ]; avgpool kernel=8; flatten; "
    "linear out=10' -i 3x32x32"
)
NETWORK_MODEL = (
    "model docs/examples/resnet.py:resnet50 -i 3x224x224 --depth 1 --columns kind,output,params,macs,rf"
)

# Outputs the docs show in full: (page, command, COLUMNS or None for a pipe, text before, text after).
# Each must be today's; `pytest tests/cli/test_docs.py --update-golden` rewrites them.
SHOWN = [
    ("README.md", "conv 6 10 3 -g 2 --no-bias", "100", "$ convcalc conv 6 10 3 -g 2 --no-bias\n", "```"),
    (
        "docs/family.md",
        "compare 6 12 3 --no-bias",
        "100",
        "$ convcalc compare 6 12 3 --no-bias\n```\n\n```\n",
        "```",
    ),
    (
        "docs/papers.md",
        "compare 64 128 3 -p 1 -i 56 --no-bias -g 2 -g 32 -g 3 -f markdown",
        None,
        "Pasted as it is, it renders as:\n\n",
        "\n## LaTeX",
    ),
    (
        "docs/papers.md",
        "compare 64 128 3 -p 1 -i 56 --no-bias -g 2 -g 32 -g 3 -f latex",
        None,
        "```latex\n",
        "```",
    ),
    (
        "docs/networks.md",
        NETWORK_STACK,
        "100",
        f"$ convcalc {NETWORK_STACK}\n```\n\n```\n",
        "```",
    ),
    (
        "docs/networks.md",
        NETWORK_MODEL,
        "100",
        f"$ convcalc {NETWORK_MODEL}\n```\n\n```\n",
        "```",
    ),
    (
        "docs/speed.md",
        "conv 6 10 3 -g 2 --no-bias -i 32 --backward",
        "100",
        "$ convcalc conv 6 10 3 -g 2 --no-bias -i 32 --backward\n```\n\n```\n",
        "```",
    ),
]


@pytest.mark.parametrize(
    ("page", "command", "columns", "before", "after"), SHOWN, ids=[f"{s[0]}: {s[1]}" for s in SHOWN]
)
def test_shown_output_is_todays(golden, page, command, columns, before, after):
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, shlex.split(command), env={"COLUMNS": columns})
    assert result.exit_code == 0, result.output
    golden(result.stdout, ROOT / page, between=(before, after))
