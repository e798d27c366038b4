"""Every benchmark in one run, printed one after the other: training speed on MNIST
(``bench_training.py``) and build cost (``bench_build.py``).

Usage (from the repository root)::

    python benchmarks/run_all.py [--quick] [--data-dir DIR]

``--quick`` is a smoke run (a couple of minutes on a small CPU); without it, the full runs
(the MLP's 20 epochs, the CNN, ResNet50 and MobileNetV2 builds) take a while.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_build
import bench_training


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of each benchmark")
    parser.add_argument("--data-dir", type=Path, default=None, help="where MNIST is")
    args = parser.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    data = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    print("== training speed (bench_training.py) ==", flush=True)
    bench_training.main(quick + data)
    print("\n== build cost (bench_build.py) ==", flush=True)
    bench_build.main(quick)


if __name__ == "__main__":
    main()
