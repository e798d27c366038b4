"""The private Keras/TensorFlow internals chainnet uses: all in ``chainnet/_keras_compat.py``,
each checked here against the installed Keras (a failure names the Keras and TensorFlow
versions: update ``_keras_compat.py`` for them), and nowhere else in the package."""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from chainnet import _keras_compat as compat

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "chainnet"
VERSIONS = f"Keras {keras.__version__} (TensorFlow {tf.__version__})"


def _changed(what: str) -> str:
    return f"{VERSIONS} changed {what}: update chainnet/_keras_compat.py for this version"


class _Holder(keras.layers.Layer):
    """A custom layer keeping another layer as an attribute (not in any ``.layers`` list)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(2, name="inner")

    def call(self, x: object) -> object:
        return self.inner(x)


def test_flatten_layers_finds_nested_models_and_attribute_layers() -> None:
    inner_in = keras.Input((3,))
    inner = keras.Model(inner_in, keras.layers.Dense(3, name="deep")(inner_in), name="sub")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, _Holder(name="holder")(inner(inputs)))
    try:
        names = {layer.name for layer in compat.flatten_layers(model)}
    except AttributeError as error:
        pytest.fail(_changed(f"Layer._flatten_layers ({error})"))
    assert {"sub", "deep", "holder", "inner"} <= names, _changed(
        f"what Layer._flatten_layers walks: got {sorted(names)}"
    )
    assert model.name not in names


def test_inbound_input_tensors_lists_every_call() -> None:
    layer = keras.layers.Add()
    a, b = keras.Input((2,)), keras.Input((2,))
    layer([a, b])
    layer([b, a])
    try:
        calls = compat.inbound_input_tensors(layer)
    except AttributeError as error:
        pytest.fail(_changed(f"Operation._inbound_nodes or Node.input_tensors ({error})"))
    assert [[id(t) for t in call] for call in calls] == [[id(a), id(b)], [id(b), id(a)]], _changed(
        "the inbound nodes' input_tensors"
    )


def test_keras_history_layer_is_the_layer_that_made_a_symbolic_tensor() -> None:
    x = keras.Input((2,), name="the_input")
    y = keras.layers.Dense(1, name="the_dense")(x)
    made = compat.keras_history_layer(x)
    assert made is not None and made.name == "the_input", _changed("KerasTensor._keras_history")
    made = compat.keras_history_layer(y)
    assert made is not None and made.name == "the_dense", _changed("KerasTensor._keras_history")
    assert compat.keras_history_layer(np.zeros(2)) is None


def test_resume_epoch_reads_what_backup_and_restore_restored(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 2)), np.zeros((4, 1))
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[backup])
    assert compat.resume_epoch(keras.Sequential()) is None
    restoring = keras.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    restoring.set_model(model)
    restoring.on_train_begin()
    assert compat.resume_epoch(model) == 2, _changed(
        "how BackupAndRestore tells model.fit the epoch to resume from (model._initial_epoch)"
    )


def test_symbolic_build_creates_the_optimizer_and_metric_variables() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, "softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert not model.optimizer.built
    batch = (np.zeros((2, 2), "float32"), np.zeros(2, "int64"), None)
    assert compat.symbolic_build(model, batch), _changed("Trainer._symbolic_build (missing)")
    assert model.optimizer.built, _changed("Trainer._symbolic_build (optimizer not built)")
    assert all(getattr(m, "built", True) for m in model.metrics), _changed(
        "Trainer._symbolic_build (compiled metrics not built)"
    )


def test_no_loss_error_text() -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd")
    x = np.zeros((2, 2), "float32")
    with pytest.raises(ValueError) as info:
        model.compute_loss(x, None, model(x))
    assert compat.NO_LOSS_ERROR in str(info.value), _changed(
        f"compute_loss's error without a loss: {info.value}"
    )


def test_label_range_error_text() -> None:
    @tf.function
    def loss(labels: tf.Tensor) -> tf.Tensor:
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.zeros((2, 3)))

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        loss(tf.constant([0, 7]))
    message = str(info.value)
    match = compat.LABEL_RANGE_ERROR.search(message)
    assert match and match.groups() == ("7", "3"), _changed(f"the label range error: {message}")
    assert compat.NODE_IN_ERROR.search(message), _changed(f"where graph errors say: {message}")


# -- nowhere else ---------------------------------------------------------------------------


def _keras_private_names() -> set[str]:
    """Private (single underscore) attribute names of the Keras and TensorFlow objects chainnet
    handles: a built and trained model, its layers, tensors, optimizer, metrics, callbacks,
    variables, functions and strategies."""
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    objects = [
        model,
        *model.layers,
        inputs,
        model.optimizer,
        *model.metrics,
        keras.callbacks.History(),
        keras.Variable(1.0),
        model.layers[1].dtype_policy,
        tf.constant(1.0),
        tf.Variable(1.0),
        tf.function(lambda: 1),
        tf.distribute.get_strategy(),
    ]
    names: set[str] = set()
    for obj in objects:
        found = set(dir(obj)) | set(getattr(obj, "__dict__", {}))
        names |= {n for n in found if n.startswith("_") and not n.startswith("__")}
    return names


def _own_names(trees: dict[Path, ast.Module]) -> set[str]:
    """Private attributes chainnet's own (non-Keras) classes set on themselves."""
    own: set[str] = set()
    for tree in trees.values():
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            bases = " ".join(ast.unparse(b) for b in cls.bases)
            if "keras" in bases or "Layer" in bases or "Model" in bases:
                continue
            for node in ast.walk(cls):
                if isinstance(node, ast.FunctionDef):
                    own.add(node.name)
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and ast.unparse(node.value) in ("self", "cls")
                ):
                    own.add(node.attr)
                if isinstance(node, ast.Assign) and "__slots__" in map(ast.unparse, node.targets):
                    own |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
    return own


def test_no_private_keras_access_outside_the_compat_module() -> None:
    private = _keras_private_names()
    trees = {
        path: ast.parse(path.read_text())
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "_keras_compat.py"
    }
    allowed = _own_names(trees)
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute):
                name = node.attr
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr", "setattr", "delattr")
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
            ):
                name = node.args[1].value
            if name in private and name not in allowed:
                where = path.relative_to(ROOT)
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)[:70]}")
    assert not found, (
        "private Keras/TensorFlow attributes used outside chainnet/_keras_compat.py (use public "
        "API, or add a function with a test there):\n" + "\n".join(found)
    )


def test_the_private_name_scan_can_fail() -> None:
    """The scan above knows the names chainnet used to reach for."""
    private = _keras_private_names()
    for name in ("_loss_tracker", "_compile_metrics", "_flatten_layers", "_keras_history"):
        assert name in private, name
