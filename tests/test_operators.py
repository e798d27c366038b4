"""The operator table: ``x + y``, ``2 * x``, ``1 - x``, ``x / 2``, ``2 / x``, ``-x`` and
``x[...]`` mean the same on chains, sequential builders and recording templates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chain_helpers import uniform

import chainnet as cn
import chainnet._naming
import chainnet.methods.shape

RNG = np.random.default_rng(0)
HERE = Path(__file__).resolve().parent


# =========================================================================================
# Operators on chains, sequential builders and templates
# =========================================================================================
OPS: list[tuple[str, Callable[[Any], Any]]] = [
    ("2 * x", lambda x: 2 * x),
    ("x * 2", lambda x: x * 2),
    ("-x", lambda x: -x),
    ("1 - x", lambda x: 1 - x),
    ("x - 1", lambda x: x - 1),
    ("x / 2", lambda x: x / 2),
    ("2 / x", lambda x: 2 / x),
    ("1 + x", lambda x: 1 + x),
    ("np + x", lambda x: np.full(3, 0.5, "float32") + x),
]


@pytest.mark.parametrize(("text", "op"), OPS, ids=[t for t, _ in OPS])
def test_operators_on_chains(text: str, op: Callable[[Any], Any]) -> None:
    data = uniform(2, 3, seed=40) + 3.0  # no zeros for 2 / x
    got = op(cn.wrap(data))
    assert isinstance(got, cn.Chain), text
    np.testing.assert_allclose(got.numpy(), op(data), rtol=1e-6)
    # symbolic too
    x = cn.input((3,))
    np.testing.assert_allclose(cn.model(op(x))(data), op(data), rtol=1e-6)


@pytest.mark.parametrize(("text", "op"), OPS, ids=[t for t, _ in OPS])
def test_operators_on_sequential_builders_move_the_head(
    text: str, op: Callable[[Any], Any]
) -> None:
    data = uniform(2, 3, seed=41) + 3.0
    seq = cn.wrap(data).sequential()
    start = seq.as_chain()
    result = op(seq)
    assert result is seq, text
    assert seq.as_chain() is not start
    np.testing.assert_allclose(seq.as_chain().numpy(), op(data), rtol=1e-6)


@pytest.mark.parametrize(("text", "op"), OPS, ids=[t for t, _ in OPS])
def test_operators_on_recording_templates(text: str, op: Callable[[Any], Any]) -> None:
    data = uniform(2, 4, seed=42)
    tmpl = op(cn.template(name="t").fully_connected(3))
    assert isinstance(tmpl, cn.Template), text
    out = tmpl(cn.wrap(data))
    w = tmpl.get_weights("fully_connected")
    dense = data @ w["kernel"] + w["bias"]
    np.testing.assert_allclose(out.numpy(), op(dense), rtol=1e-5, atol=1e-6)


def test_negated_template_on_a_symbolic_chain() -> None:
    tmpl = -cn.template(name="neg").fully_connected(3)
    x = cn.input((4,))
    y = tmpl(x)
    w = tmpl.get_weights("fully_connected")
    data = uniform(3, 4, seed=43)
    np.testing.assert_allclose(
        y.model()(data), -(data @ w["kernel"] + w["bias"]), rtol=1e-5, atol=1e-6
    )


def test_sequential_builder_with_a_separately_started_chain() -> None:
    a_np, b_np = uniform(2, 3, seed=44), uniform(2, 3, seed=45)
    seq = cn.wrap(a_np).sequential()
    other = cn.wrap(b_np)
    seq2 = seq + other
    assert seq2 is seq
    np.testing.assert_allclose(seq.as_chain().numpy(), a_np + b_np, rtol=1e-6)
    assert other.name == "input_1" and other.network is seq.network
