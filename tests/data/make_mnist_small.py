"""Write tests/data/mnist-small: the first real MNIST digits as the four standard IDX gzip files.

Run from the project root with chainnet importable (``pip install -e .`` or ``PYTHONPATH=.``);
the output is byte-for-byte reproducible:

    PYTHONPATH=. python tests/data/make_mnist_small.py [--source DIR] [--train 600] [--test 200]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from chainnet.datasets.mnist import FILES, read_idx, write_idx

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=HERE.parents[1] / "../shared/data/mnist")
    parser.add_argument("--out", type=Path, default=HERE / "mnist-small")
    parser.add_argument("--train", type=int, default=600, help="first N training digits")
    parser.add_argument("--test", type=int, default=200, help="first N test digits")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    for role, name in FILES.items():
        count = args.train if role.startswith("train") else args.test
        array = read_idx(args.source / name, ndim=3 if role.endswith("images") else 1)[:count]
        path = write_idx(args.out / name, array)
        print(f"{path}: {array.shape}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
