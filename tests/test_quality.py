"""Lint, format and type checks run with the tests (ruff and mypy come with the [test] extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tools import REQUIRE_ENV, need

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["chainnet", "tests", "examples", "benchmarks"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint() -> None:
    need("ruff")
    result = _run("ruff", "check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    need("ruff")
    result = _run("ruff", "format", "--check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    need("mypy", module=True)
    result = _run(sys.executable, "-m", "mypy", "chainnet")
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_ships_py_typed() -> None:
    assert (ROOT / "chainnet" / "py.typed").exists()


def test_a_missing_tool_fails_where_tools_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="no-such-tool is not installed"):
        need("no-such-tool")
    with pytest.raises(pytest.fail.Exception, match=REQUIRE_ENV):
        need("no_such_module", module=True)
    need(sys.executable)  # a tool that is there passes
    need("pytest", module=True)
    monkeypatch.setenv(REQUIRE_ENV, "0")
    with pytest.raises(pytest.skip.Exception, match="no-such-tool is not installed"):
        need("no-such-tool")
