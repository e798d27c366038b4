"""The same small network at every level the tutorials compare, trained on MNIST.

"The APIs for neural networks in TensorFlow" builds one MLP (784 -> 64 sigmoid -> 10, SGD
lr 0.5, batch 64) with raw TensorFlow, tf.layers, TFLearn and Keras. This tour builds it at
each level TensorFlow 2 still has, from the bottom up, and trains each the same way:

1. raw TensorFlow: variables, ``tf.matmul``, ``tf.sigmoid`` and a hand-written training
   loop (a ``tf.function`` with a ``tf.GradientTape``);
2. raw TensorFlow ops inside a chain through ``apply`` (here the sigmoid), trained by that
   same hand-written loop on the chain model's variables;
3. the chain itself: a ``cn.defaults`` scope, shapes known at once, a summary, eager chains
   on real images with ``cn.wrap``, weights and activations by layer name;
4. the Keras model from ``chain.model()``: ``compile``, Keras' ``model.fit``, chainnet's
   ``fit`` (whole chunks of an epoch in one ``tf.function``), ``evaluate``, ``predict``,
   ``save`` and ``load_model(..., safe_mode=True)``.

Every level starts from the same initial weights (copied in by layer name with
``network.set_weights``). Writes ``levels.png`` (training time and test accuracy of each
level), the Keras model and ``results.json`` to ``--out``.

Run: ``python examples/api_tour.py [--data-dir DIR] [--epochs 3] [--out out/api_tour]``;
quick check: ``python examples/api_tour.py --smoke --data-dir tests/data/mnist-small``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from _common import Timer, finish, load_data, make_parser, parse, predict_classes, save_figure

import chainnet as cn
from chainnet.datasets import Mnist
from chainnet.training import fit

EXAMPLE = "api_tour"
HIDDEN, CLASSES = 64, 10
#: Initial weights by layer name, then by short name: ``{"hidden": {"kernel": ...}}``.
Weights = dict[str, dict[str, np.ndarray]]


@dataclass
class Level:
    """One way of building and training the network, and how it did."""

    name: str
    seconds: float
    accuracy: float


def initial_weights(seed: int) -> Weights:
    """Glorot-uniform kernels and zero biases, by layer name, for every level to start from."""
    init = keras.initializers.GlorotUniform(seed=seed)
    return {
        "hidden": {
            "kernel": np.asarray(init((784, HIDDEN))),
            "bias": np.zeros(HIDDEN, "float32"),
        },
        "logits": {
            "kernel": np.asarray(init((HIDDEN, CLASSES))),
            "bias": np.zeros(CLASSES, "float32"),
        },
    }


def train_by_hand(
    forward: Callable[[tf.Tensor], tf.Tensor],
    variables: Sequence[tf.Variable],
    data: Mnist,
    args: argparse.Namespace,
) -> None:
    """Plain SGD written out: each epoch is one ``tf.function`` looping over shuffled batches."""
    x = tf.constant(data.train.images)
    y = tf.constant(data.train.labels)
    batch_size = args.batch_size
    steps = len(data.train.images) // batch_size  # the last partial batch is dropped

    @tf.function
    def epoch(order: tf.Tensor) -> tf.Tensor:
        loss = tf.constant(0.0)
        for step in tf.range(steps):
            index = order[step * batch_size : (step + 1) * batch_size]
            x_batch, y_batch = tf.gather(x, index), tf.gather(y, index)
            with tf.GradientTape() as tape:
                logits = forward(x_batch)
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_batch, logits=logits)
                )
            for variable, gradient in zip(variables, tape.gradient(loss, variables)):
                variable.assign_sub(args.learning_rate * gradient)
        return loss

    rng = np.random.default_rng(args.seed)
    for number in range(1, args.epochs + 1):
        loss = epoch(tf.constant(rng.permutation(len(data.train.images))))
        if args.verbose:
            print(f"  epoch {number}/{args.epochs}: last batch loss {float(loss):.4f}")


def accuracy_of(scores: np.ndarray | tf.Tensor, labels: np.ndarray) -> float:
    return float(np.mean(np.asarray(scores).argmax(axis=1) == labels))


def level_raw(data: Mnist, args: argparse.Namespace, start: Weights) -> Level:
    """1. Raw TensorFlow: the tutorial's first version, in TensorFlow 2."""
    w1 = tf.Variable(start["hidden"]["kernel"], name="w1")
    b1 = tf.Variable(start["hidden"]["bias"], name="b1")
    w2 = tf.Variable(start["logits"]["kernel"], name="w2")
    b2 = tf.Variable(start["logits"]["bias"], name="b2")

    def forward(x: tf.Tensor) -> tf.Tensor:
        hidden = tf.sigmoid(tf.matmul(x, w1) + b1)
        return tf.matmul(hidden, w2) + b2

    with Timer() as timer:
        train_by_hand(forward, [w1, b1, w2, b2], data, args)
    return Level(
        "1. raw TensorFlow", timer.seconds, accuracy_of(forward(data.test.images), data.test.labels)
    )


def level_apply(data: Mnist, args: argparse.Namespace, start: Weights) -> Level:
    """2. Raw TensorFlow ops in a chain through ``apply``, trained by the hand-written loop."""
    pixels = cn.input((784,), name="pixels")
    logits = (
        pixels.fully_connected(HIDDEN, name="hidden")  # no activation: raw TF adds it
        .apply(tf.math.sigmoid, name="sigmoid")  # any TF / keras.ops function, as a layer
        .fully_connected(CLASSES, name="logits")
    )
    net = logits.network
    for name, weights in start.items():
        net.set_weights(name, weights)
    model = logits.model(name="mlp_apply")
    print(f"  {[layer.name for layer in model.layers]}")

    with Timer() as timer:
        train_by_hand(lambda x: model(x, training=True), model.trainable_variables, data, args)
    scores = model.predict(data.test.images, verbose=0)
    return Level(
        "2. raw TF ops in a chain (apply)", timer.seconds, accuracy_of(scores, data.test.labels)
    )


def build() -> cn.Chain:
    """3. The chain: the MLP as one expression under a defaults scope."""
    pixels = cn.input((784,), name="pixels")
    with cn.defaults(activation="sigmoid"):
        return pixels.fully_connected(HIDDEN, name="hidden").fully_connected(
            CLASSES, activation=None, name="logits"
        )


def level_chain(data: Mnist, start: Weights) -> cn.Chain:
    """3. Build, look inside, and run eagerly: no training at this level."""
    logits = build()
    print(f"  shape known at once: {logits.shape}; built from {logits.parent.name!r}")  # type: ignore[union-attr]
    logits.summary(print_fn=lambda text: print("  " + text.replace("\n", "\n  ")))
    net = logits.network
    for name, weights in start.items():
        net.set_weights(name, weights)
    print(f"  variables by path: {list(net.variables)}")
    print(f"  hidden kernel: {net.get_weights('hidden')['kernel'].shape}")

    # The same layers on real data, eagerly: each method runs at once (handy in a notebook).
    images = data.test.images[:5]
    with cn.defaults(activation="sigmoid"):
        eager = cn.wrap(images).fully_connected(HIDDEN, name="hidden")
    print(f"  eager chain on 5 test images: {eager.numpy().shape}, a new layer {eager.name!r}")
    acts = net.activations(images, ["hidden", "logits"])
    print(f"  activations by name: hidden {acts['hidden'].shape}, logits {acts['logits'].shape}")
    return logits


def compiled(logits: cn.Chain, args: argparse.Namespace, start: Weights, name: str) -> keras.Model:
    model = logits.model(name=name)
    for layer_name, weights in start.items():
        logits.network.set_weights(layer_name, weights)
    model.compile(
        optimizer=keras.optimizers.SGD(args.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def level_keras(
    data: Mnist, args: argparse.Namespace, start: Weights
) -> tuple[list[Level], keras.Model]:
    """4. The Keras model: Keras' fit, chainnet's fit, evaluate, predict, save, load."""
    levels = []
    for label, trainer in (
        ("4a. Keras model.fit", "keras"),
        ("4b. chainnet.training.fit", "chainnet"),
    ):
        print(f"  -- {label}")
        logits = build()
        model = compiled(logits, args, start, name=f"mlp_{trainer}")
        x, y = data.train
        with Timer() as timer:
            if trainer == "keras":
                model.fit(
                    x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose
                )
            else:
                fit(
                    model,
                    x,
                    y,
                    batch_size=args.batch_size,
                    epochs=args.epochs,
                    seed=args.seed,
                    verbose=args.verbose,
                )
        loss, accuracy = model.evaluate(*data.test, verbose=0)
        print(f"  evaluate: loss {loss:.4f}, accuracy {accuracy:.4f}")
        levels.append(Level(label, timer.seconds, float(accuracy)))

    probabilities = keras.ops.softmax(model.predict(data.test.images[:3], verbose=0))
    print(
        f"  predict: first 3 test images -> {np.asarray(probabilities).argmax(axis=1)}, "
        f"labels {data.test.labels[:3]}"
    )
    path = args.out / "reloaded_check.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    same = np.allclose(
        reloaded.predict(data.test.images[:3], verbose=0),
        model.predict(data.test.images[:3], verbose=0),
        atol=1e-6,
    )
    path.unlink()
    print(f"  saved to .keras and loaded back with safe_mode=True: same predictions {same}")
    return levels, model


def levels_figure(levels: list[Level], epochs: int) -> object:
    """Training time of each level, its test accuracy written on the bar."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 0.6 * len(levels) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    names = [level.name for level in levels][::-1]
    seconds = [level.seconds for level in levels][::-1]
    bars = ax.barh(names, seconds, color="tab:blue")
    for bar, level in zip(bars, levels[::-1]):
        ax.text(
            bar.get_width(),
            bar.get_y() + bar.get_height() / 2,
            f"  {level.accuracy:.2%}",
            va="center",
        )
    ax.set_xlabel(f"training time for {epochs} epoch(s), seconds (test accuracy on the bars)")
    ax.set_xlim(0, max(seconds) * 1.25)
    ax.set_title("The MLP at every level")
    return fig


def main(argv: Sequence[str] | None = None) -> float:
    parser = make_parser(__doc__, EXAMPLE, epochs=3, batch_size=64)
    parser.add_argument("--learning-rate", type=float, default=0.5)
    args = parse(parser, argv)
    data = load_data(args, flatten=True)
    start = initial_weights(args.seed)

    print("== 1. raw TensorFlow: variables, ops and a hand-written training loop")
    levels = [level_raw(data, args, start)]
    print("== 2. raw TensorFlow ops inside a chain, through apply")
    levels.append(level_apply(data, args, start))
    print("== 3. the chain: one expression, shapes, names, eager runs")
    level_chain(data, start)
    print("== 4. the Keras model: compile, fit, evaluate, predict, save")
    keras_levels, model = level_keras(data, args, start)
    levels += keras_levels

    print("\nlevel                                      time    test accuracy")
    for level in levels:
        print(f"{level.name:<40} {level.seconds:6.1f} s    {level.accuracy:.4f}")
    save_figure(levels_figure(levels, args.epochs), args.out, "levels")
    return finish(
        args,
        model,
        data,
        example=EXAMPLE,
        seconds=levels[-1].seconds,
        predicted=predict_classes(model, data.test.images),
        extra={
            "epochs": args.epochs,
            "levels": [
                {
                    "level": lv.name,
                    "seconds": round(lv.seconds, 2),
                    "test_accuracy": round(lv.accuracy, 4),
                }
                for lv in levels
            ],
        },
    )


if __name__ == "__main__":
    main()
