"""examples/sequence_classification.py runs in its smoke mode and its loss falls."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sequence_classification.py"


def test_sequence_classification_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("sequence_classification", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(["--smoke"])
    output = capsys.readouterr().out
    losses = [float(x) for x in re.findall(r"^epoch \d+/\d+  loss (\d+\.\d+)$", output, re.M)]
    assert len(losses) == 3
    assert losses[-1] < losses[0]
    assert output.strip().splitlines()[-1] == f"test accuracy: {accuracy:.4f}"
    assert 0.0 <= accuracy <= 1.0
