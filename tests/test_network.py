"""Network handles: names, layers, variables by path, weights as NumPy, activations, merging."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
from chain_helpers import tutorial_cnn
from harness import random_input

import chainnet as cn

L = keras.layers


def _here() -> int:
    """The line number of the caller (to check ``file:line`` in messages)."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno


# --------------------------------------------------------------------------- names
def test_auto_names_count_per_method() -> None:
    x = cn.input((6, 6, 1))
    y = x.conv2d(3, 2).conv2d(3, 2).max_pool(2).conv2d(3, 2).flatten()
    names = [n.name for n in y.network.nodes]
    assert names == ["input", "conv2d", "conv2d_1", "max_pool", "conv2d_2", "flatten"]
    assert [n.method for n in y.network.nodes] == [
        "input",
        "conv2d",
        "conv2d",
        "max_pool",
        "conv2d",
        "flatten",
    ]
    assert [layer.name for layer in y.network.layers] == names


def test_names_do_not_depend_on_what_else_the_process_built() -> None:
    def build() -> list[str]:
        y = cn.input((4,)).fully_connected(3).relu().fully_connected(2).dropout(rate=0.5)
        return [n.name for n in y.network.nodes]

    first = build()
    # other networks and plain Keras layers in between
    tutorial_cnn()
    keras.layers.Dense(3)
    cn.wrap(np.ones((1, 4), "float32")).fully_connected(3)
    assert build() == first == ["input", "fully_connected", "relu", "fully_connected_1", "dropout"]


def test_auto_names_skip_a_name_the_user_took() -> None:
    x = cn.input((4,))
    y = x.fully_connected(3, name="fully_connected_1").fully_connected(3).fully_connected(3)
    assert [n.name for n in y.network.nodes] == [
        "input",
        "fully_connected_1",
        "fully_connected",
        "fully_connected_2",
    ]


def test_a_failed_step_does_not_use_up_its_name() -> None:
    x = cn.input((4, 4, 1))
    with pytest.raises(cn.ChainError):
        x.conv2d(3, 2, padding="bogus")
    assert x.conv2d(3, 2).name == "conv2d"


def test_branches_share_the_name_space() -> None:
    x = cn.input((4,))
    a, b = x.fully_connected(2), x.fully_connected(2)
    assert (a.name, b.name) == ("fully_connected", "fully_connected_1")
    assert a.network is b.network is x.network


def test_duplicate_name_names_both_call_sites() -> None:
    x = cn.input((4,))
    _, first_line = x.fully_connected(3, name="fc"), _here()
    with pytest.raises(cn.ChainError) as caught:
        x.relu(name="fc")
    text = str(caught.value)
    assert "duplicate name 'fc'" in text
    assert f"{__file__}:{first_line + 2}" in text  # relu(name="fc") two lines below
    assert f"fully_connected() at {__file__}:{first_line}" in text
    assert "relu()" in text


def test_duplicate_name_of_an_auto_named_step() -> None:
    x = cn.input((4,))
    x.relu()
    with pytest.raises(cn.ChainError, match=r"duplicate name 'relu'.*used by relu\(\)"):
        x.tanh(name="relu")


def test_duplicate_name_of_a_sub_layer() -> None:
    x = cn.input((4,))
    x.fully_connected(3, batch_normalize=True, activation="relu", name="fc")
    with pytest.raises(cn.ChainError, match="duplicate name 'fc_bn'"):
        x.relu(name="fc_bn")


# ------------------------------------------------------------------------- handles
def test_layers_variables_and_paths() -> None:
    logits = tutorial_cnn()
    net = logits.network
    conv1 = net.layer("layer_conv1")
    assert isinstance(conv1, L.Conv2D) and conv1.filters == 16
    assert [layer.name for layer in net.layers] == [
        "image",
        "layer_conv1",
        "max_pool",
        "layer_conv2",
        "max_pool_1",
        "flatten",
        "layer_fc1",
        "layer_fc_out",
    ]
    assert list(net.variables) == [
        "layer_conv1/kernel",
        "layer_conv1/bias",
        "layer_conv2/kernel",
        "layer_conv2/bias",
        "layer_fc1/kernel",
        "layer_fc1/bias",
        "layer_fc_out/kernel",
        "layer_fc_out/bias",
    ]
    assert net.variable("layer_conv1/kernel") is conv1.kernel
    assert tuple(net.variable("layer_conv2/kernel").shape) == (5, 5, 16, 36)
    assert net["layer_conv2"].shape == (None, 14, 14, 36)
    assert net["layer_conv2"].layer is net.layer("layer_conv2")
    assert "layer_fc1" in net and "layer_fc9" not in net


def test_variable_with_a_wrong_path_suggests_the_closest() -> None:
    net = tutorial_cnn().network
    with pytest.raises(KeyError, match="Did you mean 'layer_conv1/kernel'\\?"):
        net.variable("layer_conv1/kernal")
    with pytest.raises(KeyError, match="Paths: \\["):
        net.variable("nothing")


def test_layer_and_getitem_with_unknown_names() -> None:
    net = tutorial_cnn().network
    with pytest.raises(KeyError, match=r"no layer named 'layer_conv3'.*Did you mean"):
        net.layer("layer_conv3")
    with pytest.raises(KeyError, match=r"network\[\.\.\.\]: no layer named 'conv1'"):
        net["conv1"]


def test_multi_layer_step_handles() -> None:
    x = cn.input((4,))
    y = x.fully_connected(3, batch_normalize=True, activation="relu", name="fc")
    net = y.network
    assert net.layer("fc") is y.layer and isinstance(net.layer("fc_bn"), L.BatchNormalization)
    assert [layer.name for layer in y.layers] == ["fc", "fc_bn", "fc_activation"]
    assert list(y.variables) == [
        "fc/kernel",
        "fc_bn/gamma",
        "fc_bn/beta",
        "fc_bn/moving_mean",
        "fc_bn/moving_variance",
    ]
    assert set(net.get_weights("fc_bn")) == {"gamma", "beta", "moving_mean", "moving_variance"}
    assert net["fc_bn"] is y  # a sub-layer name leads to its step
    assert net.activations(np.ones((2, 4)), "fc").shape == (2, 3)


def test_get_weights_and_set_weights_round_trip() -> None:
    y = cn.input((28, 28, 1)).conv2d(5, 16, name="layer_conv1")
    weights = y.network.get_weights("layer_conv1")
    assert set(weights) == {"kernel", "bias"}
    assert weights["kernel"].shape == (5, 5, 1, 16) and isinstance(weights["kernel"], np.ndarray)
    new_kernel = np.full((5, 5, 1, 16), 0.5, "float32")
    y.network.set_weights("layer_conv1", {"kernel": new_kernel})  # a subset is fine
    after = y.network.get_weights("layer_conv1")
    np.testing.assert_array_equal(after["kernel"], new_kernel)
    np.testing.assert_array_equal(after["bias"], weights["bias"])
    y.network.set_weights("layer_conv1", {"bias": list(range(16))})  # converted and cast
    assert y.get_weights()["bias"].dtype == np.float32
    np.testing.assert_array_equal(y.get_weights()["bias"], np.arange(16))


def test_set_weights_checks_keys_and_shapes_before_assigning() -> None:
    y = cn.input((3,)).fully_connected(2, name="fc")
    before = y.network.get_weights("fc")
    with pytest.raises(
        KeyError, match="unknown weight\\(s\\) \\['kernal'\\]; the layer has \\['bias', 'kernel'\\]"
    ):
        y.network.set_weights("fc", {"kernal": np.zeros((3, 2))})
    with pytest.raises(
        cn.ChainError, match="weight 'kernel' expects shape \\(3, 2\\), got \\(2, 3\\)"
    ):
        y.network.set_weights("fc", {"bias": np.ones(2), "kernel": np.zeros((2, 3))})
    after = y.network.get_weights("fc")
    np.testing.assert_array_equal(after["bias"], before["bias"])  # nothing was assigned


def test_chain_variables_parent_and_parents() -> None:
    x = cn.input((4,), name="x")
    h = x.fully_connected(3, name="h")
    y = h + x.fully_connected(3, name="skip")
    assert list(h.variables) == ["h/kernel", "h/bias"]
    assert y.variables == {} and x.variables == {}
    assert h.parent is x and x.parent is None and x.parents == ()
    assert [p.name for p in y.parents] == ["h", "skip"]
    assert y.parent is h


def test_weights_of_a_model_are_the_chain_variables() -> None:
    logits = tutorial_cnn()
    model = logits.model()
    logits.network.set_weights("layer_fc_out", {"bias": np.arange(10)})
    out = model(np.zeros((1, 28, 28, 1), "float32"))
    np.testing.assert_allclose(out, np.arange(10)[None], atol=1e-6)


# ----------------------------------------------------------------------- activations
def test_activations_of_the_tutorial_cnn_match_a_hand_built_keras_model() -> None:
    logits = tutorial_cnn()
    images = random_input((28, 28, 1), batch=3, low=0.0, high=1.0)
    acts = logits.network.activations(images, ["layer_conv1", "layer_conv2"])
    assert list(acts) == ["layer_conv1", "layer_conv2"]
    assert acts["layer_conv1"].shape == (3, 28, 28, 16)
    assert acts["layer_conv2"].shape == (3, 14, 14, 36)

    inp = keras.Input((28, 28, 1))
    conv1 = L.Conv2D(16, 5, padding="same", activation="relu")(inp)
    conv2 = L.Conv2D(36, 5, padding="same", activation="relu")(L.MaxPooling2D(2, 2)(conv1))
    hand = keras.Model(inp, [conv1, conv2])
    hand.set_weights(
        [
            logits.network.get_weights("layer_conv1")["kernel"],
            logits.network.get_weights("layer_conv1")["bias"],
            logits.network.get_weights("layer_conv2")["kernel"],
            logits.network.get_weights("layer_conv2")["bias"],
        ]
    )
    expected1, expected2 = hand(images)
    np.testing.assert_allclose(acts["layer_conv1"], expected1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["layer_conv2"], expected2, rtol=1e-5, atol=1e-6)
    assert acts["layer_conv1"].min() >= 0  # relu


def test_activations_one_name_gives_an_array_and_batches_concatenate() -> None:
    logits = tutorial_cnn()
    images = random_input((28, 28, 1), batch=5)
    whole = logits.network.activations(images, "layer_fc1")
    assert isinstance(whole, np.ndarray) and whole.shape == (5, 128)
    pieces = logits.network.activations(images, "layer_fc1", batch_size=2)
    np.testing.assert_allclose(pieces, whole, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        logits.network.activations(images, "layer_fc_out"),
        logits.model()(images),
        rtol=1e-5,
        atol=1e-6,
    )


def test_activations_run_in_inference_mode() -> None:
    y = cn.input((50,)).dropout(rate=0.5, name="drop")
    ones = np.ones((2, 50), "float32")
    np.testing.assert_array_equal(y.network.activations(ones, "drop"), ones)


def _two_input_network() -> tuple[cn.Chain, cn.Chain, cn.Chain]:
    a = cn.input((3,), name="a")
    b = a.network.input((2,), name="b")
    both = a.fully_connected(2, name="fa") * b.fully_connected(2, name="fb")
    return a, b, both


def test_network_input_adds_a_second_input() -> None:
    a, b, both = _two_input_network()
    assert b.network is a.network and b.method == "input"
    assert [c.name for c in a.network.inputs] == ["a", "b"]
    model = both.model()
    assert [t.name for t in model.inputs] == ["a", "b"]


def test_activations_with_several_inputs_as_list_or_dict() -> None:
    _, _, both = _two_input_network()
    xa, xb = random_input((3,), batch=4), random_input((2,), batch=4, seed=1)
    expected = np.asarray(both.model()([xa, xb]))
    from_list = both.network.activations([xa, xb], [both.name, "fa"])
    from_dict = both.network.activations({"b": xb, "a": xa}, [both.name])
    np.testing.assert_allclose(from_list[both.name], expected, rtol=1e-6)
    np.testing.assert_allclose(from_dict[both.name], expected, rtol=1e-6)
    # a layer that depends on one input needs that input only
    fa = both.network.activations(xa, "fa")
    np.testing.assert_allclose(fa, from_list["fa"], rtol=1e-6)


def test_activations_with_the_wrong_inputs() -> None:
    _, _, both = _two_input_network()
    xa = random_input((3,))
    with pytest.raises(cn.ChainError, match=r"got 1 input arrays, the model needs 2: \['a', 'b'\]"):
        both.network.activations([xa], both.name)
    with pytest.raises(cn.ChainError, match="depend on 2 inputs \\['a', 'b'\\]; pass a list"):
        both.network.activations(xa, both.name)
    with pytest.raises(cn.ChainError, match="inputs dict lacks \\['b'\\]"):
        both.network.activations({"a": xa}, both.name)
    with pytest.raises(cn.ChainError, match="different lengths \\[2, 3\\]"):
        both.network.activations([xa, random_input((2,), batch=3)], both.name)


def test_activations_unknown_name_suggests_the_closest() -> None:
    net = tutorial_cnn().network
    with pytest.raises(
        KeyError,
        match=r"activations\(\): no layer named 'layer_conv_1'.*Did you mean 'layer_conv1'\?",
    ):
        net.activations(np.zeros((1, 28, 28, 1)), ["layer_conv_1"])


# --------------------------------------------------------------------------- merging
def test_merging_two_input_networks_with_plus() -> None:
    a = cn.input((3,), name="a").fully_connected(2, name="fa")
    b = cn.input((3,), name="b").fully_connected(2, name="fb")
    total = a + b
    assert total.network is a.network is b.network
    assert [c.name for c in total.network.inputs] == ["a", "b"]
    assert set(total.network.variables) == {"fa/kernel", "fa/bias", "fb/kernel", "fb/bias"}
    model = total.model()
    assert len(model.inputs) == 2 and model.count_params() == 16
    # auto names continue without clashing after the merge
    assert total.relu().name == "relu" and a.relu().name == "relu_1"


def test_merging_networks_renames_clashing_automatic_names() -> None:
    a = cn.input((3,), name="a").fully_connected(2)
    b = cn.input((3,), name="b").fully_connected(2)
    y = a + b
    assert (a.name, b.name, y.name) == ("fully_connected", "fully_connected_1", "add")
    assert [n.name for n in y.network.nodes] == [
        "a",
        "fully_connected",
        "b",
        "fully_connected_1",
        "add",
    ]
    assert b.network is a.network and b.layer is not None and b.layer.name == b.name


def test_merging_networks_that_use_the_same_chosen_names_is_an_error() -> None:
    a, line_a = cn.input((3,), name="a").fully_connected(2, name="fc"), _here()
    b, line_b = cn.input((3,), name="b").fully_connected(2, name="fc"), _here()
    with pytest.raises(cn.ChainError) as caught:
        a + b
    text = str(caught.value)
    assert "both use the name 'fc', which you chose" in text
    assert f"{__file__}:{line_a}" in text and f"{__file__}:{line_b}" in text
    assert "another name=" in text  # the advice
    # nothing was merged, nothing renamed
    assert a.network is not b.network
    assert [n.name for n in b.network.nodes] == ["b", "fc"]


def test_two_unnamed_inputs_combine() -> None:
    a, b = cn.input((3,)), cn.input((3,))
    y = a + b
    assert (a.name, b.name) == ("input", "input_1")
    assert [t.name for t in y.model().inputs] == ["input", "input_1"]


def test_merging_eager_and_symbolic_is_an_error() -> None:
    with pytest.raises(cn.ChainError, match="cannot combine a symbolic chain with a eager chain"):
        cn.input((3,), name="s") + cn.wrap(np.ones((1, 3), "float32"), name="e")


def test_network_input_on_an_eager_network_is_an_error() -> None:
    eager = cn.wrap(np.ones((1, 3), "float32"))
    with pytest.raises(cn.ChainError, match="this network is eager; inputs are symbolic"):
        eager.network.input((3,))


def test_summary_totals_equal_keras() -> None:
    logits = tutorial_cnn()
    lines: list[str] = []
    logits.summary(print_fn=lines.append)
    text = "\n".join(lines)
    total = logits.model().count_params()
    assert total == 5 * 5 * 16 + 16 + 5 * 5 * 16 * 36 + 36 + 1764 * 128 + 128 + 1290
    assert f"Total params: {total:,}" in text
    for name in ("layer_conv1", "layer_conv2", "max_pool_1", "layer_fc_out"):
        assert name in text
    assert "(None, 14, 14, 36)" in text
