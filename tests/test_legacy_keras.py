"""Legacy Keras (Keras 2, tf_keras) is refused clearly: a warning at import when
TF_USE_LEGACY_KERAS is set, an error naming Keras 3 when a tf_keras object reaches chainnet."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

import chainnet as cn
from chainnet import _legacy

ROOT = Path(__file__).resolve().parents[1]


def _fake_tf_keras_class(name: str, module: str = "tf_keras.src.engine.keras_tensor") -> type:
    """A class as tf_keras defines it (only its module tells it apart)."""
    return types.new_class(name, (), {}, lambda ns: ns.update({"__module__": module}))


FakeKerasTensor = _fake_tf_keras_class("KerasTensor")
FakeDense = _fake_tf_keras_class("Dense", "tf_keras.src.layers.core.dense")


def _real_tf_keras() -> list[Any]:
    """A real tf_keras Input tensor, layer and model, when tf_keras is installed."""
    if importlib.util.find_spec("tf_keras") is None:
        return []
    import tf_keras

    x = tf_keras.Input((4,))
    return [x, tf_keras.layers.Dense(2), tf_keras.Model(x, tf_keras.layers.Dense(2)(x))]


LEGACY = [FakeKerasTensor(), FakeDense(), *_real_tf_keras()]


def _assert_says_keras3(caught: pytest.ExceptionInfo[BaseException], where: str) -> None:
    text = str(caught.value)
    assert text.startswith(where), text
    for phrase in ("legacy Keras 2 object", "tf_keras", "chainnet needs Keras 3", "import keras"):
        assert phrase in text, (phrase, text)
    assert "TF_USE_LEGACY_KERAS" in text


@pytest.mark.parametrize("value", LEGACY, ids=lambda v: type(v).__name__)
def test_wrap_refuses_legacy_objects(value: Any) -> None:
    with pytest.raises(cn.ChainTypeError) as caught:
        cn.wrap(value)
    _assert_says_keras3(caught, "wrap()")


@pytest.mark.parametrize("value", LEGACY, ids=lambda v: type(v).__name__)
def test_operands_refuse_legacy_objects(value: Any) -> None:
    x = cn.input((4,), name="x")
    with pytest.raises(cn.ChainTypeError) as caught:
        x.add(value)
    assert "legacy Keras 2 object" in str(caught.value) and "add(" in str(caught.value)
    assert [node.name for node in x.network.nodes] == ["x"]  # the network is unchanged
    with pytest.raises(cn.ChainTypeError, match="chainnet needs Keras 3"):
        x.concat(-1, [x, value])


@pytest.mark.parametrize("value", LEGACY, ids=lambda v: type(v).__name__)
def test_apply_layer_and_apply_refuse_legacy_objects(value: Any) -> None:
    x = cn.input((4,), name="x")
    with pytest.raises(cn.ChainTypeError) as caught:
        x.apply_layer(value)
    assert "apply_layer(layer): got a legacy Keras 2 object" in str(caught.value)
    with pytest.raises(cn.ChainTypeError, match="apply\\(fn\\): got a legacy Keras 2 object"):
        x.apply(value)
    assert [node.name for node in x.network.nodes] == ["x"]


def test_keras3_objects_pass() -> None:
    for value in (keras.Input((4,)), keras.layers.Dense(2), np.ones((2, 4), "float32")):
        assert not _legacy.is_legacy_keras(value)
    assert not _legacy.is_legacy_keras(_fake_tf_keras_class("Dense", "tf_kerasish.layers")())
    assert _legacy.is_legacy_keras(_fake_tf_keras_class("Thing", "tf_keras")())
    # a subclass of a tf_keras class defined in user code is legacy too
    assert _legacy.is_legacy_keras(type("Mine", (FakeDense,), {"__module__": "mine"})())


@pytest.mark.parametrize("version", ["2.15.0", "2.4.3", "1.2", "nightly"])
def test_keras_before_3_is_an_import_error(version: str) -> None:
    with pytest.raises(ImportError, match=f"chainnet needs Keras 3 or newer; .* is {version}"):
        _legacy.check_keras_version(version)
    _legacy.check_keras_version("3.0.0")
    _legacy.check_keras_version("4.1.0.dev2026")


def _import_chainnet(**env: str) -> subprocess.CompletedProcess[str]:
    code = "import warnings; warnings.simplefilter('always'); import chainnet; print('ok')"
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, timeout=300
    )


def test_the_environment_variable_warns_once_at_import() -> None:
    """TensorFlow reads the variable at import, so the check runs in a new process."""
    result = _import_chainnet(TF_USE_LEGACY_KERAS="1")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    assert result.stderr.count("LegacyKerasWarning") == 1, result.stderr
    assert "TF_USE_LEGACY_KERAS=1 makes tf.keras the legacy Keras 2" in result.stderr
    assert "chainnet needs Keras 3" in result.stderr


@pytest.mark.parametrize(
    ("value", "legacy"), [("1", True), ("true", True), ("True", True), ("0", False), ("", False)]
)
def test_the_variable_is_read_as_tensorflow_reads_it(
    monkeypatch: pytest.MonkeyPatch, value: str, legacy: bool
) -> None:
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", value)
    assert _legacy.legacy_env_set() is legacy
    with pytest.warns(cn.LegacyKerasWarning) if legacy else _no_warning():
        _legacy.warn_if_legacy_env()


@contextlib.contextmanager
def _no_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_no_warning_without_the_environment_variable() -> None:
    result = _import_chainnet(TF_USE_LEGACY_KERAS="0")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    assert "LegacyKerasWarning" not in result.stderr
