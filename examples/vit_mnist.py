"""A small Vision Transformer (ViT) on MNIST, as one chain.

The image is cut into 7x7 patches by a ``conv2d`` whose stride is the patch size (16
patches, each projected to 64 features: ViT's patch embedding), a learned position
embedding is added, two pre-norm Transformer blocks (keras-io "Image classification with
Vision Transformer": layer norm, multi-head self-attention, residual; layer norm, a GELU
MLP, residual) read the patches, and the mean patch goes through a layer norm to the 10
logits. Adam with a cosine-decayed learning rate, batch 64. Writes ``history.png``,
``confusion_matrix.png``, the model and ``results.json`` to ``--out``.

Run: ``python examples/vit_mnist.py [--data-dir DIR] [--epochs 5] [--out out/vit_mnist]``;
quick check: ``python examples/vit_mnist.py --smoke --data-dir tests/data/mnist-small``.
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

EXAMPLE = "vit_mnist"


def vit_block(x: cn.Chain, heads: int, mlp: int) -> cn.Chain:
    """A pre-norm Transformer encoder block: ``x + MHA(LN(x))``, then ``y + MLP(LN(y))``."""
    dim = x.shape[-1]
    normed = x.layer_normalize(epsilon=1e-6)
    y = x + normed.multi_head_attention(heads, dim // heads)
    mlp_out = (
        y.layer_normalize(epsilon=1e-6).fully_connected(mlp, activation="gelu").fully_connected(dim)
    )
    return y + mlp_out


def build(
    patch: int = 7, dim: int = 64, heads: int = 4, blocks: int = 2, mlp: int = 128
) -> cn.Chain:
    """28x28 pixels -> patches -> position embedding -> Transformer blocks -> mean -> logits."""
    pixels = cn.input((28, 28, 1), name="pixels")
    count = (28 // patch) ** 2
    x = (
        pixels.conv2d(patch, dim, strides=patch, padding="valid", name="patches")
        .reshape([-1, count, dim])
        .position_embedding(count, name="positions")
    )
    for _ in range(blocks):
        x = vit_block(x, heads, mlp)
    return x.layer_normalize(epsilon=1e-6).global_average_pool().fully_connected(10, name="logits")


def main(argv: Sequence[str] | None = None) -> float:
    parser = make_parser(__doc__, EXAMPLE, epochs=5, batch_size=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--patch", type=int, default=7, help="patch size (divides 28)")
    args = parse(parser, argv)
    data = load_data(args)
    keras.utils.set_random_seed(args.seed)

    logits = build(args.patch)
    logits.summary()
    model = logits.model(name="vit")
    steps = args.epochs * -(-len(data.train.images) // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps, alpha=0.01)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    with Timer() as timer:
        history = model.fit(
            *data.train,
            batch_size=args.batch_size,
            epochs=args.epochs,
            validation_data=tuple(data.validation) if len(data.validation.images) else None,
            verbose=args.verbose,
            callbacks=[TimeLimit(args.max_minutes)],
        )
    epochs = len(history.history.get("loss", []))
    save_figure(
        history_figure(
            history.history,
            f"ViT, {(28 // args.patch) ** 2} patches of {args.patch}x{args.patch}, {epochs} epochs",
        ),
        args.out,
        "history",
    )
    predicted = predict_classes(model, data.test.images)
    save_figure(
        plot.confusion_matrix(data.test.labels, predicted, 10), args.out, "confusion_matrix"
    )
    return finish(
        args,
        model,
        data,
        example=EXAMPLE,
        seconds=timer.seconds,
        predicted=predicted,
        extra={"epochs": epochs, "learning_rate": args.learning_rate, "patch": args.patch},
    )


if __name__ == "__main__":
    main()
