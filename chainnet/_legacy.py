"""Legacy Keras (Keras 2: ``tf_keras``, ``TF_USE_LEGACY_KERAS=1``) is refused clearly.

chainnet builds on Keras 3 (``import keras``). Two things can bring Keras 2 near it:

* ``TF_USE_LEGACY_KERAS=1`` makes ``tf.keras`` the Keras 2 package ``tf_keras``. chainnet
  itself still uses Keras 3, so this alone breaks nothing: importing chainnet warns once
  (:class:`LegacyKerasWarning`), because ``tf.keras`` objects in the user's code will not mix.
* A ``tf_keras`` object (a ``tf.keras.Input`` tensor, layer or model) reaching chainnet is an
  error at once (:class:`~chainnet.ChainTypeError`), never a half-built mixed graph.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import keras

from chainnet._errors import ChainTypeError

__all__ = [
    "LEGACY_ENV",
    "LegacyKerasWarning",
    "check_keras_version",
    "is_legacy_keras",
    "legacy_env_set",
    "reject_legacy_keras",
    "warn_if_legacy_env",
]

LEGACY_ENV = "TF_USE_LEGACY_KERAS"
# TensorFlow's own test (tensorflow/python/util/lazy_loader.py) for the variable
_TRUE = ("true", "True", "1")
_HOW_TO_SWITCH = (
    "chainnet needs Keras 3: use `import keras` (keras.Input, keras.layers, keras.Model) "
    f"instead of `tf.keras`, and unset {LEGACY_ENV} (or set it to 0) before TensorFlow is "
    "imported, so that `tf.keras` is Keras 3 too. See docs/support.md, 'Legacy Keras'."
)


class LegacyKerasWarning(UserWarning):
    """``TF_USE_LEGACY_KERAS`` is set: ``tf.keras`` is Keras 2, which chainnet does not take."""

    __module__ = "chainnet"


def legacy_env_set() -> bool:
    """Whether ``TF_USE_LEGACY_KERAS`` is set the way TensorFlow reads it (1, true, True)."""
    return os.environ.get(LEGACY_ENV) in _TRUE


def warn_if_legacy_env() -> None:
    """One :class:`LegacyKerasWarning` (at import) when ``TF_USE_LEGACY_KERAS`` is set."""
    if legacy_env_set():
        warnings.warn(
            f"{LEGACY_ENV}={os.environ[LEGACY_ENV]} makes tf.keras the legacy Keras 2 "
            "(tf_keras); chainnet still builds with Keras 3, and refuses tf.keras objects. "
            + _HOW_TO_SWITCH,
            LegacyKerasWarning,
            stacklevel=3,
        )


def check_keras_version(version: str) -> None:
    """An ``ImportError`` when the installed ``keras`` is not Keras 3 or newer."""
    major = version.split(".", 1)[0]
    if not major.isdigit() or int(major) < 3:
        raise ImportError(
            f"chainnet needs Keras 3 or newer; the installed keras is {version}. "
            'Install it with `python -m pip install "keras>=3"`.'
        )


def is_legacy_keras(value: Any) -> bool:
    """Whether ``value`` is a legacy Keras (``tf_keras``) object: its class comes from it."""
    modules = (str(getattr(cls, "__module__", "")) for cls in type(value).__mro__)
    return any(module == "tf_keras" or module.startswith("tf_keras.") for module in modules)


def reject_legacy_keras(value: Any, where: str) -> None:
    """A :class:`~chainnet.ChainTypeError` when ``value`` (or an item of a list/tuple/dict of
    them) is a legacy Keras object; ``where`` names the call (``"wrap()"``)."""
    items = value.values() if isinstance(value, dict) else value
    for item in items if isinstance(value, (list, tuple, dict)) else (value,):
        if is_legacy_keras(item):
            cls = type(item)
            raise ChainTypeError(
                f"{where}: got a legacy Keras 2 object ({cls.__module__}.{cls.__qualname__}), "
                f"from tf_keras or tf.keras with {LEGACY_ENV}=1. " + _HOW_TO_SWITCH
            )


check_keras_version(keras.__version__)  # at import: before any other module meets keras 2
