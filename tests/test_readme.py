"""README.md, run exactly as written: every fenced code block, each in a fresh temporary folder.

- ``python`` blocks are executed as they stand (each on its own: a block must import what it uses);
- ``bash`` blocks run line by line: a line of ``optimlab`` commands joined by ``&&`` goes through the CLI in-process
  (fast, and a failure shows its stderr); any other line runs in bash, with ``python3``, ``python`` and
  ``optimlab`` on PATH pointing at this interpreter and this checkout, so the files a block creates are there for
  its next lines;
- install lines (``python3 -m venv``, ``pip install``, and the line that runs the tests) are skipped: they are the
  steps CI itself runs (``.ci/run`` takes its test command from the README);
- ``text`` blocks are output and file trees: shown, not run;
- ``<!-- readme-test: file: NAME -->`` on the line right above a block makes it a file the README tells the reader to
  save (a ``toml`` spec): it must parse, and it is written as NAME into the folder of every block after it;
- ``<!-- readme-test: skip: REASON -->`` on the line right above a block skips it, for blocks that cannot run in a
  test (a server, a cluster of machines); the reason is required.

Each folder holds a link to the checkout's ``examples/``: the README's commands run from the repository's root.
Every line must exit 0, and no code block may be indented instead of fenced (it would escape all this).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from optimlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RUN = {"bash": "shell", "sh": "shell", "shell": "shell", "console": "shell", "python": "python", "py": "python"}
SHOWN = {"text"}
SKIP = re.compile(r"^<!--\s*readme-test:\s*skip:\s*(\S.*?)\s*-->$")
FILE = re.compile(r"^<!--\s*readme-test:\s*file:\s*([\w.-]+)\s*-->$")
PARSE = {"toml": tomllib.loads}


@dataclass
class Block:
    line: int  # where its code starts in README.md
    language: str
    code: str
    skip: str | None
    file: str | None = None  # the name the README saves this block under


def blocks(text: str) -> list[Block]:
    found, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start = i + 1
        end = next(j for j in range(start, len(lines)) if lines[j].rstrip() == "```")
        above = lines[i - 1].strip() if i > 0 else ""
        skip, file = SKIP.match(above), FILE.match(above)
        found.append(Block(start + 1, fence.group(1), "\n".join(lines[start:end]), skip and skip.group(1),
                           file and file.group(1)))
        i = end + 1
    return found


BLOCKS = blocks(README.read_text(encoding="utf-8"))


def test_every_block_says_what_it_is():
    for b in BLOCKS:
        assert b.language in RUN or b.language in SHOWN or (b.file and b.language in PARSE), \
            f"README.md:{b.line}: a code block needs a language: one of {sorted(RUN)} (run) or text (shown), " \
            f"or a file marker and one of {sorted(PARSE)}"


FILES = [b for b in BLOCKS if b.file]


@pytest.mark.parametrize("block", FILES, ids=[f"README.md:{b.line} {b.file}" for b in FILES])
def test_saved_files_parse(block):
    PARSE[block.language](block.code)


def test_no_indented_code_blocks():
    """Indented code blocks would escape the test: every block is fenced."""
    text = README.read_text(encoding="utf-8")
    outside = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    lines = outside.splitlines()
    for n, line in enumerate(lines[1:], start=1):
        if line.startswith("    ") and not lines[n - 1].strip():
            pytest.fail(f"README.md: indented code block {line.strip()!r}; fence it with ```bash, ```python or ```text")


def _install_step(command: str) -> bool:
    first = command.split("&&")[0].strip()
    return bool(re.match(r"^(python3?|\S*/python3?) -m venv\b|^(\S*/)?pip3? install\b", first)) or "pytest" in command


def _optimlab_only(command: str):
    """The argv of each command of a line made only of `optimlab ...` commands joined by &&, else None."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)  # a trailing `# comment` is dropped, as bash drops it
    commands, current = [], []
    for token in tokens + ["&&"]:
        if token == "&&":
            if not current or not re.match(r"^(\S*/)?optimlab$", current[0]):
                return None
            commands.append(current[1:])
            current = []
        elif set(token) <= set("|&;<>()"):
            return None  # pipes, redirections, other operators: leave the line to bash
        else:
            current.append(token)
    return commands


@pytest.fixture
def shell_env(tmp_path):
    """PATH with `python3`, `python` and `optimlab` meaning this interpreter and this checkout."""
    bin_dir = tmp_path.parent / f"{tmp_path.name}-bin"
    bin_dir.mkdir()
    # scripts rather than symlinks, so that a virtual environment's interpreter still finds its environment
    for name, command in (("python3", ""), ("python", ""), ("optimlab", " -m optimlab")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}"{command} "$@"\n')
        shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    return env


RUNNABLE = [b for b in BLOCKS if b.language in RUN]


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"README.md:{b.line} {b.language}" for b in RUNNABLE])
def test_readme_block_runs_as_written(block, tmp_path, monkeypatch, capsys, shell_env):
    if block.skip:
        pytest.skip(block.skip)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    for saved in FILES:
        if saved.line < block.line:
            (tmp_path / saved.file).write_text(saved.code + "\n", encoding="utf-8")
    if RUN[block.language] == "python":
        exec(compile(block.code, f"README.md:{block.line}", "exec"), {"__name__": "__readme__"})
        return
    for offset, line in enumerate(block.code.splitlines()):
        command = line.strip()
        where = f"README.md:{block.line + offset}: {command}"
        if not command or command.startswith("#"):
            continue
        # the install steps of a line (venv, pip) are what CI itself runs; what follows them runs here, except the
        # test command (this very suite)
        parts = [part.strip() for part in command.split("&&")]
        if any("pytest" in part for part in parts):
            continue
        command = " && ".join(part for part in parts if not _install_step(part))
        if not command:
            continue
        argvs = _optimlab_only(command)
        # a line that reaches optax starts JAX's threads: it runs in its own process, since this one forks later
        # (the report's figure workers, tune's workers) and a fork after JAX has started can deadlock
        if argvs is not None and not any("optax" in arg for argv in argvs for arg in argv):
            for argv in argvs:
                status = main(argv)
                err = capsys.readouterr().err
                assert status == 0, f"{where}\nexit {status}: {err}"
        else:
            done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=shell_env, capture_output=True,
                                  text=True, timeout=300)
            assert done.returncode == 0, f"{where}\nexit {done.returncode}: {done.stderr}"


def test_ci_runs_the_readme_test_command():
    """.ci/run takes the test command from the README, so the two cannot drift apart."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lines = [line for b in BLOCKS if b.language in RUN for line in b.code.splitlines()]
    assert any("pytest" in line and _install_step(line) for line in lines)
    assert "README.md" in ci and "pytest" in ci


def test_readme_opens_with_install_and_main_job_then_install_and_tests():
    """The first block holds the two commands: install and run the main job; install and run the tests (the line
    .ci/run greps and runs)."""
    main_job, tests = BLOCKS[0].code.splitlines()
    assert BLOCKS[0].language == "bash"
    assert re.match(r"^python3 -m venv \.venv && \.venv/bin/pip install \. && \.venv/bin/optimlab reproduce ",
                    main_job)
    ci_line = re.search(r"(?m)^python3 -m venv .*pytest.*$", README.read_text(encoding="utf-8")).group(0)
    assert tests == ci_line


@pytest.mark.parametrize("text,expected", [
    ("optimlab train --lr 0.1  # a comment", [["train", "--lr", "0.1"]]),
    ("optimlab train --save r.json && optimlab explain --from r.json", [["train", "--save", "r.json"],
                                                                        ["explain", "--from", "r.json"]]),
    (".venv/bin/optimlab reproduce --out report/", [["reproduce", "--out", "report/"]]),
    ("optimlab optimizers | head -1", None),
    ("python3 -c 'print(1)'", None),
])
def test_how_lines_are_read(text, expected):
    assert _optimlab_only(text) == expected


def test_markers_and_install_lines_are_recognised():
    found = blocks("text\n<!-- readme-test: skip: starts a server -->\n```bash\noptimlab serve\n```\n"
                   "<!-- readme-test: file: spec.toml -->\n```toml\na = 1\n```\n```bash\nls\n```\n")
    assert found[0].skip == "starts a server" and found[0].code == "optimlab serve" and found[0].file is None
    assert found[1].file == "spec.toml" and found[1].skip is None and found[1].code == "a = 1"
    assert found[2].file is None and found[2].skip is None
    assert _install_step('python3 -m venv .venv && .venv/bin/pip install ".[test]" && .venv/bin/python -m pytest')
    assert _install_step("pip install optimlab") and not _install_step("optimlab train")
