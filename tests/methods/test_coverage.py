"""Every built-in method of the core mixins has at least one row in a harness table."""

from __future__ import annotations

from harness import MethodCase, apply_step

import chainnet as cn
from chainnet._registry import METHODS
from chainnet.methods import (
    ActivationMethods,
    ArithmeticMethods,
    ConvMethods,
    DenseMethods,
    GenericMethods,
    NormalizationMethods,
    PoolingMethods,
    ShapeMethods,
)

from . import (
    test_activation,
    test_arithmetic,
    test_conv,
    test_dense,
    test_generic,
    test_normalization,
    test_pooling,
    test_shape,
)

CORE_MIXINS = (
    ActivationMethods,
    ArithmeticMethods,
    ConvMethods,
    DenseMethods,
    GenericMethods,
    NormalizationMethods,
    PoolingMethods,
    ShapeMethods,
)
TABLES = (
    test_activation,
    test_arithmetic,
    test_conv,
    test_dense,
    test_generic,
    test_normalization,
    test_pooling,
    test_shape,
)


def _methods_exercised(case: MethodCase) -> set[str]:
    """The methods a case's step really calls (read from the network it builds)."""
    options = case.options
    x = cn.input(options["input_shape"], dtype=options.get("input_dtype", "float32"))
    chain = apply_step(x, case.method, case.args, case.kwargs)
    return {node.method for node in chain.network.nodes} - {"input"}


def test_every_core_method_has_a_harness_case() -> None:
    core = {name for mixin in CORE_MIXINS for name in vars(mixin) if name in METHODS}
    assert len(core) >= 45  # the table below is not vacuous
    covered: set[str] = set()
    for table in TABLES:
        for case in table.CASES:
            covered |= _methods_exercised(case)
    assert sorted(core - covered) == []
