"""Text classification with a Transformer, as one chain (the keras-io example of that name).

keras-io's "Text classification with Transformer" reads IMDB reviews with a token and
position embedding, one Transformer block (multi-head self-attention and a position-wise
feed-forward network, each with dropout, a residual and a layer norm), the mean over the
words, dropout, ``Dense(20, relu)``, dropout and a 2-way softmax. Here that network is one
chain, on reviews the example makes itself (nothing to download): sentences of neutral
words with a few positive and negative words mixed in; the label says which kind is in the
majority. The labels are a second input and the head carries its loss, so the model trains
with ``compile(optimizer)`` and ``fit([reviews, labels], None)``. It prints the loss after
every epoch (it falls) and ends with the test accuracy.

Run: ``python examples/text_transformer.py [--epochs 4] [--reviews 4000]``;
quick check: ``python examples/text_transformer.py --smoke``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import chainnet as cn

MAX_LENGTH = 40  # words per review (keras-io: 200)
NEUTRAL, POSITIVE, NEGATIVE = 300, 25, 25  # word ids: 0 padding, then neutral, +, - words
VOCABULARY = 1 + NEUTRAL + POSITIVE + NEGATIVE  # keras-io: 20,000
EMBED_DIM, NUM_HEADS, FF_DIM = 32, 2, 32  # keras-io's sizes


def make_reviews(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` reviews ``(count, MAX_LENGTH)`` of word ids, padded with 0, and their labels
    (1: more positive than negative words)."""
    labels = rng.integers(0, 2, size=count).astype("int32")
    reviews = np.zeros((count, MAX_LENGTH), "int32")
    for row, label in enumerate(labels):
        length = int(rng.integers(MAX_LENGTH // 2, MAX_LENGTH + 1))
        words = rng.integers(1, 1 + NEUTRAL, size=length)
        majority = int(rng.integers(2, 5))
        minority = int(rng.integers(0, majority - 1))
        good = rng.integers(1 + NEUTRAL, 1 + NEUTRAL + POSITIVE, size=max(majority, minority))
        bad = rng.integers(1 + NEUTRAL + POSITIVE, VOCABULARY, size=max(majority, minority))
        chosen = np.concatenate(
            [good[:majority], bad[:minority]] if label else [bad[:majority], good[:minority]]
        )
        places = rng.choice(length, size=len(chosen), replace=False)
        words[places] = chosen
        reviews[row, :length] = words
    return reviews, labels


def transformer_block(
    x: cn.Chain, num_heads: int, ff_dim: int, rate: float = 0.1, name: str = "block"
) -> cn.Chain:
    """keras-io's ``TransformerBlock``: ``LN(x + drop(MHA(x, x)))``, then
    ``LN(y + drop(FFN(y)))`` with a position-wise FFN ``Dense(ff_dim, relu), Dense(d)``."""
    dim = x.shape[-1]
    attention = x.multi_head_attention(num_heads, dim, name=f"{name}_attention")
    y = (x + attention.dropout(rate=rate)).layer_normalize(epsilon=1e-6, name=f"{name}_norm1")
    ffn = y.fully_connected(ff_dim, activation="relu", name=f"{name}_ffn1").fully_connected(
        dim, name=f"{name}_ffn2"
    )
    return (y + ffn.dropout(rate=rate)).layer_normalize(epsilon=1e-6, name=f"{name}_norm2")


def build(labels: bool = True) -> cn.SoftmaxResult:
    """reviews -> token + position embedding -> Transformer block -> mean -> 20 relu -> 2."""
    reviews = cn.input((MAX_LENGTH,), dtype="int32", name="reviews")
    label_input = reviews.network.input((), dtype="int32", name="labels") if labels else None
    embedded = reviews.embedding_lookup(VOCABULARY, EMBED_DIM, name="tokens").position_embedding(
        MAX_LENGTH, name="positions"
    )
    features = (
        transformer_block(embedded, NUM_HEADS, FF_DIM)
        .global_average_pool(name="mean")
        .dropout(rate=0.1)
        .fully_connected(20, activation="relu", name="hidden")
        .dropout(rate=0.1)
    )
    return features.softmax_classifier(2, label_input, name="sentiment")


def main(argv: Sequence[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--reviews", type=int, default=4000, help="training reviews")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="2 epochs on 300 reviews")
    args = parser.parse_args(argv)
    if args.smoke:
        args.epochs, args.reviews = 2, 300
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_x, train_y = make_reviews(args.reviews, rng)
    test_x, test_y = make_reviews(max(200, args.reviews // 4), rng)

    result = build()
    model = result.softmax.model(name="text_transformer")  # inputs: reviews and labels
    print(f"{model.count_params():,} parameters")
    model.compile(optimizer="adam")  # keras-io's optimizer; no loss: the head carries it
    losses: list[float] = []

    def report(epoch: int, logs: dict[str, float]) -> None:
        losses.append(float(logs["loss"]))
        print(f"epoch {epoch + 1}/{args.epochs}  loss {logs['loss']:.4f}", flush=True)

    model.fit(
        [train_x, train_y],
        None,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=report)],
    )
    predictor = cn.model(result.logits, name="predictor")  # the same weights, no labels
    predicted = np.argmax(predictor.predict(test_x, verbose=0), axis=-1)
    accuracy = float(np.mean(predicted == test_y))
    print(f"loss {'fell' if losses[-1] < losses[0] else 'did not fall'}: "
          f"{losses[0]:.4f} -> {losses[-1]:.4f}")  # fmt: skip
    print(f"test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
