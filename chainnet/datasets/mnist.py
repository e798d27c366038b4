"""MNIST from the four standard IDX files, read with NumPy only.

Examples:
    >>> from chainnet.datasets import load_mnist
    >>> data = load_mnist("tests/data/mnist-small", validation_size=100)
    >>> data.train.images.shape, data.validation.labels.shape
    ((500, 28, 28, 1), (100,))
"""

from __future__ import annotations

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np
import numpy.typing as npt

from chainnet._aligned import aligned_copy

__all__ = [
    "ENV_VAR",
    "FILES",
    "Mnist",
    "MnistFormatError",
    "MnistNotFoundError",
    "Split",
    "load_mnist",
    "read_idx",
    "write_idx",
]

ENV_VAR = "CHAINNET_MNIST_DIR"
#: The standard file names, by role; the uncompressed names (without ``.gz``) are accepted too.
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
_ROWS = _COLS = 28
_NUM_CLASSES = 10
_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
_KIND = {1: "labels", 3: "images"}


class MnistFormatError(ValueError):
    """An MNIST file is corrupt or not what its name says (the message names the file)."""


class MnistNotFoundError(FileNotFoundError):
    """The MNIST files are nowhere to be found (the message lists every place searched)."""


class Split(NamedTuple):
    """One split: ``images`` float in [0, 1] and ``labels`` int64; unpacks as ``x, y``."""

    images: np.ndarray
    labels: np.ndarray

    def __repr__(self) -> str:
        return f"Split(images={_describe(self.images)}, labels={_describe(self.labels)})"


@dataclass(frozen=True, eq=False)
class Mnist:
    """The classic MNIST splits and where they were read from.

    Examples:
        >>> data = load_mnist("tests/data/mnist-small", validation_size=100)
        >>> x, y = data.train
        >>> Mnist.one_hot(y[:2]).shape
        (2, 10)
    """

    train: Split
    validation: Split
    test: Split
    source: str
    num_classes: ClassVar[int] = _NUM_CLASSES

    @staticmethod
    def one_hot(labels: npt.ArrayLike, dtype: npt.DTypeLike = "float32") -> np.ndarray:
        """Labels ``(n,)`` as one-hot rows ``(n, 10)``.

        Examples:
            >>> Mnist.one_hot([3])[0].tolist()
            [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        """
        labels = np.asarray(labels)
        if labels.size and (labels.min() < 0 or labels.max() >= _NUM_CLASSES):
            raise ValueError(
                f"labels must be in [0, {_NUM_CLASSES - 1}]: got {labels.min()}..{labels.max()}"
            )
        rows: np.ndarray = np.eye(_NUM_CLASSES, dtype=dtype)[labels]
        return rows


def _describe(array: np.ndarray) -> str:
    return f"{array.dtype}{list(array.shape)}"


def read_idx(path: str | os.PathLike[str], ndim: int) -> np.ndarray:
    """Read an IDX file of unsigned bytes with ``ndim`` dimensions (gzip or not) as uint8.

    Raises ``MnistFormatError`` naming the file on a bad magic number, a truncated file, trailing
    bytes or broken gzip data.

    Examples:
        >>> read_idx("tests/data/mnist-small/t10k-labels-idx1-ubyte.gz", ndim=1).shape
        (200,)
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise MnistFormatError(f"{path}: broken gzip data ({exc})") from exc
    expected_magic = _UBYTE << 8 | ndim
    header = 4 * (1 + ndim)
    if len(data) < header:
        raise MnistFormatError(
            f"{path}: {len(data)} bytes is too short for an IDX header "
            f"({header} bytes for {_KIND.get(ndim, f'{ndim}-d data')})"
        )
    magic, *dims = (int(v) for v in np.frombuffer(data, ">u4", count=1 + ndim))
    if magic != expected_magic:
        hint = ""
        if magic >> 8 == _UBYTE and (magic & 0xFF) in _KIND:
            hint = f"; this looks like an MNIST {_KIND[magic & 0xFF]} file"
        raise MnistFormatError(
            f"{path}: bad magic number {magic} (0x{magic:08X}), expected {expected_magic} "
            f"(0x{expected_magic:08X}) for an IDX file of {_KIND.get(ndim, 'data')}{hint}"
        )
    expected_bytes = int(np.prod(dims))
    found_bytes = len(data) - header
    if found_bytes != expected_bytes:
        shape = "x".join(map(str, dims))
        what = "truncated" if found_bytes < expected_bytes else "has trailing bytes"
        raise MnistFormatError(
            f"{path}: {what}: the header says {shape} items ({expected_bytes} bytes of data, "
            f"{dims[0]} {_KIND.get(ndim, 'items')}) but the file holds {found_bytes} bytes"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def write_idx(path: str | os.PathLike[str], array: npt.ArrayLike) -> Path:
    """Write a uint8 array as an IDX file, gzip-compressed (reproducibly) if ``path`` ends .gz.

    Examples:
        >>> import numpy as np, tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
        >>> read_idx(write_idx(p, np.array([7, 2], np.uint8)), ndim=1).tolist()
        [7, 2]
    """
    path = Path(path)
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays only: got {array.dtype}")
    header = np.array([_UBYTE << 8 | array.ndim, *array.shape], ">u4").tobytes()
    data = header + np.ascontiguousarray(array).tobytes()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, compresslevel=9, mtime=0)
    path.write_bytes(data)
    return path


def _project_root() -> Path | None:
    """The source checkout holding the ``chainnet`` package, or None for an installed package.

    A checkout is the folder above ``chainnet/`` when it holds ``pyproject.toml``; an installed
    package (in ``site-packages``) has none, so nothing is ever looked up inside a venv.
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def _user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/chainnet/mnist``, or ``~/.cache/chainnet/mnist``."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "chainnet" / "mnist"


def _find_files(directory: Path) -> dict[str, Path] | None:
    """The four files in ``directory``; None if it holds none; an error if only some."""
    found: dict[str, Path] = {}
    for role, name in FILES.items():
        for candidate in (directory / name, directory / name.removesuffix(".gz")):
            if candidate.is_file():
                found[role] = candidate
                break
    if not found:
        return None
    missing = [name for role, name in FILES.items() if role not in found]
    if missing:
        raise MnistNotFoundError(
            f"{directory} holds only some of the MNIST files: missing {', '.join(missing)} "
            "(or the same name without .gz)"
        )
    return found


def _check_images_labels(
    images: np.ndarray, labels: np.ndarray, images_from: str, labels_from: str
) -> None:
    if images.ndim != 3 or images.shape[1:] != (_ROWS, _COLS):
        raise MnistFormatError(
            f"{images_from}: expected images of {_ROWS}x{_COLS} pixels, "
            f"found shape {'x'.join(map(str, images.shape))}"
        )
    if len(images) != len(labels):
        raise MnistFormatError(
            f"{images_from} holds {len(images)} images but {labels_from} holds "
            f"{len(labels)} labels: the counts must match"
        )
    if labels.size and labels.max() >= _NUM_CLASSES:
        raise MnistFormatError(
            f"{labels_from}: labels must be 0..{_NUM_CLASSES - 1}, found {labels.max()}"
        )


def _read_dir(files: dict[str, Path]) -> tuple[np.ndarray, ...]:
    arrays = []
    for part in ("train", "test"):
        images_path, labels_path = files[f"{part}_images"], files[f"{part}_labels"]
        images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
        _check_images_labels(images, labels, str(images_path), str(labels_path))
        arrays += [images, labels]
    return tuple(arrays)


def _download() -> tuple[np.ndarray, ...]:
    from keras.datasets import mnist as keras_mnist

    (x_train, y_train), (x_test, y_test) = keras_mnist.load_data()
    arrays = tuple(np.asarray(a, np.uint8) for a in (x_train, y_train, x_test, y_test))
    for images, labels, part in (
        (arrays[0], arrays[1], "train"),
        (arrays[2], arrays[3], "test"),
    ):
        where = f"keras.datasets.mnist {part}"
        _check_images_labels(images, labels, where, where)
    return arrays


def _search(
    data_dir: str | os.PathLike[str] | None, download: bool
) -> tuple[tuple[np.ndarray, ...], str]:
    """The raw uint8 arrays (train images/labels, test images/labels) and where they came from."""
    explicit = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or None
    if explicit is not None:
        origin = "data_dir" if data_dir is not None else f"${ENV_VAR}"
        directory = Path(explicit).expanduser()
        files = _find_files(directory) if directory.is_dir() else None
        if files is None:
            state = "holds no MNIST files" if directory.is_dir() else "is not a directory"
            raise MnistNotFoundError(
                f"{origin} {str(directory)!r} {state}: expected {', '.join(FILES.values())} "
                "(or the same names without .gz)"
            )
        return _read_dir(files), str(directory)

    searched = [f"${ENV_VAR} (not set)"]
    relative = Path("..") / "shared" / "data" / "mnist"
    checkout = _project_root()
    candidates = [base / relative for base in (checkout, Path.cwd()) if base is not None]
    seen: set[Path] = set()
    for candidate in [*candidates, _user_cache_dir()]:
        directory = candidate.resolve()
        if directory in seen:
            continue
        seen.add(directory)
        files = _find_files(directory) if directory.is_dir() else None
        if files is not None:
            return _read_dir(files), str(directory)
        searched.append(f"{directory} ({'no MNIST files' if directory.is_dir() else 'missing'})")
    if not download:
        searched.append("keras.datasets.mnist.load_data() (download=False)")
    else:
        try:
            return _download(), "keras.datasets.mnist"
        except Exception as exc:  # noqa: BLE001 - any failure is reported with the search list
            searched.append(f"keras.datasets.mnist.load_data() ({type(exc).__name__}: {exc})")
    raise MnistNotFoundError(
        "MNIST not found; searched:\n  "
        + "\n  ".join(searched)
        + f"\nPass data_dir= or set {ENV_VAR} to a folder holding {', '.join(FILES.values())}."
    )


# Every array in its own aligned memory: chainnet.training.fit shares such arrays with its
# tensors instead of copying them (see chainnet._aligned).
def _as_images(raw: np.ndarray, flatten: bool, dtype: np.dtype) -> np.ndarray:
    images = aligned_copy(raw, dtype)
    images /= 255
    return images.reshape(len(raw), _ROWS * _COLS) if flatten else images[..., np.newaxis]


def _as_labels(raw: np.ndarray) -> np.ndarray:
    return aligned_copy(raw, np.int64)


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    validation_size: int = 5000,
    flatten: bool = False,
    dtype: npt.DTypeLike = "float32",
    download: bool = True,
) -> Mnist:
    """Load MNIST with the classic split: the first ``validation_size`` training images are the
    validation set, the rest the training set.

    Images are ``dtype`` in [0, 1] of shape ``(n, 28, 28, 1)`` (``(n, 784)`` with
    ``flatten=True``); labels are int64 ``(n,)``. The files are looked up in ``data_dir``, else
    in ``$CHAINNET_MNIST_DIR`` (either, when given, must hold them), else in
    ``../shared/data/mnist`` beside the source checkout (never inside an installed package) and
    beside the working directory, else in the user cache folder
    ``$XDG_CACHE_HOME/chainnet/mnist`` (``~/.cache/chainnet/mnist``), and last through
    ``keras.datasets.mnist.load_data()`` (a download) unless ``download=False``.

    Examples:
        >>> data = load_mnist("tests/data/mnist-small", validation_size=100, flatten=True)
        >>> len(data.train.images), len(data.validation.images), data.test.images.shape
        (500, 100, (200, 784))
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating-point type: got {dtype}")
    if isinstance(validation_size, bool) or not isinstance(validation_size, (int, np.integer)):
        raise TypeError(f"validation_size must be an int: got {validation_size!r}")
    (train_x, train_y, test_x, test_y), source = _search(data_dir, download)
    if not 0 <= validation_size <= len(train_x):
        raise ValueError(
            f"validation_size must be in [0, {len(train_x)}] (the {len(train_x)} training images "
            f"in {source}): got {validation_size}"
        )

    def split(images: np.ndarray, labels: np.ndarray) -> Split:
        return Split(_as_images(images, flatten, dtype), _as_labels(labels))

    return Mnist(
        train=split(train_x[validation_size:], train_y[validation_size:]),
        validation=split(train_x[:validation_size], train_y[:validation_size]),
        test=split(test_x, test_y),
        source=source,
    )
