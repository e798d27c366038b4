"""Datasets for chainnet's examples and tests, read without downloads where possible.

Examples:
    >>> from chainnet.datasets import load_mnist
    >>> load_mnist("tests/data/mnist-small", validation_size=100).test.images.shape
    (200, 28, 28, 1)
"""

from chainnet.datasets.mnist import (
    Mnist,
    MnistFormatError,
    MnistNotFoundError,
    Split,
    load_mnist,
)

__all__ = ["Mnist", "MnistFormatError", "MnistNotFoundError", "Split", "load_mnist"]
