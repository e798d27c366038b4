"""All-or-nothing steps: a step that raises leaves every network, name, user object and
variable exactly as it was (no merged network, no name used up, no half-built step, no
renamed layer, no half-assigned weights, no half-built template)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from chain_helpers import node_names, uniform

import chainnet as cn
import chainnet._naming
import chainnet.methods.shape

RNG = np.random.default_rng(0)
HERE = Path(__file__).resolve().parent


# =========================================================================================
# All-or-nothing steps
# =========================================================================================
def test_failed_add_does_not_merge_networks() -> None:
    a = cn.input((3,)).fully_connected(4)
    b = cn.input((5,))
    with pytest.raises(cn.ChainError, match="broadcast"):
        a + b
    assert b.network is not a.network
    assert b.name == "input"
    assert b.fully_connected(2).name == "fully_connected"
    assert node_names(a) == ["input", "fully_connected"]
    assert a.layer is not None and a.layer.name == "fully_connected"
    assert b.layer is not None and b.layer.name == "input" and b.tensor.name == "input"


def test_failed_head_with_a_taken_loss_name_leaves_no_step() -> None:
    x = cn.input((8,))
    labels = x.network.input((), dtype="int32", name="labels")
    x.fully_connected(3, name="head_loss")
    before = node_names(x)
    with pytest.raises(cn.ChainError, match="head_loss"):
        x.softmax_classifier(10, labels, name="head")
    assert "head" not in x.network
    assert "head_softmax" not in x.network
    assert node_names(x) == before


def test_failed_head_with_separately_started_labels_leaves_both_networks() -> None:
    x = cn.input((8,))
    x.fully_connected(3, name="head_loss")
    labels = cn.input((), dtype="int32")
    with pytest.raises(cn.ChainError):
        x.softmax_classifier(10, labels, name="head")
    assert labels.network is not x.network
    assert labels.name == "input"
    assert "head" not in x.network


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(
            lambda c: c.softmax_classifier(10, np.zeros((5,), "int32")), id="softmax_classifier"
        ),
        pytest.param(lambda c: c.cross_entropy(np.zeros((2, 7), "float32")), id="cross_entropy"),
        pytest.param(
            lambda c: c.sparse_cross_entropy(np.zeros((5,), "int32")), id="sparse_cross_entropy"
        ),
        pytest.param(lambda c: c.l2_regression(np.zeros((2, 7), "float32")), id="l2_regression"),
        pytest.param(
            lambda c: c.softmax_classifier(
                3, np.zeros((2,), "int32"), per_example_weights=np.ones((2, 4), "float32")
            ),
            id="bad_weights",
        ),
    ],
)
def test_failed_eager_head_adds_no_labels_or_target(step: Callable[[Any], Any]) -> None:
    logits = cn.wrap(uniform(2, 3, seed=30))
    with pytest.raises(cn.ChainError):
        step(logits)
    assert node_names(logits) == ["input"]
    # and the names the failed step would have used are still free
    assert logits.cross_entropy(np.eye(3, dtype="float32")[[0, 1]]).name == "cross_entropy"


def test_failed_set_weights_assigns_nothing() -> None:
    y = cn.input((4,)).fully_connected(3, name="fc")
    before = y.network.get_weights("fc")
    with pytest.raises(cn.ChainError, match="bias"):
        y.network.set_weights("fc", {"kernel": np.ones((4, 3)), "bias": np.ones(7)})
    after = y.network.get_weights("fc")
    np.testing.assert_array_equal(after["kernel"], before["kernel"])
    np.testing.assert_array_equal(after["bias"], before["bias"])
    with pytest.raises(KeyError):
        y.network.set_weights("fc", {"kernel": np.ones((4, 3)), "gamma": 1.0})
    np.testing.assert_array_equal(y.network.get_weights("fc")["kernel"], before["kernel"])


def test_failed_apply_layer_does_not_rename_the_users_layer() -> None:
    layer = keras.layers.Conv2D(2, 3, name="orig")
    x = cn.input((4,))
    with pytest.raises(cn.ChainError):
        x.apply_layer(layer, name="mine")
    assert layer.name == "orig"
    assert "mine" not in x.network
    assert node_names(x) == ["input"]
    # an automatically named layer is not renamed either
    auto = keras.layers.Conv2D(2, 3)
    auto_name = auto.name
    with pytest.raises(cn.ChainError):
        x.apply_layer(auto)
    assert auto.name == auto_name


def test_failed_template_application_that_built_it_leaves_it_unbuilt() -> None:
    tmpl = cn.template(name="t").fully_connected(2)
    x = cn.input((4,), name="taken")
    with pytest.raises(cn.ChainError, match="taken"):
        x.apply_template(tmpl, name="taken")
    assert tmpl.built is False
    assert node_names(x) == ["taken"]
    # applying it again builds it for this input, under its own name
    y = x.apply_template(tmpl)
    assert tmpl.built and y.name == "t" and tmpl.layer.name == "t"


def test_failed_template_build_leaves_it_unbuilt() -> None:
    tmpl = cn.template(name="t").conv2d(3, 2)
    x = cn.input((4,))
    with pytest.raises(cn.ChainError):
        x.apply_template(tmpl)
    assert tmpl.built is False
    assert node_names(x) == ["input"]


def test_failed_template_merge_leaves_networks_and_template() -> None:
    @cn.template
    def pair(a: Any, b: Any) -> Any:
        return (a + b).fully_connected(2)

    xa, xb = cn.input((3,), name="x"), cn.input((3,), name="x")
    with pytest.raises(cn.ChainError, match="'x'"):
        pair(xa, xb)
    assert pair.built is False
    assert xa.network is not xb.network
