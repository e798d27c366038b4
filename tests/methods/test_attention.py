"""multi_head_attention, attention, additive_attention, position_embedding, apply_layer with
several tensor inputs, rms_normalize and group_normalize as harness rows against Keras'
layers; the keras-io Transformer text classifier and the ViT example against the same
networks written with Keras layers (parameters, outputs with the same weights, safe-mode
saving); fully_connected on sequences against Keras' Dense on 3D input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from harness import ExtraInput, Fresh, MethodCase, random_input
from keras import ops

import chainnet as cn

L = keras.layers
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import text_transformer  # noqa: E402 - the example, from examples/
import vit_mnist  # noqa: E402


class KerasIoPositions(L.Layer):
    """keras-io's ``TokenAndPositionEmbedding`` without the tokens: ``x +
    Embedding(maxlen, d)(arange(time))``."""

    def __init__(self, maxlen: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pos_emb = L.Embedding(input_dim=maxlen, output_dim=dim)

    def call(self, x: Any) -> Any:
        positions = ops.arange(0, ops.shape(x)[1], 1)
        return x + self.pos_emb(positions)


def sinusoids(time: int, dim: int) -> np.ndarray:
    """ "Attention is all you need": ``PE(p, 2i) = sin(p / 10000^(2i/d))``, ``PE(p, 2i+1) =
    cos(p / 10000^(2i/d))``, in NumPy."""
    p = np.arange(time)[:, None]
    i = np.arange(dim)[None, :] // 2
    angles = p / np.power(10000.0, 2 * i / dim)
    return np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles)).astype("float32")


MEMORY = {"memory": ExtraInput((7, 6))}
MEMORY_KEYS = {"memory": ExtraInput((7, 6)), "keys": ExtraInput((7, 5))}
MASK = {"mask": ExtraInput((5, 5), "bool")}
VALUES8 = {"v": ExtraInput((6, 8))}

CASES = [
    MethodCase(
        "multi_head_attention",
        (2, 4),
        input_shape=(5, 8),
        reference=lambda x: L.MultiHeadAttention(2, 4)(x, x),
        expected_output_shape=(None, 5, 8),
        expected_num_weights=8,
        expected_num_params=4 * (8 * 8 + 8),
    ),
    MethodCase(
        lambda c, memory: c.multi_head_attention(2, 4, value=memory, output_shape=3),
        id="multi_head_attention-cross",
        input_shape=(5, 8),
        extra_inputs=MEMORY,
        reference=lambda x, m: L.MultiHeadAttention(2, 4, output_shape=3)(x, m),
        expected_output_shape=(None, 5, 3),
        expected_num_weights=8,
    ),
    MethodCase(
        lambda c, memory, keys: c.multi_head_attention(2, 4, memory, keys, value_dim=3),
        id="multi_head_attention-value-and-key",
        input_shape=(5, 8),
        extra_inputs=MEMORY_KEYS,
        reference=lambda x, m, k: L.MultiHeadAttention(2, 4, value_dim=3)(x, m, key=k),
        expected_output_shape=(None, 5, 8),
        expected_num_weights=8,
    ),
    MethodCase(
        "multi_head_attention",
        (2, 4),
        {"use_causal_mask": True, "use_bias": False},
        id="multi_head_attention-causal",
        input_shape=(5, 8),
        reference=lambda x: L.MultiHeadAttention(2, 4, use_bias=False)(x, x, use_causal_mask=True),
        expected_output_shape=(None, 5, 8),
        expected_num_weights=4,
    ),
    MethodCase(
        lambda c, mask: c.multi_head_attention(1, 4, attention_mask=mask),
        id="multi_head_attention-mask",
        input_shape=(5, 8),
        extra_inputs=MASK,
        reference=lambda x, m: L.MultiHeadAttention(1, 4)(x, x, attention_mask=m),
        expected_output_shape=(None, 5, 8),
        expected_num_weights=8,
    ),
    MethodCase(
        "attention",
        input_shape=(5, 8),
        reference=lambda x: L.Attention()([x, x]),
        expected_output_shape=(None, 5, 8),
        expected_num_weights=0,
    ),
    MethodCase(
        lambda c, v: c.attention(v, use_scale=True, use_causal_mask=True),
        id="attention-values-causal-scaled",
        input_shape=(6, 8),
        extra_inputs=VALUES8,
        reference=lambda x, v: L.Attention(use_scale=True)([x, v], use_causal_mask=True),
        expected_output_shape=(None, 6, 8),
        expected_num_weights=1,
    ),
    MethodCase(
        "additive_attention",
        input_shape=(5, 8),
        reference=lambda x: L.AdditiveAttention()([x, x]),
        expected_output_shape=(None, 5, 8),
        expected_num_weights=1,
    ),
    MethodCase(
        lambda c, v: c.additive_attention(v, v, use_scale=False),
        id="additive_attention-value-key",
        input_shape=(4, 8),
        extra_inputs=VALUES8,
        reference=lambda x, v: L.AdditiveAttention(use_scale=False)([x, v, v]),
        expected_output_shape=(None, 4, 8),
        expected_num_weights=0,
    ),
    MethodCase(
        "position_embedding",
        (6,),
        input_shape=(5, 4),
        reference=lambda: [KerasIoPositions(6, 4)],
        expected_output_shape=(None, 5, 4),
        expected_num_weights=1,
        expected_num_params=24,
    ),
    MethodCase(
        "position_embedding",
        (5,),
        {"kind": "sinusoidal"},
        id="position_embedding-sinusoidal",
        input_shape=(5, 6),
        reference=lambda x: ops.add(x, ops.cast(sinusoids(5, 6), x.dtype)),
        expected_output_shape=(None, 5, 6),
        expected_num_weights=0,
        atol=1e-5,
    ),
    MethodCase(
        lambda c, memory: c.apply_layer(
            L.MultiHeadAttention(2, 3, name="cross"), memory, use_causal_mask=True
        ),
        id="apply_layer-several-inputs",
        input_shape=(5, 8),
        extra_inputs=MEMORY,
        reference=lambda x, m: L.MultiHeadAttention(2, 3)(x, m, use_causal_mask=True),
        expected_output_shape=(None, 5, 8),
        expected_num_weights=8,
        expected_layer_names=["cross"],
    ),
    MethodCase(
        "apply_layer",
        (Fresh(lambda: L.Dropout(0.0)),),
        {"training": False},
        id="apply_layer-call-keywords",
        input_shape=(3,),
        reference=lambda: [L.Identity()],
        expected_output_shape=(None, 3),
        expected_num_weights=0,
    ),
    MethodCase(
        "rms_normalize",
        input_shape=(3, 4),
        reference=lambda: [L.RMSNormalization()],
        expected_output_shape=(None, 3, 4),
        expected_num_weights=1,
    ),
    MethodCase(
        "group_normalize",
        (2,),
        {"epsilon": 0.01},
        input_shape=(3, 3, 4),
        reference=lambda: [L.GroupNormalization(groups=2, epsilon=0.01)],
        expected_output_shape=(None, 3, 3, 4),
        expected_num_weights=2,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_attention_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


# -- errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("step", "match"),
    [
        (lambda x: x.multi_head_attention(0, 4), "num_heads"),
        (lambda x: x.multi_head_attention(2, 4, key=x), "give value= too"),
        (lambda x: x.multi_head_attention(2, 4, value=cn.input((3,))), r"\(batch, time"),
        (lambda x: x.attention(cn.input((6, 3))), "must equal the query's"),
        (lambda x: x.position_embedding(4), "more than max_length=4"),
        (lambda x: x.position_embedding(8, kind="rotary"), "kind"),
        (lambda x: x.group_normalize(3), "do not divide the 8 channels"),
    ],
)
def test_bad_arguments_say_what_is_wrong(step: Any, match: str) -> None:
    x = cn.input((5, 8))
    before = [n.name for n in x.network.nodes]
    with pytest.raises((cn.ChainError, ValueError, TypeError), match=match):
        step(x)
    assert [n.name for n in x.network.nodes] == before  # the failed step left the network unchanged


def test_attention_needs_a_sequence() -> None:
    with pytest.raises(cn.ChainError, match="multi_head_attention"):
        cn.input((8,)).multi_head_attention(2, 4)


def test_fully_connected_on_a_sequence_is_keras_dense_position_wise() -> None:
    # Keras' Dense on (batch, time, features) applies one kernel to every position
    y = cn.input((5, 4)).fully_connected(3)
    model = y.model()
    ref = keras.Sequential([keras.Input((5, 4)), L.Dense(3)])
    ref.set_weights(model.get_weights())
    x = random_input((5, 4), "float32")
    np.testing.assert_allclose(model(x), ref(x), rtol=1e-6)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model(x)[:, 2], x[:, 2] @ kernel + bias, rtol=1e-5, atol=1e-6)
    assert model.count_params() == 4 * 3 + 3


# -- the examples' networks against the same networks in Keras layers -------------------------
class KerasIoTransformerBlock(L.Layer):
    """keras-io "Text classification with Transformer", ``TransformerBlock``, as written."""

    def __init__(self, embed_dim: int, num_heads: int, ff_dim: int, rate: float = 0.1) -> None:
        super().__init__()
        self.att = L.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([L.Dense(ff_dim, activation="relu"), L.Dense(embed_dim)])
        self.layernorm1 = L.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = L.LayerNormalization(epsilon=1e-6)
        self.dropout1 = L.Dropout(rate)
        self.dropout2 = L.Dropout(rate)

    def call(self, inputs: Any) -> Any:
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)


class KerasIoTokenAndPositionEmbedding(L.Layer):
    """keras-io's ``TokenAndPositionEmbedding``, as written."""

    def __init__(self, maxlen: int, vocab_size: int, embed_dim: int) -> None:
        super().__init__()
        self.token_emb = L.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = L.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x: Any) -> Any:
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        return self.token_emb(x) + self.pos_emb(positions)


def keras_io_classifier() -> tuple[keras.Model, KerasIoTokenAndPositionEmbedding, Any]:
    """keras-io's model with the example's sizes: embedding, block, pooling, head."""
    t = text_transformer
    inputs = L.Input(shape=(t.MAX_LENGTH,), dtype="int32")
    embedding = KerasIoTokenAndPositionEmbedding(t.MAX_LENGTH, t.VOCABULARY, t.EMBED_DIM)
    block = KerasIoTransformerBlock(t.EMBED_DIM, t.NUM_HEADS, t.FF_DIM)
    x = block(embedding(inputs))
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dropout(0.1)(x)
    x = L.Dense(20, activation="relu", name="hidden")(x)
    x = L.Dropout(0.1)(x)
    outputs = L.Dense(2, activation="softmax", name="sentiment")(x)
    return keras.Model(inputs=inputs, outputs=outputs), embedding, block


def test_text_transformer_is_the_keras_io_classifier(tmp_path: Path) -> None:
    result = text_transformer.build(labels=False)
    model = result.softmax.model()
    ref, embedding, block = keras_io_classifier()
    assert model.count_params() == ref.count_params() == 23_870
    weights = result.softmax.network.get_weights
    # the same weights, layer by layer (random, so that every layer matters)
    rng = np.random.default_rng(0)
    pairs = [
        (embedding.token_emb, "tokens"),
        (embedding.pos_emb, "positions"),
        (block.att, "block_attention"),
        (block.ffn.layers[0], "block_ffn1"),
        (block.ffn.layers[1], "block_ffn2"),
        (block.layernorm1, "block_norm1"),
        (block.layernorm2, "block_norm2"),
        (ref.get_layer("hidden"), "hidden"),
        (ref.get_layer("sentiment"), "sentiment"),
    ]
    for layer, name in pairs:
        values = [rng.normal(0, 0.3, w.shape).astype("float32") for w in weights(name).values()]
        result.softmax.network.set_weights(name, dict(zip(weights(name), values)))
        layer.set_weights(values)
    reviews, _ = text_transformer.make_reviews(8, np.random.default_rng(1))
    np.testing.assert_allclose(model(reviews), ref(reviews), rtol=1e-5, atol=1e-6)
    path = tmp_path / "text.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded(reviews), model(reviews))


def keras_vit(patch: int = 7, dim: int = 64, heads: int = 4, blocks: int = 2) -> keras.Model:
    """The example's ViT in Keras layers (keras-io's ViT blocks; the patch projection a
    ``Conv2D`` with stride = patch size, the positions keras-io's learned ``Embedding``)."""
    count = (28 // patch) ** 2
    inputs = keras.Input((28, 28, 1))
    x = L.Conv2D(dim, patch, strides=patch)(inputs)
    x = KerasIoPositions(count, dim)(L.Reshape((count, dim))(x))
    for _ in range(blocks):
        x1 = L.LayerNormalization(epsilon=1e-6)(x)
        x2 = L.Add()([x, L.MultiHeadAttention(heads, dim // heads)(x1, x1)])
        x3 = L.LayerNormalization(epsilon=1e-6)(x2)
        x3 = L.Dense(dim)(L.Dense(2 * dim, activation="gelu")(x3))
        x = L.Add()([x2, x3])
    x = L.GlobalAveragePooling1D()(L.LayerNormalization(epsilon=1e-6)(x))
    return keras.Model(inputs, L.Dense(10)(x))


def test_vit_is_the_keras_network(tmp_path: Path) -> None:
    model = vit_mnist.build().model()
    ref = keras_vit()
    assert model.count_params() == ref.count_params() == 71_946
    assert [w.shape for w in model.weights] == [w.shape for w in ref.weights]
    rng = np.random.default_rng(0)
    ref.set_weights([rng.normal(0, 0.2, w.shape).astype("float32") for w in ref.weights])
    model.set_weights(ref.get_weights())
    images = random_input((28, 28, 1), "float32", batch=4, low=0.0, high=1.0)
    np.testing.assert_allclose(model(images), ref(images), rtol=1e-4, atol=1e-5)
    path = tmp_path / "vit.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded(images), model(images))
