"""Branching and merging (residual blocks, concat, join, split, stack, unstack), networks with
several inputs and outputs, and sequential mode with towers: each against hand-written Keras."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import chainnet as cn

L = keras.layers
RNG = np.random.default_rng(0)


def _randomize(model: keras.Model) -> None:
    for var in model.weights:
        var.assign(RNG.uniform(-0.5, 0.5, size=tuple(var.shape)).astype(var.dtype))


def _same(model: keras.Model, reference: keras.Model, data: object) -> None:
    """Same shapes, parameter counts and outputs once the weights are the same."""
    assert model.count_params() == reference.count_params()
    assert [tuple(v.shape) for v in model.weights] == [tuple(v.shape) for v in reference.weights]
    _randomize(model)
    reference.set_weights(model.get_weights())
    got, want = model(data, training=False), reference(data, training=False)
    got = got if isinstance(got, (list, tuple)) else [got]
    want = want if isinstance(want, (list, tuple)) else [want]
    for a, b in zip(got, want):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def residual(x: cn.Chain, filters: int) -> cn.Chain:
    y = x.conv2d(3, filters, batch_normalize=True, activation="relu")
    y = y.conv2d(3, filters, batch_normalize=True)
    return (x + y).relu()


def test_resnet_block_matches_keras() -> None:
    with cn.defaults(padding="same"):
        out = residual(cn.input((6, 6, 4)), 4)
    k_in = keras.Input((6, 6, 4))
    y = L.Conv2D(4, 3, padding="same", use_bias=False)(k_in)
    y = L.Activation("relu")(L.BatchNormalization()(y))
    y = L.BatchNormalization()(L.Conv2D(4, 3, padding="same", use_bias=False)(y))
    k_out = L.Activation("relu")(L.Add()([k_in, y]))
    _same(out.model(), keras.Model(k_in, k_out), RNG.normal(size=(2, 6, 6, 4)))


def inception(seq: cn.SequentialBuilder) -> None:
    with cn.defaults(activation="relu", padding="same"), seq.subdivide(4) as towers:
        towers[0].conv2d(1, 8)
        towers[1].conv2d(1, 4).conv2d(3, 8)
        towers[2].conv2d(1, 2).conv2d(5, 4)
        towers[3].max_pool(3, 1).conv2d(1, 4)


def test_inception_block_in_sequential_mode_matches_keras() -> None:
    seq = cn.input((8, 8, 6)).sequential()
    inception(seq)
    assert seq.shape == (None, 8, 8, 24)
    model = seq.as_chain().model()
    k_in = keras.Input((8, 8, 6))

    def conv(x: object, size: int, depth: int) -> object:
        return L.Conv2D(depth, size, padding="same", activation="relu")(x)

    branches = [
        conv(k_in, 1, 8),
        conv(conv(k_in, 1, 4), 3, 8),
        conv(conv(k_in, 1, 2), 5, 4),
        conv(L.MaxPooling2D(3, 1, padding="same")(k_in), 1, 4),
    ]
    reference = keras.Model(k_in, L.Concatenate()(branches))
    _same(model, reference, RNG.normal(size=(2, 8, 8, 6)))


def test_sequential_builder_moves_its_head_and_returns_to_chains() -> None:
    x = cn.input((4,))
    seq = x.sequential()
    assert seq.fully_connected(3) is seq
    seq.relu()
    chain = seq.as_chain()
    assert chain.name == "relu" and chain.parent.name == "fully_connected"
    first, second = seq.split(-1, [1, 2])  # several chains: returned, head stays
    assert seq.head is chain and (first.shape, second.shape) == ((None, 1), (None, 2))
    with seq.subdivide(1) as (only,):
        only.fully_connected(2)
    assert seq.shape == (None, 2)
    with pytest.raises(AttributeError, match=r"call it on seq\.as_chain"):
        seq.summary()
    with pytest.raises(RuntimeError), seq.subdivide(2) as towers:  # no join on an error
        towers[0].fully_connected(5)
        raise RuntimeError
    assert seq.shape == (None, 2)


@pytest.mark.parametrize(
    ("how", "layer"),
    [
        ("concat", L.Concatenate),
        ("add", L.Add),
        ("multiply", L.Multiply),
        ("average", L.Average),
        ("maximum", L.Maximum),
        ("minimum", L.Minimum),
    ],
)
def test_join_modes_match_keras_merge_layers(how: str, layer: type[L.Layer]) -> None:
    x = cn.input((3,), name="x")
    a, b = x.fully_connected(3), x.fully_connected(3)
    joined = a.join([b, x], how=how)
    assert joined.method == "join" and joined.layer.__class__ is layer
    k_in = keras.Input((3,))
    reference = keras.Model(k_in, layer()([L.Dense(3)(k_in), L.Dense(3)(k_in), k_in]))
    _same(joined.model(), reference, RNG.normal(size=(2, 3)))


def test_join_with_a_function_or_a_layer_and_without_self() -> None:
    x = cn.input((3,))
    joined = x.join([x * 2.0], how=lambda tensors: tensors[0] - tensors[1])
    assert isinstance(joined.layer, L.Lambda)
    np.testing.assert_allclose(joined.model()(np.ones((1, 3))), -np.ones((1, 3)))
    summed = x.join([x, x], how=L.Add(), include_self=False, name="pair")
    assert summed.name == "pair" and [p.name for p in summed.parents] == ["input", "input"]


def test_concat_split_stack_unstack_match_tensorflow() -> None:
    data = RNG.normal(size=(2, 6, 4)).astype("float32")
    x = cn.input((6, 4))
    parts = x.split(1, 3)
    assert [p.name for p in parts] == ["split.0", "split.1", "split.2"]
    again = parts[0].concat(1, list(parts[1:]))
    sizes = x.split(-1, [1, 3], name="cols")
    assert [p.name for p in sizes] == ["cols.0", "cols.1"]
    stacked = x.stack([x * 2.0], axis=1)
    steps = x.unstack(axis=1)
    model = cn.model([again, sizes[1], stacked, steps[5]])
    out = model(data)
    np.testing.assert_allclose(out[0], data)
    np.testing.assert_allclose(out[1], data[..., 1:])
    np.testing.assert_allclose(out[2], np.stack([data, 2 * data], axis=1), rtol=1e-6)
    np.testing.assert_allclose(out[3], data[:, 5])
    assert len(steps) == 6 and steps[0].shape == (None, 4)


def test_several_inputs_and_outputs_export_save_and_load(tmp_path: Path) -> None:
    image = cn.input((6, 6, 1), name="image")
    meta = image.network.input((3,), name="meta")
    features = image.conv2d(3, 4, activation="relu").flatten()
    both = features.concat(-1, [meta.fully_connected(4, name="meta_fc")])
    with cn.defaults(activation=None):
        label = both.fully_connected(5, name="label")
        score = both.fully_connected(1, name="score")
    first, _ = both.split(-1, [4, 144])
    model = cn.model([label, score, first], name="multi")
    assert [t.name for t in model.inputs] == ["image", "meta"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 5), (None, 1), (None, 4)]

    k_image, k_meta = keras.Input((6, 6, 1)), keras.Input((3,))
    k_feat = L.Flatten()(L.Conv2D(4, 3, padding="same", activation="relu")(k_image))
    k_both = L.Concatenate()([k_feat, L.Dense(4)(k_meta)])
    reference = keras.Model(
        [k_image, k_meta], [L.Dense(5)(k_both), L.Dense(1)(k_both), k_both[:, :4]]
    )
    data = [RNG.normal(size=(2, 6, 6, 1)), RNG.normal(size=(2, 3))]
    _same(model, reference, data)

    path = tmp_path / "multi.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for got, want in zip(loaded(data), model(data)):
        np.testing.assert_array_equal(got, want)


def test_joining_incompatible_shapes_names_both_shapes_and_the_mode() -> None:
    x = cn.input((4, 4, 3), name="x")
    a = x.conv2d(1, 8, name="a")
    b = x.max_pool(2, 2).conv2d(1, 8, name="b")
    with pytest.raises(
        cn.ChainError,
        match=r"how='concat' along axis -1: shapes \(None, 4, 4, 8\) \('a'\), "
        r"\(None, 2, 2, 8\) \('b'\) differ in dimension 1 \(4 vs 2\)",
    ):
        a.concat(-1, b)
    with pytest.raises(cn.ChainError, match=r"how='add': shapes .*\('a'\).*\('b'\) do not"):
        a.join(b, how="add")
    with pytest.raises(cn.ChainError, match="cannot stack shapes"):
        a.stack(b)
    with pytest.raises(cn.ChainError, match="how must be one of"):
        a.join(a, how="mean")
    with pytest.raises(cn.ChainError, match="must be a chain or a list of chains"):
        a.concat(-1, [np.ones((4, 4, 8))])
    with pytest.raises(cn.ChainError, match="into 2 equal parts"):
        x.split(-1, 2)
    with pytest.raises(cn.ChainError, match="add up to"):
        x.split(-1, [1, 1])
