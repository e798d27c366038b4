"""The networks the diagram tests draw, each with the boxes and arrows it must show, written
out by hand (the reference the layout is checked against)."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import keras
from chain_helpers import tutorial_cnn

import chainnet as cn

__all__ = [
    "NETS",
    "Expected",
    "parse",
    "model_step",
    "multi_output",
    "residual",
    "seed_cnn",
    "template_step",
    "tutorial",
]

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SVG = "{http://www.w3.org/2000/svg}"
Rect = tuple[float, float, float, float]  # x, y, width, height
# (box name -> (method, shape)), set of (source, target) arrows
Expected = tuple[dict[str, tuple[str, str]], set[tuple[str, str]]]


@functools.cache
def example(name: str) -> Any:
    """The module ``examples/<name>.py`` (whose imports of ``_common`` need its folder)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.append(str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_cnn() -> tuple[Any, Expected]:
    """The seed ConvConvPool CNN with dropout, as ``examples/mnist_cnn.py`` builds it."""
    logits = example("mnist_cnn").build()
    boxes = {
        "image": ("input", "(None, 28, 28, 1)"),
        "conv1": ("conv2d", "(None, 28, 28, 64)"),
        "conv2": ("conv2d", "(None, 28, 28, 64)"),
        "pool1": ("max_pool", "(None, 14, 14, 64)"),
        "dropout1": ("dropout", "(None, 14, 14, 64)"),
        "conv3": ("conv2d", "(None, 14, 14, 32)"),
        "conv4": ("conv2d", "(None, 14, 14, 32)"),
        "pool2": ("max_pool", "(None, 7, 7, 32)"),
        "dropout2": ("dropout", "(None, 7, 7, 32)"),
        "flatten": ("flatten", "(None, 1568)"),
        "fc1": ("fully_connected", "(None, 256)"),
        "dropout3": ("dropout", "(None, 256)"),
        "logits": ("fully_connected", "(None, 10)"),
    }
    edges = {
        ("image", "conv1"),
        ("conv1", "conv2"),
        ("conv2", "pool1"),
        ("pool1", "dropout1"),
        ("dropout1", "conv3"),
        ("conv3", "conv4"),
        ("conv4", "pool2"),
        ("pool2", "dropout2"),
        ("dropout2", "flatten"),
        ("flatten", "fc1"),
        ("fc1", "dropout3"),
        ("dropout3", "logits"),
    }
    return logits, (boxes, edges)


def tutorial() -> tuple[Any, Expected]:
    """The PrettyTensor tutorial's CNN (docs/tutorial-pretty.md): conv-pool twice, two fc."""
    logits = tutorial_cnn()
    boxes = {
        "image": ("input", "(None, 28, 28, 1)"),
        "layer_conv1": ("conv2d", "(None, 28, 28, 16)"),
        "max_pool": ("max_pool", "(None, 14, 14, 16)"),
        "layer_conv2": ("conv2d", "(None, 14, 14, 36)"),
        "max_pool_1": ("max_pool", "(None, 7, 7, 36)"),
        "flatten": ("flatten", "(None, 1764)"),
        "layer_fc1": ("fully_connected", "(None, 128)"),
        "layer_fc_out": ("fully_connected", "(None, 10)"),
    }
    names = list(boxes)
    return logits, (boxes, set(itertools.pairwise(names)))


def residual() -> tuple[Any, Expected]:
    """A residual block: two convolutions on a branch, added to the block's input."""
    x = cn.input((16, 16, 8), name="x")
    branch = x.conv2d(3, 8, activation="relu", name="conv_a").conv2d(3, 8, name="conv_b")
    out = (branch + x).relu(name="relu")
    shape = "(None, 16, 16, 8)"
    boxes = {
        "x": ("input", shape),
        "conv_a": ("conv2d", shape),
        "conv_b": ("conv2d", shape),
        "add": ("add", shape),
        "relu": ("relu", shape),
    }
    edges = {
        ("x", "conv_a"),
        ("conv_a", "conv_b"),
        ("conv_b", "add"),
        ("x", "add"),
        ("add", "relu"),
    }
    return out, (boxes, edges)


def multi_output() -> tuple[Any, Expected]:
    """A split into two branches, one ending in a softmax classifier (two outputs)."""
    x = cn.input((8,), name="x")
    left, right = x.split(1, 2)
    head = left.fully_connected(6, name="fc").softmax_classifier(3, name="head")
    other = right.fully_connected(2, name="fc_right")
    boxes = {
        "x": ("input", "(None, 8)"),
        "split.0": ("split", "(None, 4)"),
        "split.1": ("split", "(None, 4)"),
        "fc": ("fully_connected", "(None, 6)"),
        "head": ("softmax_classifier", "(None, 3)"),
        "head_softmax": ("softmax_classifier", "(None, 3)"),
        "fc_right": ("fully_connected", "(None, 2)"),
    }
    edges = {
        ("x", "split.0"),
        ("x", "split.1"),
        ("split.0", "fc"),
        ("fc", "head"),
        ("head", "head_softmax"),
        ("split.1", "fc_right"),
    }
    del head, other
    return x, (boxes, edges)


def template_step(expand: bool) -> tuple[Any, Expected]:
    """A template applied twice (shared weights): one box per application, or its layers."""
    tower = cn.template().fully_connected(4, name="t1").fully_connected(4, name="t2")
    x = cn.input((4,), name="x")
    y = tower(tower(x))
    if not expand:
        boxes = {
            "x": ("input", "(None, 4)"),
            "template": ("apply_template", "(None, 4)"),
            "template_1": ("apply_template", "(None, 4)"),
        }
        return y, (boxes, {("x", "template"), ("template", "template_1")})
    boxes = {
        "x": ("input", "(None, 4)"),
        "template/t1": ("Dense", "(None, 4)"),
        "template/t2": ("Dense", "(None, 4)"),
        "template_1/t1": ("Dense", "(None, 4)"),
        "template_1/t2": ("Dense", "(None, 4)"),
    }
    names = list(boxes)
    return y, (boxes, set(itertools.pairwise(names)))


def backbone() -> keras.Model:
    """A functional model with a branch and a merge, and a Sequential model nested in it."""
    inputs = keras.Input((4,), name="in")
    a = keras.layers.Dense(5, name="d1")(inputs)
    b = keras.layers.Dense(5, name="d2")(inputs)
    total = keras.layers.Add(name="sum")([a, b])
    head = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(3, name="s1"), keras.layers.Dense(3, name="s2")],
        name="head",
    )
    return keras.Model(inputs, head(total), name="backbone")


def model_step(expand: bool) -> tuple[Any, Expected]:
    """A Keras model as one step (``apply_layer``), then a chain step after it."""
    x = cn.input((4,), name="x")
    y = x.apply_layer(backbone()).fully_connected(2, name="out")
    if not expand:
        boxes = {
            "x": ("input", "(None, 4)"),
            "backbone": ("apply_layer", "(None, 3)"),
            "out": ("fully_connected", "(None, 2)"),
        }
        return y, (boxes, {("x", "backbone"), ("backbone", "out")})
    boxes = {
        "x": ("input", "(None, 4)"),
        "backbone/d1": ("Dense", "(None, 5)"),
        "backbone/d2": ("Dense", "(None, 5)"),
        "backbone/sum": ("Add", "(None, 5)"),
        "backbone/head/s1": ("Dense", "(None, 3)"),
        "backbone/head/s2": ("Dense", "(None, 3)"),
        "out": ("fully_connected", "(None, 2)"),
    }
    edges = {
        ("x", "backbone/d1"),
        ("x", "backbone/d2"),
        ("backbone/d1", "backbone/sum"),
        ("backbone/d2", "backbone/sum"),
        ("backbone/sum", "backbone/head/s1"),
        ("backbone/head/s1", "backbone/head/s2"),
        ("backbone/head/s2", "out"),
    }
    return y, (boxes, edges)


NETS = {
    "seed_cnn": lambda expand: seed_cnn(),
    "tutorial_cnn": lambda expand: tutorial(),
    "residual": lambda expand: residual(),
    "multi_output": lambda expand: multi_output(),
    "template": template_step,
    "model": model_step,
}


def parse(svg: str) -> tuple[dict[str, tuple[Rect, list[str]]], dict[tuple[str, str], str]]:
    """``{box name: (rect, [text lines])}`` and ``{(source, target): path d}`` of an SVG."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    boxes: dict[str, tuple[Rect, list[str]]] = {}
    edges: dict[tuple[str, str], str] = {}
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "box":
            rect = group.find(f"{SVG}rect")
            assert rect is not None
            box = tuple(float(rect.get(k, "nan")) for k in ("x", "y", "width", "height"))
            texts = [t.text or "" for t in group.iter(f"{SVG}text")]
            name = group.get("data-name", "")
            assert name not in boxes, f"two boxes named {name}"
            boxes[name] = (box, texts)  # type: ignore[assignment]
        elif group.get("class") == "edge":
            path = group.find(f"{SVG}path")
            assert path is not None and path.get("marker-end"), "an edge without an arrowhead"
            key = (group.get("data-source", ""), group.get("data-target", ""))
            assert key not in edges, f"two arrows for {key}"
            edges[key] = path.get("d", "")
    return boxes, edges


def transfer_learning() -> tuple[Any, None]:
    """``examples/transfer_learning.py``'s network: a MobileNetV2 step with cuts at two depths
    (its boxes and arrows are those of ``network.nodes``; the figure is for the docs)."""
    return example("transfer_learning").build(None), None


#: The diagrams the docs show, as docs/figures/diagrams/<name>.svg and .png (plots.md the
#: first three, transfer-learning.md the last).
DOC_FIGURES = {
    "seed_cnn": seed_cnn,
    "tutorial_cnn": tutorial,
    "residual": residual,
    "transfer_learning": transfer_learning,
}


def render(out: str) -> None:
    """Writes the SVG and PNG of each of ``DOC_FIGURES`` to the folder ``out``."""
    from chainnet import plot  # here: the diagram tests run without matplotlib

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, build in DOC_FIGURES.items():
        chain, _ = build()
        (folder / f"{name}.svg").write_text(chain.diagram() + "\n")
        plot.network(chain).savefig(folder / f"{name}.png", dpi=110)


if __name__ == "__main__":  # python tests/diagram_nets.py docs/figures/diagrams
    import sys

    render(sys.argv[1])
