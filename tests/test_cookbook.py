"""The README's cookbook runs as written: every command exits 0 and prints the lines shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs

from .conftest import ROOT

README = Path(ROOT) / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


@attrs.frozen
class Step:
    kind: str  # "console" (one shell command) or "python" (a script)
    code: str
    expected: list[str]


def cookbook_steps() -> list[Step]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Cookbook\n", 1)[1].split("\n## ", 1)[0]
    blocks = [(m.group(1), m.group(2)) for m in FENCE.finditer(section)]
    steps: list[Step] = []
    for index, (language, body) in enumerate(blocks):
        if language == "console":
            for chunk in re.split(r"^(?=\$ )", body, flags=re.M):
                if chunk.strip():
                    command, *output = chunk.splitlines()
                    steps.append(Step("console", command[2:], output))
        elif language == "python":
            following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
            expected = following[1].splitlines() if following[0] == "" else []
            steps.append(Step("python", body, expected))
    return steps


def matches(expected: str, line: str) -> bool:
    pattern = ".*".join(re.escape(" ".join(part.split())) for part in expected.split("..."))
    return re.fullmatch(pattern, " ".join(line.split())) is not None


def test_the_cookbook_has_at_least_five_recipes():
    steps = cookbook_steps()
    assert len(steps) >= 8
    assert sum(1 for step in steps if step.kind == "python") >= 1
    assert all(step.expected for step in steps if not step.code.startswith("gigaledger import"))


def test_every_recipe_runs_as_written(tmp_path):
    os.symlink(Path(ROOT) / "events", tmp_path / "events")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    env.pop("GIGALEDGER_PLUGINS", None)
    for step in cookbook_steps():
        command = step.code if step.kind == "console" else [sys.executable, "-c", step.code]
        done = subprocess.run(command, shell=step.kind == "console", cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{step.code}\n{done.stderr}"
        # what a terminal shows: the notes on stderr come before the output they are about
        lines = iter(done.stderr.splitlines() + done.stdout.splitlines())
        for expected in step.expected:  # each shown line appears, in order
            assert any(matches(expected, line) for line in lines), (
                f"{step.code}\nexpected {expected!r} in:\n{done.stderr}{done.stdout}")
    assert (tmp_path / "plan-2028.png").read_bytes().startswith(b"\x89PNG")
