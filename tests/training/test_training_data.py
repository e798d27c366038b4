"""The tensors ``fit`` makes from NumPy arrays: shared when aligned, else copied once and kept
for the next call, always holding the values the arrays hold when a call starts."""

from __future__ import annotations

import gc

import keras
import numpy as np
import pytest
import tensorflow as tf
from training_helpers import classifier, data, same_weights

from chainnet._aligned import ALIGNMENT, aligned_empty, is_aligned
from chainnet.training import fit
from chainnet.training._data import TensorCache
from chainnet.training._fit import _TRAINER_ATTRIBUTE


def unaligned(shape: tuple[int, ...], dtype: str = "float32") -> np.ndarray:
    """An array whose memory starts one item past an alignment boundary."""
    size = int(np.prod(shape))
    array = aligned_empty(size + 1, dtype)[1:].reshape(shape)
    assert not is_aligned(array)
    array[...] = np.arange(size).reshape(shape)
    return array


def test_aligned_empty_is_aligned_writable_and_c_contiguous() -> None:
    for shape, dtype in [((3, 5), "float32"), (7, "int64"), ((2, 3, 4), "float64")]:
        array = aligned_empty(shape, dtype)
        assert array.shape == ((shape,) if isinstance(shape, int) else shape)
        assert array.dtype == np.dtype(dtype)
        assert array.ctypes.data % ALIGNMENT == 0 and is_aligned(array)
        assert array.flags.c_contiguous and array.flags.writeable


def test_an_aligned_array_of_the_tensor_dtype_is_shared_not_copied() -> None:
    cache = TensorCache()
    array = aligned_empty((4, 3), "float32")
    array[...] = 1.0
    tensor = cache.tensor(array)
    array[0, 0] = 7.0  # the tensor is a view of the array's memory
    assert tensor.numpy()[0, 0] == 7.0
    assert len(cache) == 0  # nothing copied, nothing kept


def test_an_unaligned_array_is_copied_once_and_refreshed_on_the_next_call() -> None:
    cache = TensorCache()
    array = unaligned((5, 2))
    first = cache.tensor(array)
    np.testing.assert_array_equal(first.numpy(), array)
    array[2, 1] = -3.0  # an edit in place between two calls
    assert first.numpy()[2, 1] != -3.0  # the tensor is a copy ...
    second = cache.tensor(array)
    assert second is first and len(cache) == 1  # ... kept, and refreshed: no new memory
    np.testing.assert_array_equal(second.numpy(), array)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("float64", "float32"), ("float16", "float32"), ("int64", "int64"), ("int32", "int32")],
)
def test_floats_become_floatx_and_other_dtypes_stay(dtype: str, expected: str) -> None:
    array = np.arange(6).reshape(3, 2).astype(dtype)
    tensor = TensorCache().tensor(array)
    assert tensor.dtype.name == expected
    np.testing.assert_array_equal(tensor.numpy(), array.astype(expected))


def test_a_read_only_or_strided_array_is_copied() -> None:
    cache = TensorCache()
    read_only = aligned_empty((4, 2), "float32")
    read_only[...] = 2.0
    read_only.flags.writeable = False
    strided = np.arange(24, dtype="float32").reshape(4, 6)[:, ::2]
    for array in (read_only, strided):
        tensor = cache.tensor(array)
        np.testing.assert_array_equal(tensor.numpy(), array)
    assert len(cache) == 2


def test_tensors_are_used_as_they_are_and_float_tensors_cast_to_floatx() -> None:
    cache = TensorCache()
    tensor = tf.constant([[1.0, 2.0]])
    assert cache.tensor(tensor) is tensor
    assert cache.tensor(tf.constant([1.0], tf.float64)).dtype == tf.float32
    assert cache.tensor(tf.constant([3], tf.int64)).dtype == tf.int64
    assert len(cache) == 0


def test_copies_a_call_did_not_use_are_dropped() -> None:
    cache = TensorCache()
    old, new = unaligned((3, 2)), unaligned((4, 2))
    cache.tensor(old)
    cache.keep_only_used()
    assert len(cache) == 1  # the arrays of the call just made
    cache.tensor(new)
    cache.keep_only_used()
    assert len(cache) == 1  # `old` was not used by this call: its copy is gone


def test_an_array_whose_owner_died_is_never_mistaken_for_a_new_one() -> None:
    cache = TensorCache()
    array = unaligned((64, 8))
    first = cache.tensor(array)
    address = array.ctypes.data
    del array
    gc.collect()
    for _ in range(20):  # a new array, perhaps at the same address, with other values
        other = unaligned((64, 8))
        other *= -1.0
        tensor = cache.tensor(other)
        np.testing.assert_array_equal(tensor.numpy(), other)
        if other.ctypes.data == address:
            assert tensor is not first
            break


def test_the_trainer_keeps_the_copy_across_calls_and_trains_on_current_values() -> None:
    """An edit in place between two fit calls is trained on, exactly as with a fresh array."""
    values, y = data(70)
    x = unaligned(values.shape)  # not shared with a tensor: copied, and the copy kept
    x[...] = values
    kept, fresh = classifier(), classifier()
    assert same_weights(kept, fresh, atol=0)
    fit(kept, x, y, batch_size=16, epochs=1, seed=0, verbose=0)
    fit(fresh, x.copy(), y, batch_size=16, epochs=1, seed=0, verbose=0)
    cache = getattr(kept, _TRAINER_ATTRIBUTE)._tensor_cache
    copies = len(cache)
    x *= 0.5  # in place: the same array, new values
    fit(kept, x, y, batch_size=16, epochs=2, initial_epoch=1, seed=0, verbose=0)
    fit(fresh, x.copy(), y, batch_size=16, epochs=2, initial_epoch=1, seed=0, verbose=0)
    assert len(cache) == copies  # the same memory, refreshed
    assert same_weights(kept, fresh, atol=0)


def test_deferred_metrics_see_probabilities_though_the_run_keeps_logits() -> None:
    """A softmax output's logits are kept and the softmax applied at the end of the run: the
    metrics that read probabilities (cross-entropy, top-k) match ``model.evaluate``."""
    x, y = data(100)
    metrics = [
        "accuracy",
        keras.metrics.SparseCategoricalCrossentropy(name="xent"),
        keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"),
    ]
    model = classifier(metrics=metrics)
    history = fit(model, x, y, batch_size=16, epochs=2, validation_data=(x, y), seed=0, verbose=0)
    programs = getattr(model, _TRAINER_ATTRIBUTE)._programs
    assert programs._softmaxed == {True: (True,), False: (True,)}  # logits were kept
    expected = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    for name in ("loss", "accuracy", "xent", "top2"):
        assert history.history[f"val_{name}"][-1] == pytest.approx(expected[name], rel=1e-5)


def test_an_output_that_is_not_a_softmax_is_kept_as_it_is() -> None:
    x, y = data(64)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((x.shape[1],))
    logits = keras.layers.Dense(3)(inputs)
    model = keras.Model(inputs, logits)
    model.compile(
        optimizer="sgd",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = fit(model, x, y, batch_size=16, epochs=1, validation_data=(x, y), verbose=0)
    assert getattr(model, _TRAINER_ATTRIBUTE)._programs._softmaxed == {
        True: (False,),
        False: (False,),
    }
    expected = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert history.history["val_accuracy"][-1] == pytest.approx(expected["accuracy"])


class SoftmaxWhenTraining(keras.layers.Layer):
    """A softmax while training, the identity otherwise."""

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return tf.nn.softmax(inputs) if training else inputs


def test_training_and_evaluation_steps_keep_their_own_outputs() -> None:
    """What a run keeps is recorded for training and evaluation steps apart: an output that is
    a softmax only while training is kept as it is by evaluation runs."""
    x, y = data(64)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((x.shape[1],))
    outputs = SoftmaxWhenTraining()(keras.layers.Dense(3)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    targets = np.eye(3, dtype="float32")[y]
    history = fit(model, x, targets, batch_size=16, epochs=2, validation_data=(x, targets))
    programs = getattr(model, _TRAINER_ATTRIBUTE)._programs
    assert programs._softmaxed == {True: (True,), False: (False,)}
    expected = model.evaluate(x, targets, batch_size=16, verbose=0, return_dict=True)
    assert history.history["val_mae"][-1] == pytest.approx(expected["mae"], rel=1e-5)
