"""MYPY TEST: the message bus's registrations are checked statically.

Runs mypy (a few seconds on a cold cache) on ``typing_cases/registrations.py`` with its
``# type: ignore[code]`` comments removed, and asserts that mypy reports exactly those codes on
exactly those lines: a handler registered for the wrong message, unit of work, result type or
dependencies is a type error, and the correct registrations are not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[3]
CASES = Path(__file__).with_name("typing_cases") / "registrations.py"
IGNORE = re.compile(r"  # type: ignore\[([a-z, -]+)\]")
REPORTED = re.compile(r"^[^:]+:(\d+): error: .*  \[([a-z-]+)\]$")


def expected_errors(source: str) -> set[tuple[int, str]]:
    return {
        (number, code.strip())
        for number, line in enumerate(source.splitlines(), start=1)
        for match in IGNORE.finditer(line)
        for code in match.group(1).split(",")
    }


@pytest.mark.slow
def test_mypy_refuses_exactly_the_mismatched_registrations(tmp_path: Path) -> None:
    source = CASES.read_text()
    expected = expected_errors(source)
    assert len(expected) >= 10
    case = tmp_path / "registrations.py"
    case.write_text(IGNORE.sub("", source))
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(ROOT / ".mypy_cache"),
            "--no-error-summary",
            str(case),
        ]
    )
    assert stderr == ""
    reported = {
        (int(match.group(1)), match.group(2))
        for line in stdout.splitlines()
        if (match := REPORTED.match(line))
    }
    assert reported == expected, stdout
    assert status == 1
