"""load_mnist: the real fixture, the shared full set, the lookup order and every format error."""

from __future__ import annotations

import gzip
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from chainnet._aligned import is_aligned
from chainnet.datasets import Mnist, MnistFormatError, MnistNotFoundError, Split, load_mnist
from chainnet.datasets import mnist as mnist_module
from chainnet.datasets.mnist import ENV_VAR, FILES, read_idx, write_idx
from chainnet.training._data import TensorCache

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "mnist-small"
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist"
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def write_set(
    directory: Path,
    train: int = 20,
    test: int = 10,
    **override: np.ndarray,
) -> Path:
    """A small synthetic MNIST folder; ``override`` replaces an array by role."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train_images": RNG.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "train_labels": RNG.integers(0, 10, train, dtype=np.uint8),
        "test_images": RNG.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "test_labels": RNG.integers(0, 10, test, dtype=np.uint8),
    }
    arrays.update(override)
    for role, array in arrays.items():
        write_idx(directory / FILES[role], array)
    return directory


# --- the real fixture ------------------------------------------------------------------------


def test_fixture_shapes_dtypes_ranges_and_split() -> None:
    data = load_mnist(FIXTURE, validation_size=100)
    assert isinstance(data, Mnist) and data.num_classes == 10
    sizes = {"train": 500, "validation": 100, "test": 200}
    for name, size in sizes.items():
        split = getattr(data, name)
        assert isinstance(split, Split)
        assert split.images.shape == (size, 28, 28, 1)
        assert split.images.dtype == np.float32
        assert split.labels.shape == (size,) and split.labels.dtype == np.int64
        assert split.images.min() >= 0.0 and split.images.max() <= 1.0
        assert set(np.unique(split.labels)) <= set(range(10))
    assert data.train.images.max() == 1.0  # 255 maps to exactly 1
    assert data.test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert data.source == str(FIXTURE)


def test_validation_is_the_first_training_images() -> None:
    raw_images = read_idx(FIXTURE / FILES["train_images"], ndim=3)
    raw_labels = read_idx(FIXTURE / FILES["train_labels"], ndim=1)
    data = load_mnist(FIXTURE, validation_size=100)
    np.testing.assert_array_equal(data.validation.labels, raw_labels[:100])
    np.testing.assert_array_equal(data.train.labels, raw_labels[100:])
    np.testing.assert_allclose(data.train.images[0, :, :, 0], raw_images[100] / 255, rtol=1e-6)


def test_flatten_dtype_and_unpacking() -> None:
    data = load_mnist(FIXTURE, validation_size=0, flatten=True, dtype="float64")
    x, y = data.train
    assert x.shape == (600, 784) and x.dtype == np.float64 and y.shape == (600,)
    assert data.validation.images.shape == (0, 784)
    square = load_mnist(FIXTURE, validation_size=0).train.images
    np.testing.assert_allclose(x, square.reshape(600, 784), rtol=1e-6)


def test_arrays_are_aligned_so_that_training_shares_them_without_a_copy() -> None:
    data = load_mnist(FIXTURE, validation_size=100)
    for split in (data.train, data.test):
        for array in split:
            assert is_aligned(array) and array.flags.c_contiguous and array.flags.writeable
    tensor = TensorCache().tensor(data.train.images)  # shared: an edit shows in the tensor
    data.train.images[0, 0, 0, 0] = 0.5
    assert tensor.numpy()[0, 0, 0, 0] == 0.5


def test_repr_is_short() -> None:
    text = repr(load_mnist(FIXTURE, validation_size=100))
    assert "train=Split(images=float32[500, 28, 28, 1], labels=int64[500])" in text
    assert len(text) < 400


def test_one_hot() -> None:
    rows = Mnist.one_hot(np.array([0, 9, 3]))
    assert rows.shape == (3, 10) and rows.dtype == np.float32
    assert rows.argmax(axis=1).tolist() == [0, 9, 3] and rows.sum() == 3
    with pytest.raises(ValueError, match=r"labels must be in \[0, 9\]: got 0\.\.10"):
        Mnist.one_hot([0, 10])


def test_uncompressed_files_are_accepted(tmp_path: Path) -> None:
    for name in FILES.values():
        (tmp_path / name.removesuffix(".gz")).write_bytes(
            gzip.decompress((FIXTURE / name).read_bytes())
        )
    data = load_mnist(tmp_path, validation_size=100)
    np.testing.assert_array_equal(
        data.test.labels, load_mnist(FIXTURE, validation_size=0).test.labels
    )


def test_fixture_is_small_and_reproducible() -> None:
    assert sum(p.stat().st_size for p in FIXTURE.iterdir()) < 200_000
    for name in FILES.values():
        data = (FIXTURE / name).read_bytes()
        assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0: the script writes identical bytes


# --- the full shared set and the lookup order -----------------------------------------------


@pytest.mark.skipif(not (SHARED / FILES["train_images"]).exists(), reason="no shared MNIST")
def test_real_data_by_default_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # found beside the package, whatever the working directory
    data = load_mnist(download=False)
    assert Path(data.source) == SHARED.resolve()
    assert len(data.train.labels) == 55_000
    assert len(data.validation.labels) == 5_000
    assert len(data.test.labels) == 10_000
    assert data.train.images.shape[1:] == (28, 28, 1)
    assert np.bincount(data.test.labels).tolist()[:3] == [980, 1135, 1032]


def test_env_var_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(FIXTURE))
    assert load_mnist(validation_size=100).source == str(FIXTURE)


def test_argument_wins_over_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    assert len(load_mnist(FIXTURE, validation_size=100).train.labels) == 500


def test_env_var_without_files_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(MnistNotFoundError, match=rf"\${ENV_VAR} .* holds no MNIST files"):
        load_mnist()


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(MnistNotFoundError, match=r"data_dir '.*nowhere' is not a directory"):
        load_mnist(tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path: Path) -> None:
    write_set(tmp_path)
    (tmp_path / FILES["test_labels"]).unlink()
    with pytest.raises(MnistNotFoundError, match=r"missing t10k-labels-idx1-ubyte\.gz"):
        load_mnist(tmp_path, validation_size=5)


def _nowhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MNIST beside the package, the working directory or in the user cache."""
    monkeypatch.setattr(mnist_module, "_project_root", lambda: tmp_path / "a" / "root")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def test_user_cache_dir_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _nowhere(monkeypatch, tmp_path)
    cache = tmp_path / "cache" / "chainnet" / "mnist"
    cache.mkdir(parents=True)
    write_set(cache)
    assert load_mnist(validation_size=5, download=False).source == str(cache)


def test_an_installed_package_never_looks_inside_the_venv(tmp_path: Path) -> None:
    """Installed (no pyproject.toml above the package), the search skips the package's folder."""
    site = tmp_path / "lib" / "python3" / "site-packages"
    (site / "chainnet" / "datasets").mkdir(parents=True)
    fake = site / "chainnet" / "datasets" / "mnist.py"
    fake.write_text("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mnist_module, "__file__", str(fake))
        assert mnist_module._project_root() is None
        (site / "pyproject.toml").write_text("")  # a source checkout has one
        assert mnist_module._project_root() == site


def test_not_found_lists_every_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _nowhere(monkeypatch, tmp_path)
    with pytest.raises(MnistNotFoundError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert f"${ENV_VAR} (not set)" in message
    assert str(tmp_path / "a" / "shared" / "data" / "mnist") in message
    assert str(tmp_path.parent / "shared" / "data" / "mnist") in message
    assert str(tmp_path / "cache" / "chainnet" / "mnist") in message
    assert "keras.datasets.mnist.load_data() (download=False)" in message


def _fake_keras(monkeypatch: pytest.MonkeyPatch, load_data: object) -> None:
    mnist = types.SimpleNamespace(load_data=load_data)
    datasets = types.SimpleNamespace(mnist=mnist)
    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace(datasets=datasets))
    monkeypatch.setitem(sys.modules, "keras.datasets", datasets)
    monkeypatch.setitem(sys.modules, "keras.datasets.mnist", mnist)


def test_download_is_the_last_resort(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _nowhere(monkeypatch, tmp_path)
    train_x = np.full((30, 28, 28), 255, np.uint8)
    test_x = np.zeros((8, 28, 28), np.uint8)
    labels = np.arange(30, dtype=np.uint8) % 10
    _fake_keras(monkeypatch, lambda: ((train_x, labels), (test_x, labels[:8])))
    data = load_mnist(validation_size=10)
    assert data.source == "keras.datasets.mnist"
    assert data.train.images.shape == (20, 28, 28, 1) and data.train.images.max() == 1.0
    assert data.validation.labels.tolist() == list(range(10))


def test_failed_download_is_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _nowhere(monkeypatch, tmp_path)

    def offline() -> None:
        raise OSError("no network")

    _fake_keras(monkeypatch, offline)
    with pytest.raises(MnistNotFoundError, match=r"load_data\(\) \(OSError: no network\)"):
        load_mnist()


# --- corrupt files ---------------------------------------------------------------------------


def test_bad_magic_number(tmp_path: Path) -> None:
    header = struct.pack(">IIII", 0x00000D03, 20, 28, 28)  # floats, not unsigned bytes
    write_set(tmp_path)
    (tmp_path / FILES["train_images"]).write_bytes(gzip.compress(header + bytes(20 * 784 * 4)))
    with pytest.raises(
        MnistFormatError,
        match=r"train-images-idx3-ubyte.gz: bad magic number 3331 \(0x00000D03\), "
        r"expected 2051 \(0x00000803\)",
    ):
        load_mnist(tmp_path, validation_size=5)


def test_swapped_files_are_recognised(tmp_path: Path) -> None:
    write_set(tmp_path)
    images, labels = tmp_path / FILES["test_images"], tmp_path / FILES["test_labels"]
    data = images.read_bytes()
    images.write_bytes(labels.read_bytes())
    labels.write_bytes(data)
    with pytest.raises(
        MnistFormatError,
        match=r"t10k-images.*expected 2051 .* this looks like an MNIST labels file",
    ):
        load_mnist(tmp_path, validation_size=5)


def test_labels_magic_number(tmp_path: Path) -> None:
    write_set(tmp_path)
    path = tmp_path / FILES["train_labels"]
    path.write_bytes(struct.pack(">II", 0x0801 + 0x100, 20) + bytes(20))
    with pytest.raises(MnistFormatError, match=r"train-labels.*expected 2049 \(0x00000801\)"):
        load_mnist(tmp_path, validation_size=5)


def test_truncated_images(tmp_path: Path) -> None:
    write_set(tmp_path)
    path = tmp_path / FILES["train_images"]
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-100]))
    with pytest.raises(
        MnistFormatError,
        match=r"train-images-idx3-ubyte.gz: truncated: the header says 20x28x28 items "
        r"\(15680 bytes of data, 20 images\) but the file holds 15580 bytes",
    ):
        load_mnist(tmp_path, validation_size=5)


def test_trailing_bytes(tmp_path: Path) -> None:
    write_set(tmp_path)
    path = tmp_path / FILES["test_labels"]
    path.write_bytes(gzip.decompress(path.read_bytes()) + b"\0\0")
    path.rename(tmp_path / "t10k-labels-idx1-ubyte")  # an uncompressed file, same check
    with pytest.raises(MnistFormatError, match=r"t10k-labels-idx1-ubyte: has trailing bytes"):
        load_mnist(tmp_path, validation_size=5)


def test_too_short_for_a_header(tmp_path: Path) -> None:
    write_set(tmp_path)
    (tmp_path / FILES["test_images"]).write_bytes(b"\0\0\x08")
    with pytest.raises(MnistFormatError, match=r"3 bytes is too short for an IDX header"):
        load_mnist(tmp_path, validation_size=5)


def test_broken_gzip(tmp_path: Path) -> None:
    write_set(tmp_path)
    path = tmp_path / FILES["train_images"]
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(MnistFormatError, match=r"train-images-idx3-ubyte.gz: broken gzip data"):
        load_mnist(tmp_path, validation_size=5)


def test_wrong_image_size(tmp_path: Path) -> None:
    write_set(tmp_path, test_images=np.zeros((10, 32, 32), np.uint8))
    with pytest.raises(
        MnistFormatError, match=r"expected images of 28x28 pixels, found .*10x32x32"
    ):
        load_mnist(tmp_path, validation_size=5)


def test_count_mismatch(tmp_path: Path) -> None:
    write_set(tmp_path, train_labels=np.zeros(19, np.uint8))
    with pytest.raises(
        MnistFormatError,
        match=r"train-images-idx3-ubyte.gz holds 20 images but .*train-labels-idx1-ubyte.gz "
        r"holds 19 labels",
    ):
        load_mnist(tmp_path, validation_size=5)


def test_label_out_of_range(tmp_path: Path) -> None:
    write_set(tmp_path, test_labels=np.full(10, 12, np.uint8))
    with pytest.raises(MnistFormatError, match=r"t10k-labels.*labels must be 0..9, found 12"):
        load_mnist(tmp_path, validation_size=5)


# --- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [601, -1])
def test_validation_size_out_of_range(size: int) -> None:
    with pytest.raises(ValueError, match=rf"validation_size must be in \[0, 600\] .*: got {size}"):
        load_mnist(FIXTURE, validation_size=size)


def test_validation_size_type_and_dtype() -> None:
    with pytest.raises(TypeError, match="validation_size must be an int"):
        load_mnist(FIXTURE, validation_size=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dtype must be a floating-point type: got uint8"):
        load_mnist(FIXTURE, dtype="uint8")


def test_write_idx_round_trip(tmp_path: Path) -> None:
    array = RNG.integers(0, 256, (3, 4, 5), dtype=np.uint8)
    for name in ("a-idx3-ubyte", "a-idx3-ubyte.gz"):
        np.testing.assert_array_equal(read_idx(write_idx(tmp_path / name, array), ndim=3), array)
    with pytest.raises(ValueError, match="uint8 arrays only: got int64"):
        write_idx(tmp_path / "b", np.zeros(3, np.int64))
