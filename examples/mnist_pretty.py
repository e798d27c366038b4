"""The PrettyTensor tutorial CNN on MNIST, with every picture the tutorial shows.

conv 16·5x5 relu, 2x2 max pool, conv 36·5x5 relu, 2x2 max pool, flatten, fc 128 relu, fc 10;
Adam 1e-4, batch 64, 10,000 iterations (reference: about 99% test accuracy). The network is
the tutorial's PrettyTensor expression, written as one chain under ``cn.defaults``.

Training: the tutorial runs 10,000 optimizer steps on batches of 64 drawn from an epoch-wise
shuffled training set (``data.train.next_batch``). Here ``chainnet.training.fit`` runs the
whole epochs those steps make (859 full batches of 64 in each of 55,000 images, the last
partial batch dropped: 11 epochs = 9,449 steps), then one more ``fit`` on the first
551 x 64 images of a fresh shuffle: exactly 10,000 steps of 64 images, 11.6 epochs.

Writes to ``--out`` (PNG): ``test_images`` (the first 9 test images, true labels),
``misclassified`` (true and predicted labels), ``confusion_matrix``, ``conv1_filters``,
``conv2_filters_channel0`` and ``_channel1``, ``example_images`` (test images 0 and 13) and
the outputs of conv1 and conv2 for each of them (``conv1_outputs_image1`` ...
``conv2_outputs_image2``); plus the model and ``results.json``.

Run: ``python examples/mnist_pretty.py [--data-dir DIR] [--iterations 10000] [--out DIR]``;
quick check: ``python examples/mnist_pretty.py --smoke --data-dir tests/data/mnist-small``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from _common import Timer, finish, load_data, make_parser, parse, predict_classes, save_figure

import chainnet as cn
from chainnet import plot
from chainnet.training import fit

EXAMPLE = "mnist_pretty"
#: The two test images whose conv outputs the tutorial plots (``image1``, ``image2``).
EXAMPLE_IMAGES = (0, 13)


def build() -> cn.Chain:
    """The tutorial's network, named as in the tutorial (``layer_conv1`` ... ``layer_fc_out``)."""
    image = cn.input((28, 28, 1), name="image")
    with cn.defaults(activation="relu", padding="same"):
        return (
            image.conv2d(5, 16, name="layer_conv1")
            .max_pool(2, 2)
            .conv2d(5, 36, name="layer_conv2")
            .max_pool(2, 2)
            .flatten()
            .fully_connected(128, name="layer_fc1")
            .fully_connected(10, activation=None, name="layer_fc_out")
        )


def fit_iterations(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    iterations: int,
    batch_size: int,
    seed: int,
    verbose: int,
) -> int:
    """Exactly ``iterations`` optimizer steps on batches of ``batch_size``, epoch by epoch.

    Whole epochs (each freshly shuffled, the partial last batch dropped) run in one
    ``fit``; the steps left over run on the first images of one more shuffle. Returns the
    number of steps taken.
    """
    steps_per_epoch = len(x) // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"{len(x)} training images make no batch of {batch_size}")
    epochs, rest = divmod(iterations, steps_per_epoch)
    if epochs:
        fit(
            model,
            x,
            y,
            batch_size=batch_size,
            epochs=epochs,
            drop_remainder=True,
            seed=seed,
            verbose=verbose,
        )
    if rest:
        order = np.random.default_rng(seed + epochs).permutation(len(x))[: rest * batch_size]
        if verbose:
            print(f"and {rest} more steps ({rest * batch_size:,} images of a new shuffle):")
        fit(
            model,
            x[order],
            y[order],
            batch_size=batch_size,
            epochs=1,
            drop_remainder=True,
            seed=seed + epochs,
            verbose=verbose,
        )
    return epochs * steps_per_epoch + rest


def main(argv: Sequence[str] | None = None) -> float:
    parser = make_parser(__doc__, EXAMPLE, iterations=10_000, batch_size=64)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    args = parse(parser, argv)
    data = load_data(args)
    x_test, y_test = data.test

    # The tutorial plots 9 test images with their true labels before training.
    save_figure(
        plot.image_grid(x_test[:9], y_test[:9], title="The first 9 test images"),
        args.out,
        "test_images",
    )

    logits = build()
    logits.summary()
    model = logits.model(name="pretty_tensor_tutorial")
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    steps_per_epoch = len(data.train.images) // args.batch_size
    print(
        f"training: {args.iterations:,} iterations of {args.batch_size} images = "
        f"{args.iterations * args.batch_size / len(data.train.images):.1f} epochs of "
        f"{steps_per_epoch:,} steps"
    )
    with Timer() as timer:
        steps = fit_iterations(
            model,
            *data.train,
            iterations=args.iterations,
            batch_size=args.batch_size,
            seed=args.seed,
            verbose=args.verbose,
        )

    predicted = predict_classes(model, x_test)
    counts = plot.confusion_counts(y_test, predicted, 10)
    print("Confusion Matrix:")
    print(counts)

    net = logits.network
    figures = {
        "misclassified": plot.misclassified(x_test, y_test, predicted),
        "confusion_matrix": plot.confusion_matrix(y_test, predicted, 10),
        "conv1_filters": plot.conv_filters(net, layer="layer_conv1"),
        "conv2_filters_channel0": plot.conv_filters(net, 0, layer="layer_conv2"),
        "conv2_filters_channel1": plot.conv_filters(net, 1, layer="layer_conv2"),
        "example_images": plot.image_grid(
            x_test[list(EXAMPLE_IMAGES)],
            y_test[list(EXAMPLE_IMAGES)],
            predicted[list(EXAMPLE_IMAGES)],
            title=f"image1, image2 (test images {EXAMPLE_IMAGES[0]} and {EXAMPLE_IMAGES[1]})",
        ),
    }
    for layer in ("layer_conv1", "layer_conv2"):
        for k, index in enumerate(EXAMPLE_IMAGES, start=1):
            short = layer.removeprefix("layer_")
            fig = plot.layer_outputs(net, layer=layer, image=x_test[index])
            fig.suptitle(f"{fig.get_suptitle()}\nfor image{k} (test image {index})")
            figures[f"{short}_outputs_image{k}"] = fig
    for name, fig in figures.items():
        save_figure(fig, args.out, name)

    return finish(
        args,
        model,
        data,
        example=EXAMPLE,
        seconds=timer.seconds,
        predicted=predicted,
        extra={
            "iterations": steps,
            "epochs": round(steps * args.batch_size / len(data.train.images), 2),
            "learning_rate": args.learning_rate,
        },
    )


if __name__ == "__main__":
    main()
