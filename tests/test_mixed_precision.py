"""``cn.defaults(dtype="mixed_float16")``: the scope's layers compute in float16 with float32
variables, heads, losses and softmax compute in float32, a few training steps lower the loss,
and nothing outside the scope changes (Keras' global policy included)."""

from __future__ import annotations

import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import chainnet as cn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import text_transformer  # the example, from examples/

FULL_PRECISION = ("sentiment", "sentiment_loss", "sentiment_softmax")  # the whole head


def _layer_dtypes(model: keras.Model) -> dict[str, tuple[str, str]]:
    """``{layer: (compute dtype, variable dtype)}`` of the layers with a dtype policy."""
    return {
        layer.name: (layer.compute_dtype, layer.variable_dtype)
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    }


def _mixed_classifier() -> cn.SoftmaxResult:
    with cn.defaults(dtype="mixed_float16"):
        assert keras.config.dtype_policy().name == "float32"  # the scope leaves it alone
        return text_transformer.build()


def test_the_scope_builds_mixed_precision_and_leaves_the_policy_alone() -> None:
    before = keras.config.dtype_policy().name
    result = _mixed_classifier()
    assert keras.config.dtype_policy().name == before == "float32"
    model = result.softmax.model()
    dtypes = _layer_dtypes(model)
    for name, (compute, variable) in dtypes.items():
        if name in FULL_PRECISION:
            assert (compute, variable) == ("float32", "float32"), name
        else:
            assert (compute, variable) == ("float16", "float32"), name
    assert all(v.dtype == "float32" for v in model.weights)
    # what the layers compute: the block's output is float16, the whole head (logits,
    # softmax, loss) float32
    net = result.softmax.network
    assert net["block_norm2"].dtype == "float16"
    assert (result.logits.dtype, result.softmax.dtype, result.loss.dtype) == (
        "float32",
        "float32",
        "float32",
    )
    reviews, labels = text_transformer.make_reviews(4, np.random.default_rng(0))
    data = {"reviews": reviews, "labels": labels}
    computed = net.activations(data, ["block_norm2", "sentiment_softmax"])
    block, softmax = computed["block_norm2"], computed["sentiment_softmax"]
    loss = result.loss.model()(data)
    assert (block.dtype, softmax.dtype, loss.dtype) == (np.float16, np.float32, "float32")
    # outside the scope nothing changed: the same builder gives float32 everywhere
    plain = text_transformer.build().softmax.model()
    assert {d for d in _layer_dtypes(plain).values()} == {("float32", "float32")}


def test_a_few_training_steps_lower_the_loss_with_loss_scaling() -> None:
    keras.utils.set_random_seed(0)
    result = _mixed_classifier()
    model = result.softmax.model()
    model.compile(optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(3e-3)))
    reviews, labels = text_transformer.make_reviews(256, np.random.default_rng(0))
    history = model.fit([reviews, labels], None, batch_size=32, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0] - 0.02, losses
    assert all(v.dtype == "float32" for v in model.trainable_weights)


def test_scope_policies_nest_and_an_explicit_layer_keeps_its_own() -> None:
    with cn.defaults(dtype="mixed_float16"):
        x = cn.input((4,)).fully_connected(3)
        with cn.defaults(dtype="float32"):
            y = x.fully_connected(2)
        z = y.apply_layer(keras.layers.Dense(2, dtype="float64"))
    assert (x.layer.compute_dtype, y.layer.compute_dtype, z.layer.compute_dtype) == (
        "float16",
        "float32",
        "float64",
    )
    assert (x.dtype, y.dtype, z.dtype) == ("float16", "float32", "float64")


def test_a_template_replays_under_the_policy_of_its_definition() -> None:
    with cn.defaults(dtype="mixed_float16"):
        tower = cn.template(name="tower").fully_connected(3)
    assert cn.input((4,)).apply_template(tower).dtype == "float16"


@pytest.mark.parametrize(
    ("value", "match"), [("mixed_float17", "no Keras dtype policy"), ("int32", "float one")]
)
def test_a_bad_dtype_is_refused_at_once(value: str, match: str) -> None:
    with pytest.raises(cn.ChainError, match=match), cn.defaults(dtype=value):
        pass


def test_cn_fit_trains_a_mixed_precision_model() -> None:
    keras.utils.set_random_seed(0)
    model = _mixed_classifier().softmax.model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    reviews, labels = text_transformer.make_reviews(256, np.random.default_rng(0))
    history = cn.fit(model, [reviews, labels], None, batch_size=32, epochs=4, verbose=0, seed=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0] - 0.02, losses
