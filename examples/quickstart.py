"""chainnet in one page: the PrettyTensor tutorial CNN on real MNIST.

Builds the network as one chain expression under a defaults scope, prints its summary,
trains it for one epoch, prints the test accuracy, and reaches into it: the conv1 kernel
by name and what conv1 and conv2 output for a few test images.

Run: ``python examples/quickstart.py [--data-dir DIR] [--epochs 1] [--limit N]``
(``--data-dir`` defaults to ``../shared/data/mnist`` when it exists).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

import chainnet as cn
from chainnet.datasets import load_mnist


def build() -> cn.Chain:
    """The PrettyTensor tutorial CNN (conv 16·5x5, pool, conv 36·5x5, pool, fc 128, fc 10)."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None, help="use only N training images")
    args = parser.parse_args()

    mnist = load_mnist(args.data_dir, validation_size=min(5000, 100 if args.limit else 5000))
    x_train, y_train = mnist.train
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]

    logits = build()
    logits.summary()
    model = logits.model(name="pretty_tensor_tutorial")
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    cn.fit(model, x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, seed=0)
    seconds = time.perf_counter() - start

    network = logits.network
    kernel = network.get_weights("layer_conv1")["kernel"]
    acts = network.activations(mnist.test.images[:2], ["layer_conv1", "layer_conv2"])
    print(
        f"conv1 kernel {kernel.shape}; conv1 outputs {acts['layer_conv1'].shape}, "
        f"conv2 outputs {acts['layer_conv2'].shape}"
    )
    _, accuracy = model.evaluate(*mnist.test, verbose=0)
    print(f"trained {args.epochs} epoch(s) on {len(x_train)} images in {seconds:.1f} s")
    print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
