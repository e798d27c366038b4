"""The pictures of the PrettyTensor tutorials, one call each (optional extra ``chainnet[plot]``).

Every function returns a ``matplotlib.figure.Figure`` built without pyplot: nothing is shown
and no global figure state is touched. Save it with ``fig.savefig("x.png")``; in a notebook it
displays as the cell's value once the inline backend is active.

Examples:
    >>> import io
    >>> import numpy as np
    >>> from chainnet import plot
    >>> fig = plot.conv_filters(np.random.default_rng(0).normal(size=(5, 5, 1, 16)))
    >>> fig.savefig(io.BytesIO(), format="png")  # or fig.savefig("filters.png")
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from chainnet._diagram import box_colors, layout

try:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path
except ImportError as exc:  # pragma: no cover - exercised by faking a missing matplotlib
    raise ImportError(
        "chainnet.plot needs matplotlib, an optional extra: pip install 'chainnet[plot]'"
    ) from exc

__all__ = [
    "confusion_counts",
    "confusion_matrix",
    "conv_filters",
    "image_grid",
    "layer_outputs",
    "misclassified",
    "network",
]

_MAX_WIDTH = 12.0  # inches: grids of many cells shrink their cells to fit


def _to_numpy(value: Any) -> np.ndarray:
    """An ndarray from an array-like, tensor or variable."""
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def _network_and_layer(source: Any, layer: str | None) -> tuple[Any, str | None]:
    """(network, layer name) for a chain (``.network``, ``.name``) or a network."""
    network = getattr(source, "network", None)
    if network is not None:
        return network, layer if layer is not None else getattr(source, "name", None)
    return source, layer


def _grid_shape(n: int, ncols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of a near-square grid for ``n`` cells, as the tutorials' ceil(sqrt(n))."""
    if ncols is not None and ncols < 1:
        raise ValueError(f"ncols must be at least 1: got {ncols}")
    cols = min(n, ncols or math.ceil(math.sqrt(n)))
    return math.ceil(n / cols), cols


def _grid_figure(
    n: int,
    cell: tuple[float, float],
    ncols: int | None = None,
    extra_width: float = 0.0,
) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` tick-less axes in a grid, sized from the cell size (inches)."""
    rows, cols = _grid_shape(n, ncols)
    scale = min(1.0, (_MAX_WIDTH - extra_width) / (cols * cell[0]))
    size = (cols * cell[0] * scale + extra_width, rows * cell[1] * scale + 0.5)
    fig = Figure(figsize=size, layout="constrained")
    axes = [fig.add_subplot(rows, cols, i + 1) for i in range(n)]
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes


def _channel_grid(
    maps: np.ndarray,
    *,
    cmap: str,
    vmin: float | None,
    vmax: float | None,
    colorbar: str | None,
    title: str,
) -> Figure:
    """One cell per channel of ``maps`` ``(h, w, n)``, titled with its index; a shared colour
    bar labelled ``colorbar`` unless None."""
    n = maps.shape[2]
    if n == 0:
        raise ValueError(f"nothing to plot: 0 channels in shape {maps.shape}")
    fig, axes = _grid_figure(n, cell=(1.0, 1.1), extra_width=0.0 if colorbar is None else 1.0)
    for i, ax in enumerate(axes):
        ax.imshow(maps[:, :, i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(str(i), fontsize=8 if n <= 64 else 6, pad=2)
    if colorbar is not None:
        fig.colorbar(axes[0].images[0], ax=axes, shrink=0.8, label=colorbar)
    if title:
        fig.suptitle(title)
    return fig


def conv_filters(
    weights: Any,
    input_channel: int = 0,
    *,
    layer: str | None = None,
    title: str | None = None,
) -> Figure:
    """The filters of a 2-D convolution for one input channel, red/blue around zero.

    ``weights`` is a kernel of shape ``(kh, kw, in, out)`` (array, tensor or variable), a
    chainnet network with ``layer=`` (read through ``network.get_weights(layer)["kernel"]``),
    or a chain (its ``.network`` and, unless ``layer=`` says otherwise, its own ``.name``).
    The colour scale is symmetric, ``±max|w|`` over the whole kernel, so every cell and input
    channel compare. ``title=None`` writes a title from the layer and channel; ``""`` none.

    Examples:
        >>> import numpy as np
        >>> kernel = np.random.default_rng(0).normal(size=(5, 5, 1, 16))
        >>> fig = conv_filters(kernel, input_channel=0)  # or conv_filters(net, layer="conv1")
        >>> len(fig.axes)  # 16 filters and a colour bar
        17
    """
    network, layer = _network_and_layer(weights, layer)
    if layer is not None:
        getter = getattr(network, "get_weights", None)
        if not callable(getter):
            raise TypeError(
                f"layer={layer!r} needs a chainnet network or chain with get_weights(name): "
                f"got {type(weights).__name__}"
            )
        found = getter(layer)
        if not isinstance(found, Mapping) or "kernel" not in found:
            keys = list(found) if isinstance(found, Mapping) else type(found).__name__
            raise ValueError(f"layer {layer!r} has no 'kernel' weights: got {keys}")
        kernel = _to_numpy(found["kernel"])
    else:
        kernel = _to_numpy(weights)
    if kernel.ndim != 4:
        raise ValueError(
            "conv_filters expects a 2-D convolution kernel of shape (height, width, "
            f"in_channels, out_channels): got shape {kernel.shape}"
        )
    in_channels, n = kernel.shape[2], kernel.shape[3]
    if isinstance(input_channel, bool) or not 0 <= input_channel < in_channels:
        raise ValueError(
            f"input_channel must be in [0, {in_channels - 1}] for a kernel with "
            f"{in_channels} input channel(s): got {input_channel!r}"
        )
    limit = float(np.nanmax(np.abs(kernel))) if kernel.size else 0.0
    limit = limit if math.isfinite(limit) and limit > 0 else 1.0
    if title is None:
        kh, kw = kernel.shape[:2]
        name = f"{layer}: " if layer else ""
        title = f"{name}{n} filters {kh}x{kw}, input channel {input_channel} of {in_channels}"
    return _channel_grid(
        kernel[:, :, input_channel, :],
        cmap="seismic",
        vmin=-limit,
        vmax=limit,
        colorbar="weight",
        title=title,
    )


def layer_outputs(
    outputs: Any,
    *,
    layer: str | None = None,
    image: npt.ArrayLike | None = None,
    title: str | None = None,
    shared_scale: bool = False,
) -> Figure:
    """The feature maps of one image, one grayscale cell per channel.

    ``outputs`` is an array of shape ``(h, w, channels)`` or ``(1, h, w, channels)``, or a
    chainnet network with ``layer=`` and ``image=`` (computed through
    ``network.activations(image[None], [layer])[layer]``), or a chain with ``image=`` (its own
    layer). Each cell is scaled on its own, as in the tutorial; ``shared_scale=True`` uses one
    scale for all channels and adds a colour bar.

    Examples:
        >>> import numpy as np
        >>> maps = np.random.default_rng(0).random((14, 14, 16))
        >>> fig = layer_outputs(maps)  # or layer_outputs(net, layer="conv1", image=img)
        >>> len(fig.axes)
        16
    """
    network, layer = _network_and_layer(outputs, layer)
    if layer is not None:
        compute = getattr(network, "activations", None)
        if not callable(compute):
            raise TypeError(
                f"layer={layer!r} needs a chainnet network or chain with activations(): "
                f"got {type(outputs).__name__}"
            )
        if image is None:
            raise ValueError(f"layer_outputs of layer {layer!r} needs image=, one input image")
        values = _to_numpy(compute(np.asarray(image)[np.newaxis], [layer])[layer])
    else:
        values = _to_numpy(outputs)
    if values.ndim == 4 and values.shape[0] == 1:
        values = values[0]
    if values.ndim != 3:
        raise ValueError(
            "layer_outputs expects the outputs for one image, of shape (height, width, channels) "
            f"or (1, height, width, channels): got shape {values.shape}"
        )
    if title is None:
        h, w, n = values.shape
        title = f"{layer + ': ' if layer else ''}{n} channels of {h}x{w}"
    return _channel_grid(
        values,
        cmap="binary",
        vmin=float(np.nanmin(values)) if shared_scale and values.size else None,
        vmax=float(np.nanmax(values)) if shared_scale and values.size else None,
        colorbar="activation" if shared_scale else None,
        title=title,
    )


def _class_labels(labels: npt.ArrayLike, what: str) -> np.ndarray:
    """Integer class labels from labels ``(n,)`` or one-hot rows / scores ``(n, classes)``."""
    array = _to_numpy(labels)
    if array.ndim == 2:
        array = array.argmax(axis=1)
    if array.ndim != 1:
        raise ValueError(
            f"{what} must be class labels (n,) or one-hot/scores (n, classes): "
            f"got shape {array.shape}"
        )
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(f"{what} must be whole class numbers: got {array[:5]}...")
    elif array.dtype.kind not in "iub":
        raise ValueError(f"{what} must be integer class labels: got dtype {array.dtype}")
    return array.astype(np.int64)


def _check_length(array: np.ndarray, n: int, what: str, of: str) -> None:
    if len(array) != n:
        raise ValueError(f"{what} has {len(array)} entries, expected {n} (one per {of})")


def _caption(label: int, class_names: Sequence[str] | None) -> str:
    return str(class_names[label]) if class_names is not None else str(label)


def _as_images(images: npt.ArrayLike, shape: tuple[int, ...] | None) -> np.ndarray:
    """Images ``(n, h, w)`` or ``(n, h, w, 3|4)`` from flat, channel-last or plain images."""
    array = _to_numpy(images)
    if array.ndim < 2:
        raise ValueError(f"images must be a batch (n, ...) of images: got shape {array.shape}")
    n, size = len(array), int(np.prod(array.shape[1:]))
    if shape is not None:
        if size != math.prod(shape):
            raise ValueError(
                f"each image has {size} values ({array.shape[1:]}), "
                f"which cannot be shown as shape={shape} ({math.prod(shape)} values)"
            )
        array = array.reshape(n, *shape)
    elif array.ndim == 2:
        side = math.isqrt(size)
        if side * side != size:
            raise ValueError(
                f"flat images of {size} values are not square: pass shape=(height, width)"
            )
        array = array.reshape(n, side, side)
    if array.ndim == 4 and array.shape[3] == 1:
        array = array[..., 0]
    if not (array.ndim == 3 or (array.ndim == 4 and array.shape[3] in (3, 4))):
        raise ValueError(
            "images must be (n, height, width), (n, height, width, 1|3|4) or flat (n, pixels): "
            f"got shape {array.shape}"
        )
    return array


def image_grid(
    images: npt.ArrayLike,
    labels_true: npt.ArrayLike | None = None,
    labels_pred: npt.ArrayLike | None = None,
    *,
    shape: tuple[int, ...] | None = None,
    ncols: int | None = None,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Images in a grid captioned "True: 7" or "True: 7, Pred: 1" (wrong ones in red).

    ``images`` is ``(n, h, w)``, ``(n, h, w, 1|3)`` or flat ``(n, pixels)`` (square, or give
    ``shape=``); labels are ``(n,)`` class numbers or ``(n, classes)`` one-hot/scores.
    ``ncols`` defaults to a square grid (3x3 for the tutorial's 9 images).

    Examples:
        >>> from chainnet.datasets import load_mnist
        >>> x, y = load_mnist("tests/data/mnist-small", validation_size=100).test
        >>> fig = image_grid(x[:9], y[:9])
        >>> fig.axes[0].get_xlabel()
        'True: 7'
    """
    array = _as_images(images, shape)
    n = len(array)
    if n == 0:
        raise ValueError("image_grid needs at least one image: got 0")
    true = None if labels_true is None else _class_labels(labels_true, "labels_true")
    pred = None if labels_pred is None else _class_labels(labels_pred, "labels_pred")
    for labels, what in ((true, "labels_true"), (pred, "labels_pred")):
        if labels is not None:
            _check_length(labels, n, what, "image")
    if pred is not None and true is None:
        raise ValueError("labels_pred needs labels_true to compare with")

    fig, axes = _grid_figure(n, cell=(1.7, 1.9), ncols=ncols)
    for i, ax in enumerate(axes):
        ax.imshow(array[i], cmap="binary", interpolation="nearest")
        if true is not None:
            caption = f"True: {_caption(true[i], class_names)}"
            wrong = pred is not None and pred[i] != true[i]
            if pred is not None:
                caption += f", Pred: {_caption(pred[i], class_names)}"
            ax.set_xlabel(caption, fontsize=9, color="tab:red" if wrong else "black")
    if title:
        fig.suptitle(title)
    return fig


def confusion_counts(
    labels_true: npt.ArrayLike,
    labels_pred: npt.ArrayLike,
    num_classes: int | None = None,
) -> np.ndarray:
    """The confusion matrix as int64 counts: row = true class, column = predicted class.

    Examples:
        >>> confusion_counts([0, 1, 1], [0, 1, 0]).tolist()
        [[1, 0], [1, 1]]
    """
    true = _class_labels(labels_true, "labels_true")
    pred = _class_labels(labels_pred, "labels_pred")
    _check_length(pred, len(true), "labels_pred", "entry of labels_true")
    both = np.concatenate([true, pred])
    if both.size and both.min() < 0:
        raise ValueError(f"class labels must be >= 0: found {both.min()}")
    if num_classes is not None and num_classes < 1:
        raise ValueError(f"num_classes must be at least 1: got {num_classes}")
    k = num_classes if num_classes is not None else int(both.max(initial=0)) + 1
    if both.size and both.max() >= k:
        raise ValueError(f"class labels must be < num_classes={k}: found {both.max()}")
    return np.bincount(true * k + pred, minlength=k * k).reshape(k, k)


def confusion_matrix(
    labels_true: npt.ArrayLike,
    labels_pred: npt.ArrayLike,
    num_classes: int | None = None,
    *,
    normalize: bool = False,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """The confusion matrix as an image with the counts in the cells.

    Rows are the true classes, columns the predicted ones. ``normalize=True`` shows each row
    as fractions of its true class. ``num_classes`` defaults to ``len(class_names)`` or the
    largest label + 1. Predictions may be scores ``(n, classes)``, e.g. ``model.predict(x)``.

    Examples:
        >>> fig = confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], normalize=True)
        >>> fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()
        ('Predicted', 'True')
    """
    if num_classes is None and class_names is not None:
        num_classes = len(class_names)
    counts = confusion_counts(labels_true, labels_pred, num_classes)
    k = len(counts)
    if class_names is not None and len(class_names) != k:
        raise ValueError(f"class_names has {len(class_names)} names, expected {k} (one a class)")
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    else:
        values = counts.astype(np.float64)

    side = max(4.5, 0.45 * k + 2.0)
    fig = Figure(figsize=(side + 1.0, side), layout="constrained")
    ax = fig.add_subplot()
    vmax = 1.0 if normalize else max(1.0, float(values.max(initial=0)))
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax, interpolation="nearest")
    fig.colorbar(
        image,
        ax=ax,
        shrink=0.8,
        label="fraction of true class" if normalize else "count",
    )
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    rotation, align = (45, "right") if class_names is not None else (0, "center")
    ax.set_xticks(range(k), names, rotation=rotation, ha=align)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    if k <= 30:
        fontsize = 9 if k <= 12 else 6
        for (row, col), value in np.ndenumerate(values):
            text = f"{value:.2f}" if normalize else str(counts[row, col])
            color = "white" if value > vmax / 2 else "black"
            ax.text(col, row, text, ha="center", va="center", fontsize=fontsize, color=color)
    if title is None:
        total, right = int(counts.sum()), int(np.trace(counts))
        accuracy = f", accuracy {right / total:.1%}" if total else ""
        title = f"Confusion matrix ({total:,} examples{accuracy})"
    if title:
        ax.set_title(title)
    return fig


def misclassified(
    images: npt.ArrayLike,
    labels_true: npt.ArrayLike,
    labels_pred: npt.ArrayLike,
    max_images: int = 9,
    *,
    shape: tuple[int, ...] | None = None,
    ncols: int | None = None,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """The first ``max_images`` misclassified images with true and predicted labels.

    The tutorial's plot_example_errors: :func:`image_grid` of the images whose prediction is
    wrong. With no mistakes, the figure says so instead of showing images.

    Examples:
        >>> import numpy as np
        >>> images = np.zeros((4, 28, 28))
        >>> fig = misclassified(images, [1, 2, 3, 4], [1, 0, 3, 0])
        >>> [ax.get_xlabel() for ax in fig.axes]
        ['True: 2, Pred: 0', 'True: 4, Pred: 0']
    """
    array = _to_numpy(images)
    true = _class_labels(labels_true, "labels_true")
    pred = _class_labels(labels_pred, "labels_pred")
    _check_length(true, len(array), "labels_true", "image")
    _check_length(pred, len(array), "labels_pred", "image")
    if max_images < 1:
        raise ValueError(f"max_images must be at least 1: got {max_images}")
    wrong = np.flatnonzero(true != pred)
    if title is None:
        shown = min(len(wrong), max_images)
        title = f"Misclassified: {len(wrong):,} of {len(true):,}" + (
            f" (first {shown})" if shown < len(wrong) else ""
        )
    if len(wrong) == 0:
        fig = Figure(figsize=(4.0, 1.5), layout="constrained")
        fig.text(0.5, 0.5, "No misclassified images", ha="center", va="center")
        if title:
            fig.suptitle(title)
        return fig
    picked = wrong[:max_images]
    return image_grid(
        array[picked],
        true[picked],
        pred[picked],
        shape=shape,
        ncols=ncols,
        class_names=class_names,
        title=title,
    )


_PATH_CODES = {"L": [Path.LINETO], "C": [Path.CURVE4] * 3}


def network(source: Any, *, expand: bool = False) -> Figure:
    """The diagram of a network as a figure: the layout of :meth:`chainnet.Chain.diagram`.

    ``source`` is a chain (its whole network is drawn) or a network. A box per step shows its
    name, method and output shape; an arrow per input. ``expand=True`` draws the inner layers
    of steps that are Keras models (templates, ``apply_layer`` of a model). One unit of the
    layout is one point, so text keeps its size however large the network.

    Examples:
        >>> import chainnet as cn
        >>> x = cn.input((8,), name="x")
        >>> y = x.fully_connected(8, name="fc") + x
        >>> fig = network(y)
        >>> len([p for p in fig.axes[0].patches if p.get_gid() == "box"])
        3
    """
    net, _ = _network_and_layer(source, None)
    nodes = getattr(net, "nodes", None)
    if nodes is None:
        raise TypeError(
            f"network() needs a chain or a chainnet network: got {type(source).__name__}"
        )
    placed = layout(nodes, expand=expand)
    fig = Figure(figsize=(placed.width / 72, placed.height / 72))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, placed.width)
    ax.set_ylim(placed.height, 0)
    ax.set_axis_off()
    for edge in placed.edges:
        vertices = [edge.start]
        codes = [Path.MOVETO]
        for kind, values in edge.segments:
            vertices += [(values[i], values[i + 1]) for i in range(0, len(values), 2)]
            codes += _PATH_CODES[kind]
        arrow = FancyArrowPatch(
            path=Path(vertices, codes),
            arrowstyle="-|>,head_length=0.55,head_width=0.28",
            mutation_scale=12,
            color="#555555",
            linewidth=1.1,
            gid="edge",
        )
        arrow.set_label(f"{edge.source} -> {edge.target}")
        ax.add_patch(arrow)
    for box in placed.boxes:
        fill, stroke = box_colors(box.kind)
        patch = FancyBboxPatch(
            (box.x, box.y),
            box.width,
            box.height,
            boxstyle="round,pad=0,rounding_size=5",
            facecolor=fill,
            edgecolor=stroke,
            linewidth=1.0,
            gid="box",
        )
        patch.set_label(box.key)
        ax.add_patch(patch)
        for text, size, bold, y in box.line_positions():
            ax.text(
                box.x + box.width / 2,
                y,
                text,
                fontsize=size,
                fontfamily="monospace",
                fontweight="bold" if bold else "normal",
                ha="center",
                va="center",
                color="#1a1a1a",
            )
    return fig
