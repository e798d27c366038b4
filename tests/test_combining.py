"""Chains started separately combine in every merge step (arithmetic, join, concat, stack,
templates, heads' labels and targets, ``cn.model``), arrays join where a chain operand is,
and the operator table works on chains, sequential builders and templates.

Symbolic combinations are checked end to end: ``cn.model`` builds, one training step runs,
a ``.keras`` file round-trips with ``safe_mode=True`` and the names are the same in a fresh
process. Values are compared with hand-written Keras models (same weights) or NumPy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from chain_helpers import here, node_names, uniform

import chainnet as cn
import chainnet._naming
import chainnet.methods.shape

RNG = np.random.default_rng(0)
HERE = Path(__file__).resolve().parent


# =========================================================================================
# Symbolic combinations: each builder starts its chains separately and merges them in one
# step. A builder returns the model outputs and whether they carry their own loss (a head).
# =========================================================================================
Builder = Callable[[], tuple[list[Any], bool]]


def _two_inputs_add() -> tuple[list[Any], bool]:
    a, b = cn.input((3,)), cn.input((3,))
    return [(a + b).fully_connected(2)], False


def _two_inputs_join() -> tuple[list[Any], bool]:
    a, b = cn.input((3,)), cn.input((3,))
    return [a.join([b], how="add").fully_connected(2)], False


def _two_inputs_concat() -> tuple[list[Any], bool]:
    a, b = cn.input((3,)), cn.input((3,))
    return [a.concat(-1, [b]).fully_connected(2)], False


def _two_inputs_stack() -> tuple[list[Any], bool]:
    a, b = cn.input((3,)), cn.input((3,))
    return [a.stack([b]).flatten().fully_connected(2)], False


def _two_inputs_model() -> tuple[list[Any], bool]:
    a, b = cn.input((3,)), cn.input((3,))
    return [a.fully_connected(2), b.fully_connected(2)], False


def _two_inputs_l2_regression() -> tuple[list[Any], bool]:
    a, target = cn.input((3,)), cn.input((3,))
    return [a.fully_connected(3).l2_regression(target)], True


def _two_inputs_softmax_labels() -> tuple[list[Any], bool]:
    x, labels = cn.input((3,)), cn.input((), dtype="int32")
    return [x.softmax_classifier(3, labels).softmax], True


def _array_constants() -> tuple[list[Any], bool]:
    x = cn.input((3,))
    return [((1 - x * 2 + np.ones(3, "float32")) / 2).fully_connected(2)], False


def _siamese_template() -> tuple[list[Any], bool]:
    tower = cn.template(name="tower").fully_connected(4, activation="relu")
    left, right = cn.input((3,)), cn.input((3,))
    return [tower(left), right.apply_template(tower)], False


def _function_template_two_inputs() -> tuple[list[Any], bool]:
    @cn.template
    def pair(a: Any, b: Any) -> Any:
        return a.concat(-1, [b]).fully_connected(2)

    return [pair(cn.input((3,)), cn.input((3,)))], False


def _two_towers() -> tuple[list[Any], bool]:
    left = cn.input((4,), name="left").fully_connected(3, activation="relu")
    right = cn.input((4,), name="right").fully_connected(3, activation="relu")
    return [left.concat(-1, [right]).fully_connected(2)], False


SYMBOLIC: dict[str, Builder] = {
    "two_inputs_add": _two_inputs_add,
    "two_inputs_join": _two_inputs_join,
    "two_inputs_concat": _two_inputs_concat,
    "two_inputs_stack": _two_inputs_stack,
    "two_inputs_model": _two_inputs_model,
    "two_inputs_l2_regression": _two_inputs_l2_regression,
    "two_inputs_softmax_labels": _two_inputs_softmax_labels,
    "array_constants": _array_constants,
    "siamese_template": _siamese_template,
    "function_template_two_inputs": _function_template_two_inputs,
    "two_towers": _two_towers,
}


def signature(case: str) -> dict[str, list[str]]:
    """What the names of a case are: steps, model layers, model inputs, variable paths."""
    outputs, _ = SYMBOLIC[case]()
    model = cn.model(outputs)
    network = outputs[0].network
    return {
        "nodes": [n.name for n in network.nodes],
        "layers": [layer.name for layer in model.layers],
        "inputs": [t.name for t in model.inputs],
        "variables": sorted(network.variables),
    }


def all_signatures() -> dict[str, dict[str, list[str]]]:
    """Every case's names, built in reverse order (for the fresh process)."""
    return {case: signature(case) for case in reversed(list(SYMBOLIC))}


@pytest.fixture(scope="module")
def fresh_signatures() -> dict[str, dict[str, list[str]]]:
    """The names of every symbolic case, built in a fresh Python process."""
    code = (
        "import sys, json; "
        f"sys.path.insert(0, {str(HERE)!r}); "
        "import test_combining as t; "
        "print('SIGNATURES=' + json.dumps(t.all_signatures()))"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("SIGNATURES="))
    found: dict[str, dict[str, list[str]]] = json.loads(line[len("SIGNATURES=") :])
    return found


def _feed(model: keras.Model, batch: int = 4) -> list[np.ndarray]:
    feed = []
    for index, tensor in enumerate(model.inputs):
        shape = (batch, *tensor.shape[1:])
        if "int" in str(tensor.dtype):
            feed.append(np.random.default_rng(index).integers(0, 3, size=shape).astype("int32"))
        else:
            feed.append(uniform(*shape, seed=index))
    return feed


def _as_list(value: Any) -> list[np.ndarray]:
    if isinstance(value, (list, tuple)):
        return [np.asarray(v) for v in value]
    return [np.asarray(value)]


@pytest.mark.parametrize("case", list(SYMBOLIC))
def test_symbolic_combination_builds_trains_saves_and_names_are_stable(
    case: str, tmp_path: Path, fresh_signatures: dict[str, dict[str, list[str]]]
) -> None:
    outputs, head = SYMBOLIC[case]()
    model = cn.model(outputs)
    network = outputs[0].network
    assert all(o.network is network for o in outputs)
    names = [n.name for n in network.nodes]
    assert len(set(names)) == len(names)
    assert len({layer.name for layer in model.layers}) == len(model.layers)

    feed = _feed(model)
    x = feed[0] if len(feed) == 1 else feed
    if head:
        model.compile(optimizer="sgd")
        loss = model.train_on_batch(x, None)
    else:
        model.compile(optimizer="sgd", loss="mse")
        targets = [np.zeros((4, *o.shape[1:]), "float32") for o in outputs]
        loss = model.train_on_batch(x, targets[0] if len(targets) == 1 else targets)
    assert np.all(np.isfinite(np.asarray(loss, dtype="float64")))

    path = tmp_path / f"{case}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    for got, want in zip(_as_list(loaded.predict(x, verbose=0)), _as_list(model(x))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    # the same code gives the same names here (after everything else this process built)
    # and in a fresh process
    assert signature(case) == fresh_signatures[case]


# ----------------------------------------------------------------------- two cn.input
def test_two_inputs_second_becomes_input_1_and_held_chains_report_it() -> None:
    a, b = cn.input((3,)), cn.input((3,))
    assert (a.name, b.name) == ("input", "input")
    c = a + b
    assert (c.name, a.name, b.name) == ("add", "input", "input_1")
    assert b.network is a.network is c.network
    net = c.network
    assert node_names(c) == ["input", "input_1", "add"]
    assert net["input_1"] is b and "input_1" in net
    assert [i.name for i in net.inputs] == ["input", "input_1"]
    # the Keras layer and the keras.Input tensor are renamed too
    assert b.layer is not None and b.layer.name == "input_1"
    assert b.tensor.name == "input_1"
    assert net.layer("input_1") is b.layer
    assert [p.name for p in c.parents] == ["input", "input_1"]


def test_two_inputs_match_a_hand_written_keras_model() -> None:
    a, b = cn.input((3,)), cn.input((3,))
    y = (a + b).fully_connected(2, name="fc")
    model = cn.model(y)
    assert [t.name for t in model.inputs] == ["input", "input_1"]
    ka, kb = keras.Input((3,), name="ka"), keras.Input((3,), name="kb")
    dense = keras.layers.Dense(2)
    reference = keras.Model([ka, kb], dense(keras.layers.Add()([ka, kb])))
    dense.set_weights([y.network.get_weights("fc")["kernel"], y.network.get_weights("fc")["bias"]])
    x1, x2 = uniform(5, 3, seed=1), uniform(5, 3, seed=2)
    np.testing.assert_allclose(model([x1, x2]), reference([x1, x2]), rtol=1e-5, atol=1e-6)


def test_head_labels_started_separately_merge() -> None:
    x, labels = cn.input((3,)), cn.input((), dtype="int32")
    result = x.softmax_classifier(4, labels)
    assert labels.name == "input_1"
    assert result.loss is not None and result.loss.network is x.network
    assert node_names(result.softmax) == [
        "input",
        "input_1",
        "softmax_classifier",
        "softmax_classifier_loss",
        "softmax_classifier_softmax",
    ]
    assert [t.name for t in result.softmax.model().inputs] == ["input", "input_1"]


def test_user_chosen_names_that_clash_are_an_error_naming_both_places() -> None:
    a, line_a = cn.input((3,), name="x"), here()
    b, line_b = cn.input((3,), name="x"), here()
    with pytest.raises(cn.ChainError) as caught:
        a + b
    text = str(caught.value)
    assert "'x'" in text
    assert f"{__file__}:{line_a}" in text
    assert f"{__file__}:{line_b}" in text
    # nothing merged
    assert a.network is not b.network
    assert (a.name, b.name) == ("x", "x")
    assert node_names(a) == ["x"] and node_names(b) == ["x"]


def test_user_chosen_names_clash_in_cn_model_too() -> None:
    a = cn.input((3,), name="x").fully_connected(2, name="fc")
    b = cn.input((3,), name="y").fully_connected(2, name="fc")
    with pytest.raises(cn.ChainError, match="'fc'"):
        cn.model([a, b])
    assert a.network is not b.network
    assert node_names(a) == ["x", "fc"] and node_names(b) == ["y", "fc"]


def test_symbolic_with_eager_is_an_error() -> None:
    x = cn.input((3,))
    e = cn.wrap(np.ones((2, 3), "float32"))
    with pytest.raises(cn.ChainError, match="symbolic"):
        x + e
    with pytest.raises(cn.ChainError):
        e.concat(0, [x])
    with pytest.raises(cn.ChainError):
        x.join([e])
    assert x.network is not e.network
    assert node_names(x) == ["input"] and node_names(e) == ["input"]


# ----------------------------------------------------------------------- two towers
def test_two_towers_from_named_inputs_get_next_free_names_and_match_keras() -> None:
    left = cn.input((4,), name="left").fully_connected(3, activation="relu")
    right = cn.input((4,), name="right").fully_connected(3, activation="relu")
    assert (left.name, right.name) == ("fully_connected", "fully_connected")
    y = left.concat(-1, [right]).fully_connected(2)
    assert (left.name, right.name, y.name) == (
        "fully_connected",
        "fully_connected_1",
        "fully_connected_2",
    )
    assert right.layer is not None and right.layer.name == "fully_connected_1"
    assert node_names(y) == [
        "left",
        "fully_connected",
        "right",
        "fully_connected_1",
        "concat",
        "fully_connected_2",
    ]
    model = cn.model(y)
    assert [t.name for t in model.inputs] == ["left", "right"]
    assert sorted(y.network.variables) == sorted(
        f"fully_connected{s}/{w}" for s in ("", "_1", "_2") for w in ("kernel", "bias")
    )

    # the same network written in Keras by hand; weights copied by layer name
    kl, kr = keras.Input((4,), name="left"), keras.Input((4,), name="right")
    tl = keras.layers.Dense(3, activation="relu", name="fully_connected")(kl)
    tr = keras.layers.Dense(3, activation="relu", name="fully_connected_1")(kr)
    out = keras.layers.Dense(2, name="fully_connected_2")(keras.layers.Concatenate()([tl, tr]))
    reference = keras.Model([kl, kr], out)
    for layer in reference.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    x1, x2 = uniform(6, 4, seed=3), uniform(6, 4, seed=4)
    np.testing.assert_allclose(model([x1, x2]), reference([x1, x2]), rtol=1e-5, atol=1e-6)
    # the network's handles read the renamed layer
    np.testing.assert_array_equal(
        y.network.get_weights("fully_connected_1")["kernel"],
        reference.get_layer("fully_connected_1").get_weights()[0],
    )


def test_two_towers_merge_names_are_those_of_one_network() -> None:
    def separate() -> Any:
        left = cn.input((4,), name="left").fully_connected(3)
        right = cn.input((4,), name="right").fully_connected(3)
        return left.join([right], how="add")

    def together() -> Any:
        left = cn.input((4,), name="left")
        right = left.network.input((4,), name="right")
        return left.fully_connected(3).join([right.fully_connected(3)], how="add")

    a, b = separate(), together()
    assert sorted(node_names(a)) == sorted(node_names(b))
    assert sorted(layer.name for layer in a.model().layers) == sorted(
        layer.name for layer in b.model().layers
    )
    assert sorted(a.network.variables) == sorted(b.network.variables)


# ----------------------------------------------------------------------- templates
def test_siamese_template_on_separately_started_inputs_matches_keras(tmp_path: Path) -> None:
    tower = cn.template(name="tower").fully_connected(4, activation="relu")
    left, right = cn.input((3,)), cn.input((3,))
    ya = tower(left)
    yb = right.apply_template(tower)
    model = cn.model([ya, yb])
    assert ya.network is yb.network is right.network
    assert (left.name, right.name) == ("input", "input_1")
    assert (ya.name, yb.name) == ("tower", "tower_1")
    assert ya.layer is yb.layer is tower.layer
    assert len(model.weights) == 2
    assert {id(v) for v in model.weights} == {id(v) for v in tower.layer.weights}

    k_in = keras.Input((3,))
    k_tower = keras.Model(k_in, keras.layers.Dense(4, activation="relu")(k_in))
    k_tower.set_weights(tower.layer.get_weights())
    x1, x2 = uniform(5, 3, seed=5), uniform(5, 3, seed=6)
    out_a, out_b = model([x1, x2])
    np.testing.assert_allclose(out_a, k_tower(x1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out_b, k_tower(x2), rtol=1e-5, atol=1e-6)


def test_siamese_merge_keeps_the_shared_template_layer_name() -> None:
    """As if one network had built both towers: the template's layer keeps its name."""
    tower = cn.template(name="tower").fully_connected(4)
    ya = tower(cn.input((3,)))
    yb = tower(cn.input((3,)))
    assert ya.layer is not None and ya.layer.name == "tower"
    cn.model([ya, yb])  # merges the two networks
    assert (ya.name, yb.name) == ("tower", "tower_1")
    assert tower.layer.name == "tower"
    assert ya.network.layer("tower") is tower.layer

    tower_2 = cn.template(name="tower").fully_connected(4)
    left = cn.input((3,))
    right = left.network.input((3,))
    one_a, one_b = tower_2(left), tower_2(right)
    one = cn.model([one_a, one_b])
    assert sorted(layer.name for layer in cn.model([ya, yb]).layers) == sorted(
        layer.name for layer in one.layers
    )
    assert sorted(ya.network.variables) == sorted(one_a.network.variables)


def test_function_template_on_two_separately_started_inputs() -> None:
    @cn.template
    def pair(a: Any, b: Any) -> Any:
        return a.concat(-1, [b]).fully_connected(2)

    xa, xb = cn.input((3,)), cn.input((3,))
    out = pair(xa, xb)
    assert (xa.name, xb.name, out.name) == ("input", "input_1", "pair")
    assert node_names(out) == ["input", "input_1", "pair"]
    weights = pair.get_weights("fully_connected")
    x1, x2 = uniform(4, 3, seed=7), uniform(4, 3, seed=8)
    want = np.concatenate([x1, x2], -1) @ weights["kernel"] + weights["bias"]
    np.testing.assert_allclose(out.model()([x1, x2]), want, rtol=1e-5, atol=1e-6)


def test_template_applied_with_apply_template_to_two_inputs() -> None:
    @cn.template
    def plus(a: Any, b: Any) -> Any:
        return (a + b).fully_connected(2)

    xa, xb = cn.input((3,)), cn.input((3,))
    out = xa.apply_template(plus, xb)
    assert out.network is xb.network and xb.name == "input_1"


def test_templates_are_thread_safe_one_set_of_weights() -> None:
    tmpl = cn.template(name="t").fully_connected(4)
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    results: list[Any] = [None] * threads_count
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            x = cn.input((3,))
            barrier.wait()
            results[index] = tmpl(x)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert tmpl.built
    layers = {id(r.layer) for r in results}
    assert layers == {id(tmpl.layer)}
    kernels = {id(r.layer.weights[0]) for r in results}
    assert len(kernels) == 1
    assert len(tmpl.layer.weights) == 2
    assert all(r.name == "t" for r in results)


# ----------------------------------------------------------------------- two cn.wrap
def test_two_wraps_combine_in_every_merge_and_match_numpy() -> None:
    a_np, b_np = uniform(2, 3, seed=10), uniform(2, 3, seed=11) + 2.0

    def pair() -> tuple[Any, Any]:
        return cn.wrap(a_np), cn.wrap(b_np)

    a, b = pair()
    s = a + b
    np.testing.assert_allclose(s.numpy(), a_np + b_np, rtol=1e-6)
    assert (a.name, b.name) == ("input", "input_1")
    assert node_names(s) == ["input", "input_1", "add"]

    a, b = pair()
    np.testing.assert_allclose((a - b).numpy(), a_np - b_np, rtol=1e-6)
    a, b = pair()
    np.testing.assert_allclose((a * b).numpy(), a_np * b_np, rtol=1e-6)
    a, b = pair()
    np.testing.assert_allclose((a / b).numpy(), a_np / b_np, rtol=1e-6)
    a, b = pair()
    np.testing.assert_allclose(a.join([b], how="add").numpy(), a_np + b_np, rtol=1e-6)
    a, b = pair()
    np.testing.assert_allclose(a.join([b], how="maximum").numpy(), np.maximum(a_np, b_np))
    a, b = pair()
    np.testing.assert_array_equal(a.concat(0, [b]).numpy(), np.concatenate([a_np, b_np], 0))
    a, b = pair()
    np.testing.assert_array_equal(a.concat(-1, [b]).numpy(), np.concatenate([a_np, b_np], -1))
    a, b = pair()
    np.testing.assert_array_equal(a.stack([b]).numpy(), np.stack([a_np, b_np], 1))
    assert b.network is a.network


def test_two_wraps_template_and_heads_match_numpy() -> None:
    a_np, b_np = uniform(2, 3, seed=12), uniform(2, 3, seed=13)
    tower = cn.template(name="tower").fully_connected(4)
    ya, yb = tower(cn.wrap(a_np)), tower(cn.wrap(b_np))
    d = ya - yb
    w = tower.get_weights("fully_connected")
    np.testing.assert_allclose(
        d.numpy(), (a_np @ w["kernel"] + w["bias"]) - (b_np @ w["kernel"] + w["bias"]), atol=1e-5
    )
    assert (ya.name, yb.name) == ("tower", "tower_1")

    # one-hot labels started separately
    logits_np = uniform(2, 3, seed=14)
    labels_np = np.eye(3, dtype="float32")[[0, 2]]
    logits, labels = cn.wrap(logits_np), cn.wrap(labels_np)
    loss = logits.cross_entropy(labels)
    shifted = logits_np - logits_np.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    want = -(labels_np * log_softmax).sum(-1).mean()
    np.testing.assert_allclose(float(loss.numpy()), want, rtol=1e-5)
    assert labels.network is logits.network and labels.name == "input_1"

    # regression target started separately
    pred, target = cn.wrap(a_np), cn.wrap(b_np)
    np.testing.assert_allclose(
        float(pred.l2_regression(target).numpy()), ((a_np - b_np) ** 2).sum(1).mean(), rtol=1e-5
    )


def test_two_graph_chains_combine_inside_tf_function() -> None:
    a_np, b_np = uniform(2, 3, seed=15), uniform(2, 3, seed=16)

    @tf.function
    def run(a: Any, b: Any) -> Any:
        x, y = cn.wrap(a), cn.wrap(b)
        total = (x + y).concat(0, [y]).concat(0, [a])  # a graph tensor is adopted too
        assert y.name == "input_1" and y.network is x.network
        return total.tensor

    want = np.concatenate([a_np + b_np, b_np, a_np], 0)
    np.testing.assert_allclose(run(a_np, b_np).numpy(), want, rtol=1e-6)


def test_failed_eager_add_does_not_merge_networks() -> None:
    a, b = cn.wrap(uniform(2, 3, seed=17)), cn.wrap(uniform(2, 5, seed=18))
    with pytest.raises(cn.ChainError):
        a + b
    assert a.network is not b.network
    assert (a.name, b.name) == ("input", "input")
    assert node_names(a) == ["input"] and node_names(b) == ["input"]


# ----------------------------------------------------------------------- arrays
def test_eager_chain_adopts_arrays_as_steps() -> None:
    a_np, b_np = uniform(2, 3, seed=20), uniform(1, 3, seed=21)
    x = cn.wrap(a_np)
    y = x.concat(0, [b_np])
    np.testing.assert_array_equal(y.numpy(), np.concatenate([a_np, b_np], 0))
    assert len(y.network.nodes) == 3
    assert [n.method for n in y.network.nodes] == ["wrap", "wrap", "concat"]

    x = cn.wrap(a_np)
    np.testing.assert_allclose(x.join([a_np * 2], how="add").numpy(), a_np + a_np * 2, rtol=1e-6)
    x = cn.wrap(a_np)
    np.testing.assert_allclose((x + np.ones(3, "float32")).numpy(), a_np + 1, rtol=1e-6)
    np.testing.assert_array_equal(cn.wrap(a_np).stack([a_np]).numpy(), np.stack([a_np, a_np], 1))


def test_eager_head_takes_numpy_labels() -> None:
    logits_np = uniform(4, 3, seed=22)
    labels_np = np.array([0, 1, 2, 1], "int32")
    logits = cn.wrap(logits_np)
    result = logits.softmax_classifier(5, labels_np)
    assert result.loss is not None
    w = logits.network.get_weights(result.logits.name)
    z = logits_np @ w["kernel"] + w["bias"]
    shifted = z - z.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    want = -log_softmax[np.arange(4), labels_np].mean()
    np.testing.assert_allclose(float(result.loss.numpy()), want, rtol=1e-5)
    np.testing.assert_allclose(result.softmax.numpy(), np.exp(log_softmax), rtol=1e-5)


def test_symbolic_chain_takes_numbers_and_arrays_as_constants() -> None:
    x = cn.input((3,))
    y = (1 - x * 2 + np.ones(3, "float32")) / 2
    z = 2 / (x + 3)
    model = cn.model([y, z])
    assert [t.name for t in model.inputs] == ["input"]
    assert all(n.method != "wrap" for n in y.network.nodes)
    data = uniform(4, 3, seed=23)
    got_y, got_z = model(data)
    np.testing.assert_allclose(got_y, (1 - data * 2 + 1) / 2, rtol=1e-5)
    np.testing.assert_allclose(got_z, 2 / (data + 3), rtol=1e-5)


@pytest.mark.parametrize(
    "step",
    [
        pytest.param(lambda x: x.concat(-1, [np.ones((2, 3), "float32")]), id="concat"),
        pytest.param(lambda x: x.join([np.ones((2, 3), "float32")]), id="join"),
        pytest.param(lambda x: x.stack([np.ones((2, 3), "float32")]), id="stack"),
        pytest.param(lambda x: x.softmax_classifier(3, np.zeros((2,), "int32")), id="labels"),
        pytest.param(lambda x: x.l2_regression(np.zeros((2, 3), "float32")), id="target"),
    ],
)
def test_symbolic_chain_refuses_arrays_outside_arithmetic(step: Callable[[Any], Any]) -> None:
    x = cn.input((3,))
    with pytest.raises(cn.ChainError, match="input") as caught:
        step(x)
    assert "input(" in str(caught.value)  # says how to add the data as an input
    assert node_names(x) == ["input"]


# ----------------------------------------------------------------------- as one network
def test_a_network_handle_kept_from_before_a_merge_sees_the_merged_network() -> None:
    image = cn.input((4,), name="image")
    net = image.network  # kept, as docs/tutorial-pretty.md does
    other = cn.input((4,), name="other")
    joined = other + image.fully_connected(4)
    labels = net.input((), dtype="int32", name="labels")  # grows the merged network
    result = joined.softmax_classifier(3, labels)
    model = result.softmax.model()
    assert [t.name for t in model.inputs] == ["image", "other", "labels"]
    assert [n.name for n in net.nodes] == [n.name for n in joined.network.nodes]
    assert net["add"] is joined.network["add"]


def test_names_follow_creation_order_whatever_order_chains_combine_in() -> None:
    def build(order: str) -> list[str]:
        a, b, c = (cn.input((4,)) for _ in range(3))
        parts = [x.split()[0] for x in (a, b, c)]
        first, second, third = (parts["abc".index(k)] for k in order)
        return [n.name for n in (first + (second + third)).network.nodes]

    one_network = [
        "input",
        "input_1",
        "input_2",
        "split.0",
        "split.1",
        "split_1.0",
        "split_1.1",
        "split_2.0",
        "split_2.1",
        "add",
        "add_1",
    ]
    for order in ("abc", "cab", "bca"):
        assert build(order) == one_network, order


def test_a_chosen_name_and_an_automatic_one_merge_in_either_order() -> None:
    for chosen_first in (True, False):
        a = cn.input((4,), name="xa").fully_connected(3, name="fully_connected")
        b = cn.input((4,), name="xb").fully_connected(3)
        joined = (b + a) if chosen_first else (a + b)
        assert (a.name, b.name) == ("fully_connected", "fully_connected_1")
        cn.model(joined)  # no duplicate Keras layer names


def test_a_keras_layer_shared_by_two_networks_merges_as_in_one_network() -> None:
    dense = keras.layers.Dense(3)
    first = cn.input((4,)).apply_layer(dense)
    second = cn.input((4,)).apply_layer(dense)
    joined = first + second
    assert (first.name, second.name, dense.name) == ("dense", "dense_1", "dense")
    assert len(cn.model(joined).weights) == 2  # one set of weights


def test_a_layer_another_network_holds_is_not_renamed_under_it() -> None:
    shared = keras.layers.Dense(4)
    a = cn.input((4,)).apply_layer(keras.layers.Dense(4))
    b = cn.input((4,)).apply_layer(shared)
    c = cn.input((4,)).apply_layer(shared)
    with pytest.raises(cn.ChainError, match="another network uses it too"):
        b + a  # a's 'dense' is first; b's would be renamed under c
    assert c.get_weights().keys() == {"kernel", "bias"}  # c is untouched
    assert shared.name == "dense"


def test_a_template_name_you_chose_is_never_renamed() -> None:
    first = cn.template(name="tower").fully_connected(2)
    second = cn.template(name="tower").fully_connected(2)
    with pytest.raises(cn.ChainError, match="both use the name 'tower', which you chose"):
        first(cn.input((4,))) + second(cn.input((4,)))
    assert second.name == "tower"
    # the same template on two separately started inputs: its second step is 'tower_1'
    tower = cn.template(name="siamese").fully_connected(2)
    joined = tower(cn.input((4,))) + tower(cn.input((4,)))
    assert [n.name for n in joined.network.nodes if n.method == "apply_template"] == [
        "siamese",
        "siamese_1",
    ]


def test_a_keras_input_that_keras_named_takes_the_step_name() -> None:
    wrapped = cn.wrap(keras.Input((3,)))
    other = cn.wrap(keras.Input((3,)))
    model = cn.model(wrapped + other)
    assert [t.name for t in model.inputs] == ["input", "input_1"]
    assert [layer.name for layer in model.layers[:2]] == ["input", "input_1"]


def test_negating_an_int_chain_keeps_it_int() -> None:
    x = cn.wrap(np.array([[1, -2]], "int32"))
    assert (-x).dtype == "int32"
    np.testing.assert_array_equal((-x).numpy(), [[-1, 2]])


def test_a_sequential_builder_is_an_operand_on_either_side() -> None:
    seq = cn.input((4,)).sequential().fully_connected(4)
    x = seq.as_chain().network.input((4,), name="x")
    assert (x + seq).parents[1].name == "fully_connected"


def test_merge_errors_name_the_method() -> None:
    symbolic = cn.input((3,), name="s")
    eager = cn.wrap(np.ones((1, 3), "float32"), name="e")
    with pytest.raises(cn.ChainError, match=r"^add\(\) on chain 's': cannot combine a symbolic"):
        symbolic + eager
    with pytest.raises(cn.ChainError, match=r"^model\(\): cannot combine"):
        cn.model([symbolic, eager])
