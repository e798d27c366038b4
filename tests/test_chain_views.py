"""``with_defaults``, ``with_name`` and ``attach_template`` (PrettyTensor's methods of those
names), each compared with the explicit code it stands for: the same layers, names,
parameters and values."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import pytest

import chainnet as cn
from chainnet._defaults import current_defaults


def _configs(model: keras.Model) -> list[dict[str, Any]]:
    return [layer.get_config() for layer in model.layers]


def _same_network(got: keras.Model, want: keras.Model) -> None:
    """Same layers (names and configs), parameters and values once the weights are equal."""
    assert _configs(got) == _configs(want)
    assert got.count_params() == want.count_params()
    want.set_weights(got.get_weights())
    data = np.random.default_rng(0).normal(size=(2, *got.input_shape[1:])).astype("float32")
    np.testing.assert_allclose(got(data), want(data), rtol=1e-6)


def _mlp() -> Any:
    return cn.input((6,), name="x")


# ----------------------------------------------------------------------------- with_defaults
def test_with_defaults_equals_the_explicit_defaults_scope() -> None:
    defaults = {"activation": "relu", "fully_connected": {"use_bias": False}}
    got = _mlp().with_defaults(**defaults).fully_connected(5).dropout(rate=0.1).fully_connected(3)
    with cn.defaults(**defaults):
        want = _mlp().fully_connected(5).dropout(rate=0.1).fully_connected(3)
    _same_network(got.model(), want.model())
    assert got.layer.activation is keras.activations.relu
    assert got.layer.use_bias is False


def test_with_defaults_leaves_the_chain_itself_and_the_scope_alone() -> None:
    x = _mlp()
    y = x.with_defaults(activation="tanh")
    assert (y.name, y.tensor, y.network) == (x.name, x.tensor, x.network)
    assert x.fully_connected(2).layer.activation is keras.activations.linear
    assert y.fully_connected(2).layer.activation is keras.activations.tanh
    assert not current_defaults().globals


def test_with_defaults_wins_over_the_scope_in_force_and_loses_to_explicit_arguments() -> None:
    y = _mlp().with_defaults(activation="tanh")
    with cn.defaults(activation="relu", use_bias=False):
        z = y.fully_connected(4)
    assert z.layer.activation is keras.activations.tanh and z.layer.use_bias is False
    assert y.fully_connected(4, activation="sigmoid").layer.activation is keras.activations.sigmoid


def test_with_defaults_replaces_the_chains_defaults_as_prettytensor_does() -> None:
    # PrettyTensor: Layer(copy=self, defaults=kwargs) keeps ``defaults or copy._defaults``
    y = _mlp().with_defaults(activation="tanh", use_bias=False)
    z = y.fully_connected(4).with_defaults(activation="relu").fully_connected(4)
    assert z.layer.activation is keras.activations.relu and z.layer.use_bias is True
    assert y.with_defaults() is y


def test_with_defaults_carries_to_operators_and_tuples_of_chains() -> None:
    y = cn.input((4,), name="x").with_defaults(activation="relu")
    a, b = y.split(1, 2)
    assert a.fully_connected(3).layer.activation is keras.activations.relu
    assert b.fully_connected(3).layer.activation is keras.activations.relu
    assert (y * 2.0).fully_connected(3).layer.activation is keras.activations.relu


def test_with_defaults_checks_its_keys_at_once() -> None:
    with pytest.raises(cn.ChainError, match=r"with_defaults\(\) on chain 'x'.*'activaton'"):
        _mlp().with_defaults(activaton="relu")


def test_a_failing_step_on_a_view_leaves_the_network_and_the_scope_as_they_were() -> None:
    x = _mlp()
    y = x.with_defaults(activation="relu")
    with pytest.raises(cn.ChainError):
        y.fully_connected(-3)
    assert "fully_connected" not in x.network
    assert not current_defaults().globals
    assert y.fully_connected(3).name == "fully_connected"


# ----------------------------------------------------------------------------- with_name
def test_with_name_names_the_next_step_as_name_would() -> None:
    got = _mlp().with_name("hidden").fully_connected(5).fully_connected(3)
    want = _mlp().fully_connected(5, name="hidden").fully_connected(3)
    assert [c.name for c in (got.parent, got)] == ["hidden", "fully_connected"]
    _same_network(got.model(), want.model())


def test_with_name_keeps_defaults_and_an_explicit_name_wins() -> None:
    x = _mlp()
    y = x.with_defaults(activation="relu").with_name("h")
    assert y.fully_connected(3, name="other").name == "other"
    h = y.fully_connected(3)
    assert h.name == "h" and h.layer.activation is keras.activations.relu
    with pytest.raises(cn.ChainError, match="duplicate name 'h'"):
        y.fully_connected(3)


def test_with_name_checks_the_name() -> None:
    with pytest.raises(cn.ChainError, match=r"with_name\(\): name must be"):
        _mlp().with_name("a/b")


def test_a_sequential_builder_moves_its_head_to_the_view() -> None:
    seq = _mlp().sequential().with_defaults(activation="relu").with_name("h")
    got = seq.fully_connected(5).fully_connected(3).as_chain()
    with cn.defaults(activation="relu"):
        want = _mlp().fully_connected(5, name="h").fully_connected(3)
    _same_network(got.model(), want.model())


# ----------------------------------------------------------------------------- attach_template
def test_attach_template_is_the_template_applied_with_this_chain_bound_to_key() -> None:
    def build(attach: bool) -> keras.Model:
        seq = cn.input((3, 4), name="seq")
        state = seq.network.input((16,), name="s0")
        cell = cn.template("x").lstm_cell(num_units=8, state=cn.UnboundVariable("state"))
        outputs = []
        for x in seq.unstack():
            h, state = (
                state.attach_template(cell, "state", x=x) if attach else cell(x=x, state=state)
            )
            outputs.append(h)
        return cn.model([outputs[-1], state])

    got, want = build(True), build(False)
    assert [layer.name for layer in got.layers] == [layer.name for layer in want.layers]
    # PrettyTensor's peephole LSTM: 4 gates over [x, h], their biases, 3 peepholes
    assert got.count_params() == want.count_params() == 4 * 8 * (4 + 8) + 4 * 8 + 3 * 8
    want.set_weights(got.get_weights())
    rng = np.random.default_rng(1)
    data = [
        rng.normal(size=(2, 3, 4)).astype("float32"),
        rng.normal(size=(2, 16)).astype("float32"),
    ]
    for g, w in zip(got(data), want(data), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def test_attach_template_says_what_is_wrong() -> None:
    x = _mlp()
    tower = cn.template(name="tower").fully_connected(2)
    with pytest.raises(cn.ChainTypeError, match=r"needs a cn\.template"):
        x.attach_template(x, "x")
    with pytest.raises(cn.ChainError, match="once"):
        x.attach_template(tower, "input", input=x)
    with pytest.raises(cn.ChainError, match="no input 'state'"):
        x.attach_template(tower, "state")
    assert x.attach_template(tower, "input").name == "tower"
