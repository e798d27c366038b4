"""Dtypes are true (issue 9, item 4): the steps that only move values keep their dtype.

int32 (and int64, bool, float16) stays itself through ``reshape``, ``flatten``, ``squeeze``,
``expand_dims``, ``transpose``, slicing, ``concat``, ``join``, ``stack``, ``split`` and
``unstack``: the chain's dtype, the eager tensor's dtype and the model's output dtype all
agree, symbolic and eager alike, and the values are NumPy's. Joins Keras cannot compute in
the inputs' dtype (bool sums, the mean of ints) are refused at build time, the same way in
both modes. ``to_dense_one_hot`` takes only an int depth (issue 9, "Wrong values").

Guards, which passed before the change too: ``flatten``, ``expand_dims``, ``transpose``,
slicing, ``stack``, ``split`` and ``unstack`` on int32, int64 and bool (they failed on
float16, cast to float32), the float32 cases, int32 mixed with float32 in ``concat``/``join``
and every mixed ``stack``, ``stack``/``split``/``unstack`` under ``mixed_float16``, the
eager loss case, and a depth below 1 or a NumPy int depth.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

import chainnet as cn

SHAPE = (3, 1, 4)  # without the batch
DATA = np.arange(2 * 3 * 1 * 4).reshape((2, *SHAPE)) - 7  # negative values too

Step = Callable[[Any], Any]
Reference = Callable[[np.ndarray], Any]

# (id, the step on a chain, NumPy's result on the data); a step may give several chains
STEPS: list[tuple[str, Step, Reference]] = [
    ("reshape-same-rest", lambda c: c.reshape(["_", "*"]), lambda d: np.reshape(d, (2, -1))),
    ("reshape-string", lambda c: c.reshape("_4*"), lambda d: np.reshape(d, (2, 4, 3))),
    ("reshape-minus-one", lambda c: c.reshape([-1, 4]), lambda d: np.reshape(d, (-1, 4))),
    ("flatten", lambda c: c.flatten(), lambda d: np.reshape(d, (2, -1))),
    ("squeeze", lambda c: c.squeeze(), lambda d: np.squeeze(d, axis=2)),
    ("squeeze-axis", lambda c: c.squeeze(2), lambda d: np.squeeze(d, axis=2)),
    ("expand_dims", lambda c: c.expand_dims(1), lambda d: np.expand_dims(d, 1)),
    ("transpose", lambda c: c.transpose([0, 3, 2, 1]), lambda d: np.transpose(d, (0, 3, 2, 1))),
    ("index", lambda c: c[:, 0], lambda d: d[:, 0]),
    ("slice", lambda c: c.slice((slice(None), slice(1, 3))), lambda d: d[:, 1:3]),
    ("concat", lambda c: c.concat(-1, [c]), lambda d: np.concatenate([d, d], axis=-1)),
    ("join-concat", lambda c: c.join([c], axis=1), lambda d: np.concatenate([d, d], axis=1)),
    ("stack", lambda c: c.stack([c]), lambda d: np.stack([d, d], axis=1)),
    ("split", lambda c: c.split(1, 3), lambda d: tuple(np.split(d, 3, axis=1))),
    ("split-sizes", lambda c: c.split(-1, [1, 3]), lambda d: tuple(np.split(d, [1], axis=-1))),
    ("unstack", lambda c: c.unstack(1), lambda d: tuple(d[:, i] for i in range(3))),
]

# elementwise joins: Keras computes them in any numeric dtype but bool
ARITHMETIC: list[tuple[str, Step, Reference]] = [
    ("join-add", lambda c: c.join([c], how="add"), lambda d: d + d),
    ("join-subtract", lambda c: c.join([c], how="subtract"), lambda d: d - d),
    ("join-multiply", lambda c: c.join([c], how="multiply"), lambda d: d * d),
    ("join-maximum", lambda c: c.join([c, c + 1], how="maximum"), lambda d: d + 1),
    ("join-minimum", lambda c: c.join([c, c + 1], how="minimum"), lambda d: d),
]


def _cases() -> list[Any]:
    cases = []
    for dtype in ("int32", "int64", "bool", "float16"):
        for step_id, step, reference in STEPS + (ARITHMETIC if dtype != "bool" else []):
            cases.append(pytest.param(dtype, step, reference, id=f"{step_id}-{dtype}"))
    return cases


def _data(dtype: str) -> np.ndarray:
    return (DATA % 2 == 0) if dtype == "bool" else DATA.astype(dtype)


def _parts(result: Any) -> list[Any]:
    return list(result) if isinstance(result, tuple) else [result]


def _std(dtype: Any) -> str:
    return str(keras.backend.standardize_dtype(dtype))


@pytest.mark.parametrize(("dtype", "step", "reference"), _cases())
def test_step_keeps_the_dtype_symbolic_and_eager(
    dtype: str, step: Step, reference: Reference
) -> None:
    data = _data(dtype)
    expected = _parts(reference(data))

    # symbolic: the chain's dtype, then the model's real output
    chains = _parts(step(cn.input(SHAPE, dtype=dtype)))
    assert [c.dtype for c in chains] == [dtype] * len(expected)
    model = cn.model(chains)
    outputs = model(data)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    assert [_std(o.dtype) for o in outputs] == [dtype] * len(expected)
    assert [o.dtype for o in model.outputs] == [dtype] * len(expected)
    for got, want in zip(outputs, expected):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got), want)

    # eager: the layers run at once on the data
    eager = _parts(step(cn.wrap(data)))
    assert [c.dtype for c in eager] == [dtype] * len(expected)
    for chain, want in zip(eager, expected):
        value = chain.numpy()
        assert _std(value.dtype) == dtype
        np.testing.assert_array_equal(value, want)


@pytest.mark.parametrize(
    "step",
    [
        lambda c: c.reshape(["_", "*"]),
        lambda c: c.flatten(),
        lambda c: c.squeeze(),
        lambda c: c[:, 1:],
        lambda c: c.concat(-1, [c]),
        lambda c: c.join([c], how="average"),
        lambda c: c.stack([c]),
    ],
    ids=["reshape", "flatten", "squeeze", "slice", "concat", "average", "stack"],
)
def test_float32_chains_are_unchanged(step: Step) -> None:
    """A guard (passed before the change too): float32 stays float32, and the layers compute
    in float32 as Keras' default policy does."""
    chain = step(cn.input(SHAPE))
    assert chain.dtype == "float32"
    assert chain.layer.compute_dtype == "float32"
    out = cn.model(chain)(DATA.astype("float32"))
    assert _std(out.dtype) == "float32"


@pytest.mark.parametrize(
    "step",
    [
        lambda c: c.reshape(["_", "*"]),
        lambda c: c.squeeze(),
        lambda c: c.concat(-1, [c]),
        lambda c: c.join([c], how="add"),
        lambda c: c.stack([c]),
        lambda c: c.split(1, 3)[0],
        lambda c: c.unstack(1)[2],
    ],
    ids=["reshape", "squeeze", "concat", "add", "stack", "split", "unstack"],
)
def test_mixed_precision_keeps_ints_and_casts_floats_as_keras_does(step: Step) -> None:
    """Under ``mixed_float16`` int32 still stays int32; float32 inputs follow the policy to
    float16, as every Keras layer's autocast gives them."""
    previous = keras.config.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        ints = step(cn.input(SHAPE, dtype="int32"))
        floats = step(cn.input(SHAPE))
        eager_ints = step(cn.wrap(_data("int32")))
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    assert ints.dtype == eager_ints.dtype == _std(eager_ints.numpy().dtype) == "int32"
    assert _std(cn.model(ints)(_data("int32")).dtype) == "int32"
    assert floats.dtype == "float16"
    assert _std(cn.model(floats)(_data("float32")).dtype) == "float16"


def test_the_layers_compute_in_the_input_dtype() -> None:
    x = cn.input(SHAPE, dtype="int32")
    for chain in (x.reshape(["_", "*"]), x.flatten(), x.squeeze(), x.concat(-1, [x])):
        assert chain.layer.compute_dtype == "int32", chain.name
        assert chain.layer.dtype_policy.name == "int32", chain.name


@pytest.mark.parametrize(
    ("dtypes", "expected"),
    [
        (("int32", "int64"), "int64"),
        (("int32", "float32"), "float32"),
        (("bool", "int32"), "int32"),
    ],
    ids=["int32-int64", "int32-float32", "bool-int32"],
)
@pytest.mark.parametrize("how", ["concat", "join", "add", "stack"])
def test_mixed_inputs_give_their_common_dtype(
    dtypes: tuple[str, str], expected: str, how: str
) -> None:
    """Keras' type promotion (``keras.backend.result_type``) decides, in both modes."""
    data = [_data(d)[:, :, 0] for d in dtypes]

    def step(a: Any, b: Any) -> Any:
        if how == "concat":
            return a.concat(-1, [b])
        if how == "stack":
            return a.stack([b])
        return a.join([b], how="concat" if how == "join" else how)

    a = cn.input((3, 4), dtype=dtypes[0])
    b = a.network.input((3, 4), dtype=dtypes[1])
    chain = step(a, b)
    assert chain.dtype == expected
    assert _std(cn.model(chain)(data).dtype) == expected
    eager = step(cn.wrap(data[0]), data[1])
    assert eager.dtype == expected and _std(eager.numpy().dtype) == expected


@pytest.mark.parametrize("mode", ["symbolic", "eager"])
def test_int_labels_through_reshape_and_squeeze_reach_the_loss(mode: str) -> None:
    """The issue's case: int labels really are int after reshape or squeeze, so
    ``sparse_cross_entropy`` takes them (it refused labels reported as float32)."""
    rng = np.random.default_rng(0)
    logits_data = rng.normal(size=(4, 3)).astype("float32")
    labels_data = np.array([[[0]], [[2]], [[1]], [[2]]], "int32")  # (batch, 1, 1)
    expected = float(
        np.mean(
            keras.losses.sparse_categorical_crossentropy(
                labels_data.reshape(-1), logits_data, from_logits=True
            )
        )
    )
    for prepare in (lambda c: c.squeeze(), lambda c: c.reshape(["_", "*"]).squeeze(-1)):
        if mode == "symbolic":
            logits = cn.input((3,), name="logits")
            labels = prepare(logits.network.input((1, 1), dtype="int32", name="labels"))
            assert labels.dtype == "int32"
            loss = logits.sparse_cross_entropy(labels)
            value = cn.model(loss)([logits_data, labels_data])
        else:
            labels = prepare(cn.wrap(labels_data))
            assert labels.dtype == "int32"
            value = cn.wrap(logits_data).sparse_cross_entropy(labels).numpy()
        np.testing.assert_allclose(float(np.mean(value)), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_int_model_saves_and_loads_with_its_dtypes(dtype: str, tmp_path: Path) -> None:
    x = cn.input(SHAPE, dtype=dtype, name="ids")
    squeezed = x.squeeze()
    first, second = squeezed.split(1, [1, 2])
    outputs = [
        x.reshape(["_", "*"]),
        squeezed.concat(1, [squeezed]),
        first.join([second[:, :1]], how="add"),
        squeezed.stack([squeezed]).transpose([0, 2, 1, 3]),
        *squeezed.unstack(1),
    ]
    model = cn.model(outputs)
    data = _data(dtype)
    before = [keras.ops.convert_to_numpy(o) for o in model(data)]
    path = tmp_path / "int.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert [o.dtype for o in loaded.outputs] == [dtype] * len(outputs)
    after = loaded.predict(data, verbose=0)
    for got, want in zip(after, before):
        assert _std(got.dtype) == dtype
        np.testing.assert_array_equal(got, want)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]


BOOL_AND_INT_JOINS = [
    ("bool", "add", "cannot combine bool inputs"),
    ("bool", "maximum", "cannot combine bool inputs"),
    ("bool", "average", "cannot combine bool inputs"),
    ("int32", "average", "needs float inputs"),
]


@pytest.mark.parametrize(
    ("dtype", "how", "message"),
    BOOL_AND_INT_JOINS,
    ids=[f"{d}-{h}" for d, h, _ in BOOL_AND_INT_JOINS],
)
def test_joins_keras_cannot_compute_are_refused_in_both_modes(
    dtype: str, how: str, message: str
) -> None:
    """Before, the symbolic join built (and reported float32), then failed or gave float64
    when the model ran; the eager join failed inside Keras or gave float64."""
    for start in (cn.input(SHAPE, dtype=dtype), cn.wrap(_data(dtype))):
        with pytest.raises(cn.ChainError) as caught:
            start.join([start], how=how)
        text = str(caught.value)
        assert text.startswith("join() at layer 'join'"), text
        assert message in text and f"how={how!r}" in text and dtype in text, text
        assert "cast" in text, text


@pytest.mark.parametrize("depth", [2.5, True, "3", 3.0, None], ids=repr)
def test_one_hot_depth_must_be_an_int(depth: Any) -> None:
    """``to_dense_one_hot(2.5)`` made 2 classes, ``True`` 1 class; ``"3"`` failed with a
    Python internal ("'<' not supported")."""
    for ids in (cn.input((), dtype="int32"), cn.wrap(np.array([0, 1], "int32"))):
        with pytest.raises(cn.ChainError) as caught:
            ids.to_dense_one_hot(depth)
        text = str(caught.value)
        assert text.startswith("to_dense_one_hot() at layer 'to_dense_one_hot'"), text
        assert "num_classes" in text and "positive int" in text, text
        assert f"got {depth!r} ({type(depth).__name__})" in text, text


@pytest.mark.parametrize("depth", [0, -2])
def test_one_hot_depth_must_be_positive(depth: int) -> None:
    """A guard: a depth below 1 was refused before too (now in the same words)."""
    with pytest.raises(cn.ChainError, match="num_classes"):
        cn.input((), dtype="int32").to_dense_one_hot(depth)


def test_one_hot_takes_numpy_ints() -> None:
    """A guard: a NumPy integer depth (``data.num_classes``) is an int."""
    chain = cn.input((), dtype="int32").to_dense_one_hot(np.int64(4))
    assert chain.shape == (None, 4) and chain.dtype == "float32"


# --- Pools, upsampling, dropout, activations and apply (issue 9, item 4, the remaining steps)
#
# Before: max_pool, global_max_pool, nearest upsample, dropout, relu and apply on an int32
# chain reported float32 while the model returned int32; sigmoid, softmax_activation and the
# average pools built on int32 and failed only when the model ran (the eager chain failed at
# once); relu, max_pool, leaky_relu and bilinear upsample on bool failed only when run.
# Now a step either computes in the input's dtype and says so, or refuses the input at build
# time, in the same words on symbolic and eager chains.

SPATIAL = (4, 4, 2)  # without the batch
SPATIAL_DATA = np.arange(2 * 4 * 4 * 2).reshape((2, *SPATIAL)) - 13  # negative values too


@keras.saving.register_keras_serializable(package="chainnet_tests")
def _as_float64(t: Any) -> Any:
    return keras.ops.cast(t, "float64")


def _spatial(dtype: str) -> np.ndarray:
    return (SPATIAL_DATA % 3 == 0) if dtype == "bool" else SPATIAL_DATA.astype(dtype)


def _max_pool_reference(d: np.ndarray) -> np.ndarray:
    return d.reshape(2, 2, 2, 2, 2, 2).max(axis=(2, 4))


# (id, the step, NumPy's result, the dtypes it computes in): on the others it is refused
KEEPING: list[tuple[str, Step, Reference, tuple[str, ...]]] = [
    ("max_pool", lambda c: c.max_pool(2), _max_pool_reference, ("int32", "int64", "uint8")),
    (
        "max_pool-1d",
        lambda c: c.reshape(["_", 8, 4]).max_pool(2),
        lambda d: d.reshape(2, 4, 2, 4).max(axis=2),
        ("int32", "int64", "uint8"),
    ),
    (
        "global_max_pool",
        lambda c: c.global_max_pool(),
        lambda d: d.max(axis=(1, 2)),
        ("int32", "int64", "uint8", "bool"),
    ),
    (
        "global_max_pool-keepdims",
        lambda c: c.global_max_pool(keepdims=True),
        lambda d: d.max(axis=(1, 2), keepdims=True),
        ("int32", "int64", "uint8", "bool"),
    ),
    (
        "upsample",
        lambda c: c.upsample(2),
        lambda d: d.repeat(2, axis=1).repeat(2, axis=2),
        ("int32", "int64", "uint8", "bool"),
    ),
    (
        "upsample-1d",
        lambda c: c.reshape(["_", 16, 2]).upsample(2),
        lambda d: d.reshape(2, 16, 2).repeat(2, axis=1),
        ("int32", "int64", "uint8", "bool"),
    ),
    (
        "upsample-3d",
        lambda c: c.expand_dims(1).upsample(2),
        lambda d: d[:, None].repeat(2, axis=1).repeat(2, axis=2).repeat(2, axis=3),
        ("int32", "int64", "uint8", "bool"),
    ),
    ("relu", lambda c: c.relu(), lambda d: np.maximum(d, 0), ("int32", "int64", "uint8")),
    ("relu6", lambda c: c.relu6(), lambda d: np.clip(d, 0, 6), ("int32", "int64", "uint8")),
    (
        "apply",
        lambda c: c.apply(lambda t: t[:, :2]),
        lambda d: d[:, :2],
        ("int32", "int64", "uint8", "bool"),
    ),
]

FLOAT_ONLY: list[tuple[str, str, Step]] = [
    ("sigmoid", "sigmoid", lambda c: c.sigmoid()),
    ("tanh", "tanh", lambda c: c.tanh()),
    ("softplus", "softplus", lambda c: c.softplus()),
    ("softsign", "softsign", lambda c: c.softsign()),
    ("elu", "elu", lambda c: c.elu()),
    ("selu", "selu", lambda c: c.selu()),
    ("gelu", "gelu", lambda c: c.gelu()),
    ("swish", "swish", lambda c: c.swish()),
    ("leaky_relu", "leaky_relu", lambda c: c.leaky_relu()),
    ("softmax_activation", "softmax_activation", lambda c: c.softmax_activation()),
    ("average_pool", "average_pool", lambda c: c.average_pool(2)),
    ("global_average_pool", "global_average_pool", lambda c: c.global_average_pool()),
    ("upsample-bilinear", "upsample", lambda c: c.upsample(2, interpolation="bilinear")),
    ("upsample-bicubic", "upsample", lambda c: c.upsample(2, interpolation="bicubic")),
    ("dropout", "dropout", lambda c: c.dropout(rate=0.5)),
    ("max_pool-3d", "max_pool", lambda c: c.expand_dims(1).max_pool(1)),
]


def _keeping_cases() -> list[Any]:
    return [
        pytest.param(dtype, step, reference, id=f"{step_id}-{dtype}")
        for step_id, step, reference, dtypes in KEEPING
        for dtype in dtypes
    ]


def _refused_cases() -> list[Any]:
    cases = [
        pytest.param(dtype, method, step, "floating-point", id=f"{step_id}-{dtype}")
        for step_id, method, step in FLOAT_ONLY
        for dtype in ("int32", "int64", "uint8", "bool")
    ]
    for step_id, step, _, dtypes in KEEPING:
        if "bool" not in dtypes:
            method = step_id.split("-")[0]
            cases.append(pytest.param("bool", method, step, "numeric", id=f"{step_id}-bool"))
    return cases


@pytest.mark.parametrize(("dtype", "step", "reference"), _keeping_cases())
def test_value_steps_compute_and_report_the_int_dtype(
    dtype: str, step: Step, reference: Reference
) -> None:
    """Max pools, nearest upsampling, relu/relu6 and an ``apply`` that keeps ints: the chain's
    dtype, the layer's compute dtype, the model's output and the eager value agree."""
    data = _spatial(dtype)
    expected = reference(data)
    chain = step(cn.input(SPATIAL, dtype=dtype))
    assert chain.dtype == dtype
    assert chain.layer.compute_dtype == dtype
    model = cn.model(chain)
    assert model.outputs[0].dtype == dtype
    for out in (model(data), model.predict(data, verbose=0)):
        assert _std(out.dtype) == dtype
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), expected)
    eager = step(cn.wrap(data))
    assert eager.dtype == dtype and _std(eager.numpy().dtype) == dtype
    np.testing.assert_array_equal(eager.numpy(), expected)


@pytest.mark.parametrize(("dtype", "method", "step", "needs"), _refused_cases())
def test_steps_that_cannot_compute_the_dtype_refuse_it_at_build_time(
    dtype: str, method: str, step: Step, needs: str
) -> None:
    """Float-only steps (and bool for max_pool/relu/relu6) are refused when the step is
    built, in the same words on a symbolic and an eager chain."""
    texts = []
    for start in (cn.input(SPATIAL, dtype=dtype), cn.wrap(_spatial(dtype))):
        with pytest.raises(cn.ChainError) as caught:
            step(start)
        texts.append(str(caught.value))
    symbolic, eager = texts
    assert symbolic == eager, texts
    assert symbolic.startswith(f"{method}() at layer {method!r}: needs a {needs} input"), symbolic
    assert f"got {dtype} from" in symbolic and ".cast('float32')" in symbolic, symbolic


@pytest.mark.parametrize(
    "step",
    [
        lambda c: c.max_pool(2),
        lambda c: c.global_max_pool(),
        lambda c: c.upsample(2),
        lambda c: c.upsample(2, interpolation="bilinear"),
        lambda c: c.relu(),
        lambda c: c.sigmoid(),
        lambda c: c.average_pool(2),
        lambda c: c.dropout(rate=0.5),
        lambda c: c.apply(lambda t: t * 2),
    ],
    ids=[
        "max_pool",
        "global_max_pool",
        "upsample",
        "bilinear",
        "relu",
        "sigmoid",
        "average",
        "dropout",
        "apply",
    ],
)
def test_float_steps_keep_the_policy(step: Step) -> None:
    """A guard (passed before the change too): on float32 and float16 inputs the layers
    follow the dtype policy (float32), as every Keras layer's autocast does."""
    for dtype in ("float32", "float16"):
        chain = step(cn.input(SPATIAL, dtype=dtype))
        assert chain.dtype == "float32" and chain.layer.compute_dtype == "float32", dtype
        out = cn.model(chain)(_spatial("float32").astype(dtype))
        assert _std(out.dtype) == "float32"


def test_apply_reports_what_tracing_gives_on_int_input() -> None:
    """On an int input ``apply`` takes the dtype ``fn`` computes: a cast to float64 is
    float64 (Keras reported float32), and the model saves and loads with it."""
    chain = cn.input(SPATIAL, dtype="int32").apply(_as_float64)
    assert chain.dtype == "float64"
    out = cn.model(chain)(_spatial("int32"))
    assert _std(out.dtype) == "float64"
    eager = cn.wrap(_spatial("int32")).apply(_as_float64)
    assert eager.dtype == "float64"


def test_int_steps_save_and_load_with_their_dtypes(tmp_path: Path) -> None:
    x = cn.input(SPATIAL, dtype="int32", name="ids")
    outputs = [x.max_pool(2), x.global_max_pool(), x.upsample(2), x.relu(), x.relu6()]
    model = cn.model(outputs)
    path = tmp_path / "steps.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert [o.dtype for o in loaded.outputs] == ["int32"] * len(outputs)
    data = _spatial("int32")
    for got, want in zip(loaded.predict(data, verbose=0), model.predict(data, verbose=0)):
        assert _std(got.dtype) == "int32"
        np.testing.assert_array_equal(got, want)
