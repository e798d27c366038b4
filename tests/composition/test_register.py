"""``@cn.register``: user methods on every chain, in defaults scopes, templates, sequential
mode and saved models; clashes are errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

import chainnet as cn
from chainnet._registry import METHODS


@keras.saving.register_keras_serializable(package="chainnet_tests")
class Scale(keras.layers.Layer):
    """Multiplies by a learned scalar."""

    def __init__(self, initial: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initial = initial

    def build(self, input_shape: Any) -> None:
        self.scale = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial), name="scale"
        )

    def call(self, inputs: Any) -> Any:
        return inputs * self.scale

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial": self.initial}


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names registered by the test; removed afterwards (the registry is process-wide)."""
    names: list[str] = []
    yield names
    for name in names:
        if name in vars(cn.Chain):
            delattr(cn.Chain, name)
        METHODS._specs.pop(name, None)


def test_registered_function_returning_a_layer(registered: list[str]) -> None:
    @cn.register
    def test_dense_tanh(
        chain: cn.Chain, units: int, *, use_bias: bool = True, name: str | None = None
    ) -> keras.layers.Layer:
        return keras.layers.Dense(units, activation="tanh", use_bias=use_bias, name=name)

    registered.append("test_dense_tanh")
    x = cn.input((4,))
    y = x.test_dense_tanh(3)
    assert (y.name, y.method, y.shape) == ("test_dense_tanh", "test_dense_tanh", (None, 3))
    assert x.test_dense_tanh(3).name == "test_dense_tanh_1"
    with cn.defaults(use_bias=False):  # its keywords take part in defaults scopes
        assert len(x.test_dense_tanh(2).layer.weights) == 1
    with cn.defaults(test_dense_tanh={"use_bias": False}):
        assert len(x.test_dense_tanh(2).layer.weights) == 1
    with (
        pytest.raises(cn.ChainError, match="unknown key 'use_bais'"),
        cn.defaults(test_dense_tanh={"use_bais": False}),
    ):
        pass


def test_registered_function_returning_a_chain(registered: list[str]) -> None:
    @cn.register
    def test_residual(chain: cn.Chain, *, activation: str | None = "relu") -> cn.Chain:
        return (chain + chain.fully_connected(chain.shape[-1])).activation(activation or "linear")

    registered.append("test_residual")
    y = cn.input((4,)).test_residual()
    assert y.method == "activation" and y.shape == (None, 4)


def test_registered_keras_layer_class_saves_and_loads(
    registered: list[str], tmp_path: Path
) -> None:
    cn.register(Scale, name="scaled")  # "scale" is a defaults key (batch norm's)
    registered.append("scaled")
    with cn.defaults(scaled={"initial": 3.0}):
        y = cn.input((2,)).scaled()
    assert y.name == "scaled" and y.layer.initial == 3.0
    # in templates and sequential mode
    tower = cn.template(name="tower").scaled(initial=2.0).fully_connected(2)
    seq = y.sequential()
    seq.apply_template(tower).scaled(0.5)
    model = seq.model()
    data = np.ones((1, 2), "float32")
    path = tmp_path / "registered.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # safe_mode=True: the layer is serializable
    np.testing.assert_array_equal(loaded(data), model(data))


def test_register_clash_is_an_error_unless_overwrite(registered: list[str]) -> None:
    with pytest.raises(cn.ChainError, match="already have a built-in method 'conv2d'"):
        cn.register(lambda chain: keras.layers.ReLU(), name="conv2d")
    with pytest.raises(cn.ChainError, match="'shape' is an attribute of Chain, not a method"):
        cn.register(lambda chain: keras.layers.ReLU(), name="shape")

    def test_twice(chain: cn.Chain, *, name: str | None = None) -> keras.layers.Layer:
        return keras.layers.ReLU(name=name)

    cn.register(test_twice)
    registered.append("test_twice")
    with pytest.raises(cn.ChainError, match="pass overwrite=True"):
        cn.register(test_twice)

    def replacement(chain: cn.Chain, *, name: str | None = None) -> keras.layers.Layer:
        return keras.layers.Activation("sigmoid", name=name)

    cn.register(replacement, name="test_twice", overwrite=True)
    assert cn.input((2,)).test_twice().layer.__class__ is keras.layers.Activation
    with pytest.raises(cn.ChainError, match="not a valid public method name"):
        cn.register(replacement, name="_hidden")


def test_apply_with_python_code_loads_with_safe_mode_off(tmp_path: Path) -> None:
    model = cn.input((3,)).apply(lambda t: t * 2.0 + 1.0).model()
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(loaded(np.ones((1, 3))), np.full((1, 3), 3.0))
