"""The lint, type and docs checks need tools from the [test] extra: without one they skip, except
where ``CHAINNET_REQUIRE_TOOLS=1`` (CI and tox set it), where a missing tool is a failure."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

REQUIRE_ENV = "CHAINNET_REQUIRE_TOOLS"


def need(tool: str, *, module: bool = False) -> None:
    """Skip (or fail, under ``CHAINNET_REQUIRE_TOOLS=1``) when ``tool`` is missing: a command
    on PATH, or with ``module=True`` a module this Python can run with ``-m``."""
    found = importlib.util.find_spec(tool) is not None if module else shutil.which(tool)
    if found:
        return
    message = f"{tool} is not installed (it comes with chainnet's [test] extra)"
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        pytest.fail(f"{message}, and {REQUIRE_ENV} is set: this check must run here")
    pytest.skip(message)
