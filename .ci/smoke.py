"""Smoke test of an installed chainnet, run from outside the checkout: .ci/smoke.py MNIST_DIR.

It must import the installed package (not a source tree), build and run a network, find MNIST
through $CHAINNET_MNIST_DIR, and never search inside the installed package's folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

import chainnet as cn
from chainnet.datasets import MnistNotFoundError, load_mnist
from chainnet.datasets.mnist import ENV_VAR

package = Path(cn.__file__).resolve().parent
assert "site-packages" in package.parts, f"not the installed package: {package}"
assert not (package.parent / "pyproject.toml").exists(), package

logits = cn.input((28, 28, 1)).conv2d(5, 4, activation="relu").max_pool(2, 2).flatten()
model = logits.fully_connected(10).model()
assert model(np.zeros((2, 28, 28, 1), "float32")).shape == (2, 10)

os.environ.pop(ENV_VAR, None)
os.environ["XDG_CACHE_HOME"] = str(Path.cwd() / "no-cache")
try:
    load_mnist(download=False)
    raise AssertionError("MNIST found where none should be")
except MnistNotFoundError as err:
    searched = str(err)
assert str(package.parent) not in searched, searched  # never inside site-packages
assert "chainnet/mnist" in searched, searched  # the user cache folder is searched

os.environ[ENV_VAR] = sys.argv[1]
data = load_mnist(validation_size=100)
assert data.source == sys.argv[1] and data.train.images.shape[1:] == (28, 28, 1)
print(f"smoke test passed: chainnet {cn.__version__} from {package}")
