"""Transfer learning and surgery: a keras.applications backbone as one step, taps at two depths.

A MobileNetV2 (``include_top=False``, the smallest width) is one step of a chain, named
``backbone``. Its output and two inner outputs, ``backbone/block_3_expand_relu`` and
``backbone/block_6_expand_relu``, are pooled or flattened and joined into one head of 10
logits. Training runs in two phases: the backbone frozen (``network.freeze("backbone/*")``),
only the head learns; then its last block unfrozen
(``network.unfreeze("backbone/block_16_*")``, its batch normalization layers frozen again,
``network.freeze("backbone/block_16_*_BN")``) and the model compiled again. The data are
MNIST digits padded to 32x32 and repeated to 3 channels.

Here the backbone starts from random weights (``--weights none``, nothing is downloaded), with
its batch normalization statistics set from the digits so that its features do not vanish:
the frozen phase then learns from random convolutional features. Where you have the ImageNet
weights, ``--weights imagenet`` starts from them (Keras fetches them once, or pass a path to
a ``.h5`` file), which is what the frozen phase is for. Writes
``history.png``, the model (saved and loaded back in safe mode) and ``results.json`` to --out.

Run: ``python examples/transfer_learning.py [--data-dir DIR] [--out out/transfer_learning]``
(77.5% test accuracy from random weights, about a minute of CPU); quick check:
``python examples/transfer_learning.py --smoke --data-dir tests/data/mnist-small``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from _common import Timer, finish, history_figure, load_data, make_parser, parse, save_figure

import chainnet as cn
from chainnet.training import fit

EXAMPLE = "transfer_learning"
SIZE = 32  # the smallest input MobileNetV2 takes
TAPS = ("backbone/block_3_expand_relu", "backbone/block_6_expand_relu")


def to_rgb32(images: np.ndarray) -> np.ndarray:
    """MNIST digits (N, 28, 28, 1) in [0, 1] as (N, 32, 32, 3) in [-1, 1], MobileNet's range."""
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    return np.repeat(padded * 2.0 - 1.0, 3, axis=-1).astype("float32")


def build(weights: str | None) -> cn.Chain:
    """The backbone as a step, pooled at its output and at two inner depths, one head."""
    backbone = keras.applications.MobileNetV2(
        include_top=False, weights=weights, input_shape=(SIZE, SIZE, 3), alpha=0.35
    )
    image = cn.input((SIZE, SIZE, 3), name="image")
    top = image.apply_layer(backbone, name="backbone").global_average_pool(name="top_pool")
    net = top.network
    # the taps keep where things are (a global average would drop it): pooled, flattened
    low = net[TAPS[0]].max_pool(2, 2, name="low_pool").flatten(name="low_flat")
    mid = net[TAPS[1]].flatten(name="mid_flat")
    return top.join([mid, low], name="features").fully_connected(10, name="logits")


def calibrate_batch_norm(backbone: keras.Model, images: np.ndarray) -> int:
    """Random weights only: every batch normalization layer's moving mean and variance become
    those of ``images`` (one forward pass in training mode with momentum 0).

    A frozen layer normalizes with its moving statistics. Those of an untrained MobileNetV2
    are the initial 0 and 1, which shrink the features a hundredfold at every block (to
    1e-12 at the top); after this, every layer's output is normalized as in training.
    """
    layers = [x for x in backbone.layers if isinstance(x, keras.layers.BatchNormalization)]
    momenta = [x.momentum for x in layers]
    for layer in layers:
        layer.momentum = 0.0
    backbone(images, training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    return len(layers)


def compile_model(model: keras.Model, learning_rate: float) -> None:
    """Keras reads which weights train when it compiles: compile after every freeze."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,  # XLA takes longer to compile MobileNet than this example trains
    )


def trainable(model: keras.Model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def main(argv: Sequence[str] | None = None) -> float:
    parser = make_parser(__doc__, EXAMPLE, epochs=4, batch_size=64)
    parser.set_defaults(limit=5000, validation_size=1000)
    parser.add_argument("--learning-rate", type=float, default=5e-3, help="Adam's")
    parser.add_argument(
        "--weights", default="none", help="'none' (random), 'imagenet', or a weights file"
    )
    args = parse(parser, argv)
    data = load_data(args)
    x_train, y_train = to_rgb32(data.train.images), data.train.labels
    x_test = to_rgb32(data.test.images)

    logits = build(None if args.weights == "none" else args.weights)
    net = logits.network
    model = logits.model(name="transfer_learning")
    print(f"taps: {', '.join(f'{t} {net[t].shape}' for t in TAPS)}")

    if args.weights == "none":
        count = calibrate_batch_norm(net.layer("backbone"), x_train[:512])
        print(f"random weights: {count} batch norm layers calibrated on 512 training images")
    frozen = net.freeze("backbone/*")
    print(f"phase 1: froze {len(frozen)} backbone layers; trainable {trainable(model):,}")
    logits.summary()
    compile_model(model, args.learning_rate)
    history: dict[str, list[float]] = {}
    with Timer() as timer:
        for phase in ("frozen", "block_16 unfrozen"):
            if phase != "frozen":
                thawed = net.unfreeze("backbone/block_16_*")
                # batch norm stays frozen (inference mode), as Keras' fine-tuning guide advises
                refrozen = net.freeze("backbone/block_16_*_BN")
                thawed = [path for path in thawed if path not in refrozen]
                compile_model(model, args.learning_rate / 4)  # again: trainability changed
                print(f"phase 2: unfroze {thawed}; trainable {trainable(model):,}")
            run = fit(
                model,
                x_train,
                y_train,
                batch_size=args.batch_size,
                epochs=args.epochs,
                seed=args.seed,
                verbose=args.verbose,
            )
            for key, values in run.history.items():
                history.setdefault(key, []).extend(values)

    save_figure(
        history_figure(history, "MobileNetV2 taps: frozen, then block 16"), args.out, "history"
    )
    path = args.out / "reloaded.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    same = np.allclose(
        model.predict(x_test[:64], verbose=0), loaded.predict(x_test[:64], verbose=0), atol=1e-5
    )
    print(f"saved to .keras and loaded back with safe_mode=True: same predictions {same}")
    test = type(data.test)(x_test, data.test.labels)
    return finish(
        args,
        model,
        type(data)(train=data.train, validation=data.validation, test=test, source=data.source),
        example=EXAMPLE,
        seconds=timer.seconds,
        extra={
            "epochs_per_phase": args.epochs,
            "weights": args.weights,
            "frozen_layers": len(frozen),
            "parameters": model.count_params(),
        },
    )


if __name__ == "__main__":
    main()
