"""Layers computing in float16 get loss scaling, as ``compile`` gives them under a global
``mixed_float16`` policy."""

from __future__ import annotations

import keras
import numpy as np
from training_helpers import NUM_CLASSES, NUM_FEATURES, data, same_weights

from chainnet.training import fit


def mixed_classifier(optimizer: keras.optimizers.Optimizer, nested: bool = False) -> keras.Model:
    """6 -> 8 relu (float16 compute) -> 3 softmax (float32), layers given the policy directly."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((NUM_FEATURES,))
    hidden_layer = keras.layers.Dense(8, activation="relu", dtype="mixed_float16")
    if nested:  # the float16 layer inside a nested model
        inner_in = keras.Input((NUM_FEATURES,))
        hidden_layer = keras.Model(inner_in, hidden_layer(inner_in), name="block")
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32")(
        hidden_layer(inputs)
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def test_float16_layers_get_a_loss_scale_optimizer_and_train_as_keras_does() -> None:
    x, y = data(64)
    fast = mixed_classifier(keras.optimizers.SGD(0.1))
    inner = fast.optimizer
    # the reference: the same model, its optimizer wrapped by hand, trained by model.fit
    reference = mixed_classifier(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1)))
    assert same_weights(fast, reference, atol=0)
    fit(fast, x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert isinstance(fast.optimizer, keras.optimizers.LossScaleOptimizer)
    assert fast.optimizer.inner_optimizer is inner
    assert int(fast.optimizer.iterations) == int(reference.optimizer.iterations) == 8
    assert same_weights(fast, reference, atol=1e-3)
    assert not same_weights(fast, mixed_classifier(keras.optimizers.SGD(0.1)), atol=1e-3)


def test_float16_layer_in_a_nested_model_is_found() -> None:
    x, y = data(32)
    model = mixed_classifier(keras.optimizers.Adam(0.01), nested=True)
    fit(model, x, y, batch_size=16, epochs=1, verbose=0)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def test_float32_models_and_a_fixed_loss_scale_keep_their_optimizer() -> None:
    x, y = data(32)
    plain = keras.Sequential([keras.Input((NUM_FEATURES,)), keras.layers.Dense(NUM_CLASSES)])
    plain.compile(optimizer="sgd", loss="mse")
    optimizer = plain.optimizer
    fit(plain, x, np.eye(NUM_CLASSES)[y], batch_size=16, verbose=0)
    assert plain.optimizer is optimizer

    fixed = mixed_classifier(keras.optimizers.SGD(0.1, loss_scale_factor=128.0))
    fit(fixed, x, y, batch_size=16, verbose=0)
    assert not isinstance(fixed.optimizer, keras.optimizers.LossScaleOptimizer)


def test_a_recompiled_optimizer_that_trained_before_is_wrapped_again() -> None:
    """Keras' compile wraps any optimizer under a mixed policy, trained before or not: so does
    cn.fit after ``compile(optimizer=the same instance)``, and training goes on through it."""
    x, y = data(32)
    optimizer = keras.optimizers.Adam()
    model = mixed_classifier(optimizer)
    fit(model, x, y, batch_size=16, verbose=0)
    assert optimizer.built and int(optimizer.iterations) == 2
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    assert model.optimizer is optimizer  # the plain optimizer again, built, with its state
    fit(model, x, y, batch_size=16, verbose=0)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.optimizer.inner_optimizer is optimizer
    assert int(optimizer.iterations) == 4  # its moments and step count carried on
