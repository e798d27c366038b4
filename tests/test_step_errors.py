"""Whose mistake an error is (a user mistake is a ChainError naming the step; chainnet's own
bug propagates as itself with the step as a note), registration that cannot break chains,
and names no method may take."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from chain_helpers import node_names

import chainnet as cn
import chainnet._naming
import chainnet.methods.shape
from chainnet._errors import add_note
from chainnet._specs import METHODS

RNG = np.random.default_rng(0)
HERE = Path(__file__).resolve().parent


# =========================================================================================
# Errors: user mistakes, wrong types, chainnet's own bugs
# =========================================================================================
@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names a test registers (or tries to); removed afterwards: the registry is global."""
    names: list[str] = []
    specs_before = set(METHODS.names())
    attributes_before = set(vars(cn.Chain))
    yield names
    for name in names:
        if name in vars(cn.Chain) and name not in attributes_before:
            delattr(cn.Chain, name)
        if name not in specs_before and name in METHODS:
            METHODS.remove(name)


def test_a_users_function_raising_is_a_chain_error(registered: list[str]) -> None:
    def core_v2_boom(chain: Any, *, name: str | None = None) -> Any:
        raise RuntimeError("user code failed")

    registered.append("core_v2_boom")
    cn.register(core_v2_boom)
    x = cn.input((4,))
    with pytest.raises(cn.ChainError, match=r"core_v2_boom.*RuntimeError.*user code failed"):
        x.core_v2_boom()
    assert node_names(x) == ["input"]


def test_chainnets_own_error_propagates_as_itself_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # reshape() calls parse_reshape_spec; replaced by a chainnet function that fails inside
    # chainnet (has_automatic_name reads ``.name`` of the list it is given)
    monkeypatch.setattr(
        chainnet.methods.shape, "parse_reshape_spec", chainnet._naming.has_automatic_name
    )
    x = cn.input((4,))
    with pytest.raises(AttributeError) as caught:
        x.reshape([-1, 2, 2])
    assert not isinstance(caught.value, cn.ChainError)
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert "reshape" in notes
    assert node_names(x) == ["input"]


def test_own_error_through_a_partial_of_a_chainnet_function(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the innermost frame decides: a partial of a chainnet function that fails inside chainnet
    # (a KeyError from a network lookup) is chainnet's own error, reported as itself
    lookup = functools.partial(cn.input((1,), name="other").network.layer, "no_such_layer")
    monkeypatch.setattr(chainnet.methods.shape, "parse_reshape_spec", lambda spec: lookup())
    x = cn.input((4,))
    with pytest.raises(KeyError) as caught:
        x.reshape([-1, 2, 2])
    assert not isinstance(caught.value, cn.ChainError)
    assert any("reshape" in note for note in getattr(caught.value, "__notes__", []))
    assert node_names(x) == ["input"]


def test_an_attribute_error_in_the_users_own_code_is_a_chain_error(
    registered: list[str],
) -> None:
    def core_v2_attr(chain: Any, *, name: str | None = None) -> Any:
        return None.missing  # type: ignore[attr-defined]

    registered.append("core_v2_attr")
    cn.register(core_v2_attr)
    x = cn.input((4,))
    with pytest.raises(cn.ChainError, match=r"core_v2_attr.*AttributeError"):
        x.core_v2_attr()
    assert node_names(x) == ["input"]


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda x: x.apply_layer(42), id="apply_layer"),
        pytest.param(lambda x: x.apply_template("tower"), id="apply_template"),
        pytest.param(lambda x: x.apply(42), id="apply"),
        pytest.param(lambda x: cn.model(42), id="model"),
        pytest.param(lambda x: cn.wrap(object()), id="wrap"),
    ],
)
def test_wrong_types_are_chain_type_errors(call: Callable[[Any], Any]) -> None:
    x = cn.input((4,))
    with pytest.raises(TypeError) as caught:
        call(x)
    assert isinstance(caught.value, cn.ChainError)
    assert node_names(x) == ["input"]


# =========================================================================================
# Registration
# =========================================================================================
@pytest.mark.parametrize(
    "name", ["shape", "network", "tensor", "name", "layer", "layers", "as_chain", "build"]
)
def test_register_refuses_attribute_names_even_with_overwrite(
    name: str, registered: list[str]
) -> None:
    def method(chain: Any) -> Any:
        return keras.layers.Identity()

    registered.append(name)
    with pytest.raises(cn.ChainError, match=name):
        cn.register(method, name=name, overwrite=True)
    # every chain, builder and template still works
    x = cn.input((4,), name="x")
    y = x.fully_connected(3)
    assert (y.shape, y.name, y.network is x.network) == ((None, 3), "fully_connected", True)
    assert y.tensor is not None and y.layer is not None and len(y.layers) == 1
    seq = x.sequential()
    assert seq.relu().as_chain().name == "relu"
    tmpl = cn.template().fully_connected(2).build((4,))
    assert tmpl.built
    assert cn.wrap(np.ones((1, 4), "float32")).fully_connected(2).shape == (1, 2)


def test_register_refuses_a_non_callable_with_a_clear_type_error() -> None:
    with pytest.raises(TypeError, match=r"(?i)callable|function") as caught:
        cn.register(42)  # type: ignore[arg-type]
    assert isinstance(caught.value, cn.ChainError)
    assert "42" in str(caught.value) or "int" in str(caught.value)
    with pytest.raises(TypeError):
        cn.register(name="core_v2_thing")(42)
    assert "core_v2_thing" not in METHODS


def test_a_wrong_keyword_is_a_chain_type_error() -> None:
    with pytest.raises(cn.ChainTypeError, match=r"conv2d\(\) on chain 'input': .*stride_size"):
        cn.input((8, 8, 3)).conv2d(3, 4, stride_size=2)


def test_notes_are_kept_where_python_has_no_add_note() -> None:
    """Python 3.10 has no BaseException.add_note: the note goes to PEP 678's ``__notes__``."""

    class Python310Error(Exception):
        add_note = None  # as on 3.10, where the attribute does not exist

    error = Python310Error("boom")
    add_note(error, "in reshape()")
    add_note(error, "second")
    assert error.__notes__ == ["in reshape()", "second"]
