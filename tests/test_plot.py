"""chainnet.plot: each picture's cells, labels, colour limits and errors; each renders to PNG."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from diagram_nets import NETS, parse  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from chainnet import plot  # noqa: E402
from chainnet.datasets import load_mnist  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "data" / "mnist-small"
RNG = np.random.default_rng(0)


def image_axes(fig: Figure) -> list[Any]:
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def colorbars(fig: Figure) -> list[Any]:
    return [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]


def renders(fig: Figure, tmp_path: Path, name: str = "fig.png") -> None:
    path = tmp_path / name
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


class FakeNetwork:
    """The chainnet network API plot uses: get_weights(name) and activations(x, names)."""

    def __init__(self) -> None:
        self.kernel = RNG.normal(size=(5, 5, 1, 16)).astype(np.float32)
        self.calls: list[tuple[str, Any]] = []

    def get_weights(self, name: str) -> dict[str, np.ndarray]:
        self.calls.append(("get_weights", name))
        return {"kernel": self.kernel, "bias": np.zeros(16, np.float32)}

    def activations(self, x: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        self.calls.append(("activations", (x.shape, list(names))))
        return {name: np.abs(RNG.normal(size=(len(x), 14, 14, 16))) for name in names}


class FakeChain:
    def __init__(self, network: FakeNetwork, name: str) -> None:
        self.network, self.name = network, name


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist(FIXTURE, validation_size=100).test


# --- conv_filters ----------------------------------------------------------------------------


def test_conv_filters_from_kernel(tmp_path: Path) -> None:
    kernel = RNG.normal(size=(5, 5, 3, 10))
    kernel[0, 0, 2, 0] = -7.5  # the largest |w| is in another input channel
    fig = plot.conv_filters(kernel, input_channel=1)
    assert isinstance(fig, Figure)
    cells = image_axes(fig)
    assert len(cells) == 10 and len(colorbars(fig)) == 1
    assert [ax.get_title() for ax in cells] == [str(i) for i in range(10)]
    for ax in cells:
        assert ax.images[0].get_clim() == (-7.5, 7.5)
        assert ax.images[0].get_cmap().name == "seismic"
    np.testing.assert_array_equal(cells[4].images[0].get_array(), kernel[:, :, 1, 4])
    assert fig.get_suptitle() == "10 filters 5x5, input channel 1 of 3"
    assert colorbars(fig)[0].get_ylabel() == "weight"
    renders(fig, tmp_path)


def test_conv_filters_grid_is_near_square_and_grows() -> None:
    small = plot.conv_filters(RNG.normal(size=(5, 5, 1, 16)))
    large = plot.conv_filters(RNG.normal(size=(5, 5, 1, 36)))
    assert image_axes(small)[0].get_subplotspec().get_geometry()[:2] == (4, 4)
    assert image_axes(large)[0].get_subplotspec().get_geometry()[:2] == (6, 6)
    assert large.get_figwidth() > small.get_figwidth()
    assert large.get_figheight() > small.get_figheight()


def test_conv_filters_from_network_and_chain() -> None:
    network = FakeNetwork()
    fig = plot.conv_filters(network, layer="layer_conv1")
    assert network.calls == [("get_weights", "layer_conv1")]
    assert fig.get_suptitle().startswith("layer_conv1: 16 filters 5x5")
    limit = float(np.abs(network.kernel).max())
    assert image_axes(fig)[0].images[0].get_clim() == pytest.approx((-limit, limit))

    plot.conv_filters(FakeChain(network, "layer_conv2"))
    plot.conv_filters(FakeChain(network, "layer_fc"), layer="layer_conv1", title="")
    assert network.calls[1:] == [("get_weights", "layer_conv2"), ("get_weights", "layer_conv1")]


def test_conv_filters_title_override() -> None:
    assert plot.conv_filters(RNG.normal(size=(3, 3, 1, 2)), title="w").get_suptitle() == "w"
    assert plot.conv_filters(RNG.normal(size=(3, 3, 1, 2)), title="").get_suptitle() == ""


def test_conv_filters_of_zero_kernel_still_draws(tmp_path: Path) -> None:
    fig = plot.conv_filters(np.zeros((3, 3, 1, 4)))
    assert image_axes(fig)[0].images[0].get_clim() == (-1.0, 1.0)
    renders(fig, tmp_path)


def test_conv_filters_of_a_keras_conv_layer(tmp_path: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Conv2D(16, 5, padding="same", name="conv")]
    )
    kernel = model.get_layer("conv").get_weights()[0]
    assert kernel.shape == (5, 5, 1, 16)
    fig = plot.conv_filters(kernel)
    assert len(image_axes(fig)) == 16
    assert plot.conv_filters(model.get_layer("conv").kernel).get_suptitle() == fig.get_suptitle()
    renders(fig, tmp_path, "filters.png")

    image = load_mnist(FIXTURE, validation_size=100).test.images[:1]
    outputs = plot.layer_outputs(keras.ops.convert_to_numpy(model(image)))
    assert len(image_axes(outputs)) == 16
    renders(outputs, tmp_path, "outputs.png")


def test_with_a_real_chainnet_network(digits: tuple[np.ndarray, np.ndarray]) -> None:
    cn = pytest.importorskip("chainnet")
    image = cn.input((28, 28, 1), name="image")
    conv1 = image.conv2d(5, 16, activation="relu", padding="same", name="layer_conv1")
    conv2 = conv1.max_pool(2, 2).conv2d(5, 36, padding="same", name="layer_conv2")
    filters = plot.conv_filters(conv2.network, input_channel=15, layer="layer_conv2")
    assert len(image_axes(filters)) == 36
    assert filters.get_suptitle() == "layer_conv2: 36 filters 5x5, input channel 15 of 16"
    outputs = plot.layer_outputs(conv1, image=digits[0][0])
    assert len(image_axes(outputs)) == 16
    assert outputs.get_suptitle() == "layer_conv1: 16 channels of 28x28"


def test_conv_filters_errors() -> None:
    kernel = RNG.normal(size=(5, 5, 3, 8))
    for channel in (3, -1):
        with pytest.raises(ValueError, match=r"input_channel must be in \[0, 2\] .* got -?\d"):
            plot.conv_filters(kernel, input_channel=channel)
    with pytest.raises(ValueError, match=r"\(height, width, in_channels, out_channels\).*"):
        plot.conv_filters(RNG.normal(size=(5, 5, 8)))
    with pytest.raises(TypeError, match=r"layer='c1' needs a chainnet network .*got ndarray"):
        plot.conv_filters(kernel, layer="c1")

    class NoKernel:
        def get_weights(self, name: str) -> dict[str, np.ndarray]:
            return {"gamma": np.ones(3)}

    with pytest.raises(ValueError, match=r"layer 'bn' has no 'kernel' weights: got \['gamma'\]"):
        plot.conv_filters(NoKernel(), layer="bn")


# --- layer_outputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(14, 14, 16), (1, 14, 14, 16)])
def test_layer_outputs_from_array(shape: tuple[int, ...], tmp_path: Path) -> None:
    values = RNG.random(shape)
    fig = plot.layer_outputs(values)
    cells = image_axes(fig)
    assert len(cells) == 16 and not colorbars(fig)
    assert [ax.get_title() for ax in cells] == [str(i) for i in range(16)]
    assert cells[0].images[0].get_cmap().name == "binary"
    assert fig.get_suptitle() == "16 channels of 14x14"
    renders(fig, tmp_path)


def test_layer_outputs_shared_scale() -> None:
    values = RNG.random((7, 7, 5))
    fig = plot.layer_outputs(values, shared_scale=True, title="conv2")
    limits = {ax.images[0].get_clim() for ax in image_axes(fig)}
    assert limits == {(values.min(), values.max())}
    assert len(colorbars(fig)) == 1 and fig.get_suptitle() == "conv2"


def test_layer_outputs_from_network_and_chain(digits: tuple[np.ndarray, np.ndarray]) -> None:
    network, image = FakeNetwork(), digits[0][0]
    fig = plot.layer_outputs(network, layer="layer_conv1", image=image)
    assert network.calls == [("activations", ((1, 28, 28, 1), ["layer_conv1"]))]
    assert len(image_axes(fig)) == 16
    assert fig.get_suptitle() == "layer_conv1: 16 channels of 14x14"
    plot.layer_outputs(FakeChain(network, "layer_conv2"), image=image)
    assert network.calls[1] == ("activations", ((1, 28, 28, 1), ["layer_conv2"]))


def test_layer_outputs_errors() -> None:
    with pytest.raises(ValueError, match=r"one image.*got shape \(2, 14, 14, 16\)"):
        plot.layer_outputs(RNG.random((2, 14, 14, 16)))
    with pytest.raises(ValueError, match=r"got shape \(14, 14\)"):
        plot.layer_outputs(RNG.random((14, 14)))
    with pytest.raises(ValueError, match=r"layer 'c1' needs image="):
        plot.layer_outputs(FakeNetwork(), layer="c1")
    with pytest.raises(TypeError, match=r"needs a chainnet network or chain with activations"):
        plot.layer_outputs(RNG.random((4, 4, 2)), layer="c1", image=np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match=r"0 channels"):
        plot.layer_outputs(np.zeros((4, 4, 0)))


# --- image_grid and misclassified ------------------------------------------------------------


def test_image_grid_as_the_tutorial(digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    images, labels = digits
    fig = plot.image_grid(images[:9], labels[:9])
    cells = image_axes(fig)
    assert len(cells) == 9
    assert cells[0].get_subplotspec().get_geometry()[:2] == (3, 3)
    assert [ax.get_xlabel() for ax in cells[:3]] == ["True: 7", "True: 2", "True: 1"]
    np.testing.assert_array_equal(cells[0].images[0].get_array(), images[0, :, :, 0])
    renders(fig, tmp_path)


def test_image_grid_with_predictions(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    pred = labels[:9].copy()
    pred[2] = 9
    fig = plot.image_grid(images[:9], labels[:9], pred)
    cells = image_axes(fig)
    assert cells[0].get_xlabel() == "True: 7, Pred: 7"
    assert cells[2].get_xlabel() == "True: 1, Pred: 9"
    assert cells[2].xaxis.label.get_color() == "tab:red"
    assert cells[0].xaxis.label.get_color() == "black"


def test_image_grid_shapes_and_names(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    flat = images[:5].reshape(5, 784)
    fig = plot.image_grid(flat, np.eye(10)[labels[:5]], ncols=5, class_names=list("abcdefghij"))
    cells = image_axes(fig)
    assert cells[0].get_subplotspec().get_geometry()[:2] == (1, 5)
    assert cells[0].get_xlabel() == "True: h" and cells[0].images[0].get_array().shape == (28, 28)
    wide = plot.image_grid(np.zeros((2, 8 * 4)), None, shape=(4, 8), title="t")
    assert image_axes(wide)[0].images[0].get_array().shape == (4, 8)
    assert image_axes(wide)[0].get_xlabel() == "" and wide.get_suptitle() == "t"
    rgb = plot.image_grid(RNG.random((4, 6, 6, 3)), [0, 1, 2, 3])
    assert image_axes(rgb)[0].images[0].get_array().shape == (6, 6, 3)


def test_image_grid_errors(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    with pytest.raises(ValueError, match=r"labels_true has 8 entries, expected 9 \(one per image"):
        plot.image_grid(images[:9], labels[:8])
    with pytest.raises(ValueError, match=r"labels_pred has 10 entries, expected 9"):
        plot.image_grid(images[:9], labels[:9], labels[:10])
    with pytest.raises(ValueError, match=r"flat images of 780 values are not square"):
        plot.image_grid(np.zeros((2, 780)), [0, 1])
    with pytest.raises(ValueError, match=r"784 values .* cannot be shown as shape=\(20, 20\)"):
        plot.image_grid(images[:2], labels[:2], shape=(20, 20))
    with pytest.raises(ValueError, match=r"got shape \(2, 5, 5, 2\)"):
        plot.image_grid(np.zeros((2, 5, 5, 2)), [0, 1])
    with pytest.raises(ValueError, match="at least one image"):
        plot.image_grid(images[:0], labels[:0])
    with pytest.raises(ValueError, match="labels_pred needs labels_true"):
        plot.image_grid(images[:2], None, labels[:2])
    with pytest.raises(ValueError, match="whole class numbers"):
        plot.image_grid(images[:2], [0.5, 1.0])
    with pytest.raises(ValueError, match="ncols must be at least 1: got 0"):
        plot.image_grid(images[:2], labels[:2], ncols=0)


def test_misclassified(digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    images, labels = digits
    pred = labels.copy()
    wrong = [3, 10, 50, 51, 52, 53, 54, 55, 56, 57, 199]
    pred[wrong] = (labels[wrong] + 1) % 10
    fig = plot.misclassified(images, labels, pred)
    cells = image_axes(fig)
    assert len(cells) == 9
    assert cells[0].get_xlabel() == f"True: {labels[3]}, Pred: {pred[3]}"
    np.testing.assert_array_equal(cells[1].images[0].get_array(), images[10, :, :, 0])
    assert fig.get_suptitle() == "Misclassified: 11 of 200 (first 9)"
    renders(fig, tmp_path)
    assert len(image_axes(plot.misclassified(images, labels, pred, max_images=20))) == 11


def test_misclassified_none_wrong(digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    images, labels = digits
    fig = plot.misclassified(images, labels, labels)
    assert not image_axes(fig) and "No misclassified images" in texts(fig)
    renders(fig, tmp_path)


def test_misclassified_errors(digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = digits
    with pytest.raises(ValueError, match=r"labels_pred has 199 entries, expected 200"):
        plot.misclassified(images, labels, labels[:-1])
    with pytest.raises(ValueError, match="max_images must be at least 1"):
        plot.misclassified(images, labels, labels, max_images=0)


# --- confusion matrix ------------------------------------------------------------------------


def test_confusion_counts() -> None:
    counts = plot.confusion_counts([0, 1, 2, 2, 1], [0, 2, 2, 2, 1], num_classes=4)
    assert counts.dtype == np.int64
    assert counts.tolist() == [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    scores = np.eye(3)[[0, 2, 2, 2, 1]]  # predictions as scores, e.g. model.predict(x)
    assert plot.confusion_counts([0, 1, 2, 2, 1], scores).shape == (3, 3)


@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), max_size=60))
def test_confusion_counts_properties(pairs: list[tuple[int, int]]) -> None:
    true = np.array([t for t, _ in pairs], dtype=np.int64)
    pred = np.array([p for _, p in pairs], dtype=np.int64)
    counts = plot.confusion_counts(true, pred, num_classes=7)
    assert counts.sum() == len(pairs)
    assert np.trace(counts) == int(np.sum(true == pred))
    assert counts.sum(axis=1).tolist() == np.bincount(true, minlength=7).tolist()
    assert counts.sum(axis=0).tolist() == np.bincount(pred, minlength=7).tolist()


def test_confusion_counts_errors() -> None:
    with pytest.raises(ValueError, match=r"labels_pred has 2 entries, expected 3"):
        plot.confusion_counts([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match=r"must be < num_classes=3: found 5"):
        plot.confusion_counts([0, 1, 2], [0, 1, 5], num_classes=3)
    with pytest.raises(ValueError, match=r"must be >= 0: found -1"):
        plot.confusion_counts([0, -1], [0, 1])
    with pytest.raises(ValueError, match=r"num_classes must be at least 1"):
        plot.confusion_counts([0], [0], num_classes=0)


def test_confusion_matrix_figure(digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    labels = digits[1]
    pred = np.where(np.arange(len(labels)) % 5 == 0, (labels + 3) % 10, labels)
    fig = plot.confusion_matrix(labels, pred)
    ax = image_axes(fig)[0]
    assert len(image_axes(fig)) == 1 and len(colorbars(fig)) == 1
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("Predicted", "True")
    counts = plot.confusion_counts(labels, pred, 10)
    np.testing.assert_array_equal(ax.images[0].get_array(), counts)
    cell_texts = [t.get_text() for t in ax.texts]
    assert len(cell_texts) == 100 and cell_texts[0] == str(counts[0, 0])
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(i) for i in range(10)]
    assert ax.get_title() == "Confusion matrix (200 examples, accuracy 80.0%)"
    renders(fig, tmp_path)


def test_confusion_matrix_normalized_with_names(tmp_path: Path) -> None:
    names = ["cat", "dog", "fox"]
    fig = plot.confusion_matrix(
        [0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 2], normalize=True, class_names=names
    )
    ax = image_axes(fig)[0]
    values = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(values, np.array([[2, 2, 0], [0, 3, 1], [0, 0, 0]]) / 4)
    assert ax.images[0].get_clim() == (0, 1.0)
    assert [t.get_text() for t in ax.get_yticklabels()] == names
    assert "0.75" in [t.get_text() for t in ax.texts]
    renders(fig, tmp_path)
    with pytest.raises(ValueError, match=r"class_names has 3 names, expected 4"):
        plot.confusion_matrix([0, 1], [0, 1], num_classes=4, class_names=names)


def test_confusion_matrix_many_classes_skips_cell_text() -> None:
    labels = np.arange(40)
    assert not image_axes(plot.confusion_matrix(labels, labels))[0].texts


# --- network diagrams ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expand"), [(n, e) for n in NETS for e in (False, True)])
def test_network_draws_the_diagram_s_boxes_and_arrows(
    name: str, expand: bool, tmp_path: Path
) -> None:
    """The figure has the boxes and arrows of chain.diagram(): the same layout."""
    chain, (want_boxes, want_edges) = NETS[name](expand)
    fig = plot.network(chain, expand=expand)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    boxes = [p for p in ax.patches if p.get_gid() == "box"]
    arrows = [p for p in ax.patches if p.get_gid() == "edge"]
    assert sorted(p.get_label() for p in boxes) == sorted(want_boxes)
    assert sorted(p.get_label() for p in arrows) == sorted(f"{a} -> {b}" for a, b in want_edges)
    shown = {t.get_text() for t in ax.texts}
    for box, (method, shape) in want_boxes.items():
        assert box in shown and shape in shown and any(method in t for t in shown), box
    svg_boxes, _ = parse(chain.diagram(expand=expand))
    for patch in boxes:  # each box where the SVG has it
        place = (patch.get_x(), patch.get_y(), patch.get_width(), patch.get_height())
        np.testing.assert_allclose(place, svg_boxes[patch.get_label()][0], atol=0.06)
    renders(fig, tmp_path)


def test_network_takes_a_network_and_rejects_anything_else() -> None:
    chain, (want_boxes, _) = NETS["residual"](False)
    fig = plot.network(chain.network)
    assert len([p for p in fig.axes[0].patches if p.get_gid() == "box"]) == len(want_boxes)
    with pytest.raises(TypeError, match=r"network\(\) needs a chain or a chainnet network"):
        plot.network(np.zeros(3))


# --- the optional extra ----------------------------------------------------------------------


def test_import_without_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "chainnet.plot")
    with pytest.raises(ImportError, match=r"pip install 'chainnet\[plot\]'"):
        importlib.import_module("chainnet.plot")
