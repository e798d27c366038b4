"""A chainnet network trained by ``cn.fit`` under ``MultiWorkerMirroredStrategy`` with two
worker processes on this machine (TF_CONFIG with two loopback ports, collective ops on CPU)
ends where one process training alone ends.

Each worker holds the whole (small) data set, as the same script runs on every worker; the
in-graph path shuffles alike on both (same seed), gives each worker's replica its half of each
global batch of 16, and the optimizer all-reduces the gradients, so both workers end with the
single worker's weights. (``model.fit`` itself fails here in Keras 3.15: its symbolic build
reduces the first distributed batch, which MultiWorkerMirroredStrategy rejects.)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("multiworker_worker.py")
TIMEOUT = 240


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _env(tf_config: dict | None) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_two_workers_match_one(tmp_path: Path) -> None:
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(tmp_path / f"worker{index}.json")],
                cwd=ROOT,
                env=_env(config),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    single = subprocess.run(
        [sys.executable, str(WORKER), str(tmp_path / "single.json")],
        cwd=ROOT,
        env=_env(None),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=TIMEOUT)[0])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]
    assert single.returncode == 0, single.stderr[-3000:]

    alone = _read(tmp_path / "single.json")
    for index in range(2):
        worker = _read(tmp_path / f"worker{index}.json")
        assert worker["replicas"] == 2
        assert worker["in_graph"]
        assert worker["iterations"] == alone["iterations"] == 3 * 4
        for a, b in zip(alone["weights"], worker["weights"], strict=True):
            np.testing.assert_allclose(np.array(b), np.array(a), atol=1e-5, rtol=1e-5)
        for name in ("loss", "accuracy"):
            np.testing.assert_allclose(worker["history"][name], alone["history"][name], atol=1e-5)
