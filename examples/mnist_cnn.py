"""The ConvConvPool CNN with dropout on MNIST: Adam, batch 50, 10 epochs.

conv 64·3x3 relu, conv 64·3x3 relu, 2x2 max pool, dropout .25, conv 32·3x3 relu,
conv 32·3x3 relu, 2x2 max pool, dropout .25, flatten, dense 256 relu, dropout .5, dense 10,
all ``same`` padding: the network of "Convolutional Neural Networks for the MNIST Dataset:
Tensorflow+Layers and Keras" (469,514 parameters; reference: 99.3% test accuracy). Here it is
one chain under ``cn.defaults``, trained with ``chainnet.training.fit``; the validation set
is scored after every epoch, as in the article. Writes ``history.png``, ``conv1_filters.png``,
``confusion_matrix.png``, ``misclassified.png``, the model and ``results.json`` to ``--out``.

Run: ``python examples/mnist_cnn.py [--data-dir DIR] [--epochs 10] [--out out/mnist_cnn]``;
quick check: ``python examples/mnist_cnn.py --smoke --data-dir tests/data/mnist-small``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from _common import (
    TimeLimit,
    Timer,
    finish,
    history_figure,
    load_data,
    make_parser,
    parse,
    predict_classes,
    save_figure,
)

import chainnet as cn
from chainnet import plot
from chainnet.training import fit

EXAMPLE = "mnist_cnn"
PARAMETERS = 469_514  # the article's Keras summary


def build() -> cn.Chain:
    """Conv-conv-pool-dropout twice, then dense 256 with dropout and 10 logits."""
    image = cn.input((28, 28, 1), name="image")
    with cn.defaults(activation="relu", padding="same"):
        return (
            image.conv2d(3, 64, name="conv1")
            .conv2d(3, 64, name="conv2")
            .max_pool(2, 2, name="pool1")
            .dropout(rate=0.25, name="dropout1")
            .conv2d(3, 32, name="conv3")
            .conv2d(3, 32, name="conv4")
            .max_pool(2, 2, name="pool2")
            .dropout(rate=0.25, name="dropout2")
            .flatten()
            .fully_connected(256, name="fc1")
            .dropout(rate=0.5, name="dropout3")
            .fully_connected(10, activation=None, name="logits")
        )


def main(argv: Sequence[str] | None = None) -> float:
    parser = make_parser(__doc__, EXAMPLE, epochs=10, batch_size=50)
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's")
    args = parse(parser, argv)
    data = load_data(args)

    logits = build()
    logits.summary()
    model = logits.model(name="conv_conv_pool")
    same = "as in the article" if model.count_params() == PARAMETERS else f"not {PARAMETERS:,}"
    print(f"{model.count_params():,} parameters, {same}")
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    with Timer() as timer:
        history = fit(
            model,
            *data.train,
            batch_size=args.batch_size,
            epochs=args.epochs,
            validation_data=tuple(data.validation) if len(data.validation.images) else None,
            seed=args.seed,
            verbose=args.verbose,
            callbacks=[TimeLimit(args.max_minutes)],
        )

    x_test, y_test = data.test
    predicted = predict_classes(model, x_test)
    epochs = len(history.history.get("loss", []))
    figures = {
        "history": history_figure(history.history, f"ConvConvPool CNN, {epochs} epochs"),
        "conv1_filters": plot.conv_filters(logits.network, layer="conv1"),
        "confusion_matrix": plot.confusion_matrix(y_test, predicted, 10),
        "misclassified": plot.misclassified(x_test, y_test, predicted),
    }
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
            "epochs": epochs,
            "learning_rate": args.learning_rate,
            "parameters": model.count_params(),
            "val_accuracy_per_epoch": [
                round(v, 4) for v in history.history.get("val_accuracy", [])
            ],
        },
    )


if __name__ == "__main__":
    main()
