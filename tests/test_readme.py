"""The README's first screen gives exactly two set-up commands, and CI runs the second."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def first_code_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert block, "README has no sh code block"
    return block.group(1).splitlines()


def test_readme_opens_with_exactly_two_commands() -> None:
    lines = first_code_block()
    commands = [line for line in lines if line and not line.startswith("#")]
    assert len(commands) == 2
    assert lines[0].startswith("# 1. install and run the main job")
    assert lines[2] == "# 2. install and run the tests"
    assert "graphsvc init" in commands[0] and commands[0].endswith("graphsvc serve")
    assert "pytest" in commands[1]
    # "first screen": the commands come before the 25th line
    text = (ROOT / "README.md").read_text().splitlines()
    assert max(text.index(c) for c in commands) < 25


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert "grep -A1 '^# 2. install and run the tests' README.md" in script
    assert 'eval "$test_command"' in script
