"""The examples run end to end: a smoke run of each on the small fixture (a few steps), and the
full runs with their accuracy bars (``pytest -m slow``, run by hand: they take minutes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
FIXTURE = ROOT / "tests" / "data" / "mnist-small"
FULL_MNIST = ROOT.parent / "shared" / "data" / "mnist"
ACCURACY_LINE = re.compile(r"^test accuracy: (\d\.\d{4})$")

#: The PNGs each example writes to --out.
FIGURES = {
    "mnist_mlp": ["history", "hidden_weights", "confusion_matrix"],
    "mnist_cnn": ["history", "conv1_filters", "confusion_matrix", "misclassified"],
    "mnist_pretty": [
        "test_images",
        "misclassified",
        "confusion_matrix",
        "conv1_filters",
        "conv2_filters_channel0",
        "conv2_filters_channel1",
        "example_images",
        "conv1_outputs_image1",
        "conv1_outputs_image2",
        "conv2_outputs_image1",
        "conv2_outputs_image2",
    ],
    "api_tour": ["levels"],
    "vit_mnist": ["history", "confusion_matrix"],
    "transfer_learning": ["history"],
}


def run_example(name: str, out: Path, *args: str, timeout: float) -> tuple[str, float]:
    """Run ``examples/<name>.py --out out *args``; returns its output and the accuracy printed
    on its last line (the test fails, showing the output, if it did not end that way)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{name} exited with {result.returncode}:\n{output[-4000:]}"
    lines = result.stdout.strip().splitlines()
    match = ACCURACY_LINE.match(lines[-1]) if lines else None
    assert match, f"{name} did not end with 'test accuracy: 0.xxxx':\n{result.stdout[-2000:]}"
    return output, float(match.group(1))


def check_outputs(name: str, out: Path) -> dict[str, Any]:
    """Every figure is a non-empty PNG; the model and results.json are there."""
    for figure in FIGURES[name]:
        path = out / f"{figure}.png"
        assert path.is_file(), f"{name} did not write {path.name}"
        data = path.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
        assert len(data) > 2000, f"{path.name} is nearly empty ({len(data)} bytes)"
    assert (out / f"{name}.keras").stat().st_size > 0
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results


#: Extra options of each smoke run: the pretty CNN's 7 steps of 64 on the 200 images are 2
#: whole epochs of 3 steps and 1 more, which exercises both parts of its iteration count.
SMOKE_OPTIONS = {"mnist_pretty": ("--iterations", "7")}

#: Seconds a smoke run may take (default 180): transfer_learning traces MobileNetV2 twice
#: (a second compile after unfreezing), about 35 s of CPU, minutes on a shared machine.
SMOKE_TIMEOUT = {"transfer_learning": 600}

#: Lines each smoke run must print.
EXPECTED_OUTPUT = {
    "mnist_mlp": ["Total params: 50,890"],
    "mnist_cnn": ["Total params: 469,514", "469,514 parameters, as in the article"],
    "mnist_pretty": [
        "Total params: 242,062",
        "training: 7 iterations of 64 images = 2.2 epochs of 3 steps",
        "Confusion Matrix:",
    ],
    "api_tour": [
        "== 4. the Keras model",
        "saved to .keras and loaded back with safe_mode=True: same predictions True",
    ],
    "vit_mnist": ["Total params: 71,946"],
    "transfer_learning": [
        "taps: backbone/block_3_expand_relu (None, 8, 8, 48), "
        "backbone/block_6_expand_relu (None, 4, 4, 96)",
        "random weights: 52 batch norm layers calibrated on 512 training images",
        "phase 1: froze 153 backbone layers; trainable 35,850",
        "Trainable params: 35,850",
        "phase 2: unfroze ['backbone/block_16_expand', 'backbone/block_16_expand_relu', ",
        "'backbone/block_16_project']; trainable 95,322",
        "saved to .keras and loaded back with safe_mode=True: same predictions True",
    ],
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_example_smoke(name: str, tmp_path: Path) -> None:
    args = ("--smoke", "--data-dir", str(FIXTURE), "--verbose", "2", *SMOKE_OPTIONS.get(name, ()))
    output, accuracy = run_example(name, tmp_path, *args, timeout=SMOKE_TIMEOUT.get(name, 180))
    results = check_outputs(name, tmp_path)
    for line in EXPECTED_OUTPUT[name]:
        assert line in output, f"{name} did not print {line!r}:\n{output[-3000:]}"
    assert 0.0 <= accuracy <= 1.0
    assert results["test_accuracy"] == accuracy
    assert results["test_images"] == 200  # the fixture's test set
    assert results["training_images"] == 200  # --smoke's --limit
    if name == "mnist_pretty":
        assert results["iterations"] == 7


# -- the full runs: the accuracy bars of the reference workloads ------------------------------
full_mnist = pytest.mark.skipif(
    not (FULL_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"the full MNIST is not in {FULL_MNIST}",
)


@pytest.mark.slow
@full_mnist
@pytest.mark.parametrize(
    ("name", "bar", "timeout"),
    [
        ("mnist_mlp", 0.970, 20 * 60),  # 20 epochs: 97.40% in 19 s on 2 cores
        ("mnist_pretty", 0.985, 60 * 60),  # 10,000 iterations: 98.91% in 4 min
        ("mnist_cnn", 0.990, 3 * 60 * 60),  # 10 epochs: 99.51% in 21 min
        ("vit_mnist", 0.970, 60 * 60),  # 5 epochs: 97.39% in 351 s
    ],
)
def test_example_full_run_reaches_the_reference(
    name: str, bar: float, timeout: float, tmp_path: Path
) -> None:
    _, accuracy = run_example(name, tmp_path, "--verbose", "2", timeout=timeout)
    check_outputs(name, tmp_path)
    assert accuracy >= bar, f"{name}: test accuracy {accuracy:.4f} < {bar}"


# -- PrettyTensor's recurrent tutorials: their own data (examples/data), no --out -------------
#: The parameter line each prints: PrettyTensor's count, asserted by the example itself.
RECURRENT = {
    "baby_names": "parameters: 80,866 (PrettyTensor's baby_names: 80,866)",
    "shakespeare": "parameters: 504,576 (PrettyTensor's shakespeare: 504,576)",
}
EPOCH_LOSS = re.compile(r"^epoch \d+/\d+  loss (\d+\.\d+)$", re.M)


def run_recurrent_example(name: str, *args: str, timeout: float) -> list[str]:
    """Run ``examples/<name>.py *args``; checks the parameter line, that the loss printed
    after each epoch fell and the last line; returns the output's lines."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = result.stdout
    assert result.returncode == 0, (
        f"{name} exited with {result.returncode}:\n{result.stderr[-4000:]}"
    )
    assert RECURRENT[name] in output, output[-2000:]
    losses = [float(x) for x in EPOCH_LOSS.findall(output)]
    assert len(losses) >= 2 and losses[-1] < losses[0], f"{name}: the loss did not fall: {losses}"
    lines = output.strip().splitlines()
    assert ACCURACY_LINE.match(lines[-1]), lines[-1]
    return lines


@pytest.mark.parametrize("name", list(RECURRENT))
def test_recurrent_example_smoke(name: str) -> None:
    lines = run_recurrent_example(name, "--smoke", timeout=300)
    if name == "shakespeare":  # sampled one character at a time by the stateful copy
        sample = next(line for line in lines if line.startswith("sample: "))
        assert sample.startswith("sample: Shall I") and len(sample) >= len("sample: ") + 40


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RECURRENT))
def test_recurrent_example_full_run(name: str) -> None:
    run_recurrent_example(name, timeout=30 * 60)


def test_text_transformer_smoke() -> None:
    """The keras-io Transformer classifier trains on its own made-up reviews (no data files):
    the loss falls over the smoke run's epochs."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "text_transformer.py"), "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "23,870 parameters" in result.stdout
    assert "loss fell" in result.stdout, result.stdout[-2000:]
    assert re.search(r"^test accuracy: \d\.\d{4}$", result.stdout, re.MULTILINE)


@pytest.mark.slow
def test_text_transformer_full_run_learns() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "text_transformer.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30 * 60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "loss fell" in result.stdout
    accuracy = float(result.stdout.strip().splitlines()[-1].split()[-1])
    assert accuracy >= 0.95, result.stdout  # 4 epochs: 100% in 67 s
