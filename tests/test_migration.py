"""docs/migration.md's table of PrettyTensor's methods lists exactly PrettyTensor's 82 API
methods, and each is a chain method (or attribute) of the same name, or says what to write
instead."""

from __future__ import annotations

import re
from pathlib import Path

import chainnet as cn
from chainnet._sequential import SequentialBuilder
from chainnet._specs import METHODS

DOC = Path(__file__).resolve().parents[1] / "docs" / "migration.md"

#: The methods of PrettyTensor's API reference, google/prettytensor docs/PrettyTensor.md
#: (its ``## <a name=...>`` entries), in its order.
PRETTYTENSOR_METHODS = [
    "abs",
    "add_loss",
    "apply",
    "apply_with_summary",
    "as_layer",
    "attach_template",
    "average_pool",
    "batch_normalize",
    "bilinear_sampling",
    "binary_cross_entropy_with_logits",
    "cleave_sequence",
    "concat",
    "conv2d",
    "cross_entropy",
    "depthwise_conv2d",
    "diagonal_matrix_mul",
    "dropout",
    "embedding_lookup",
    "eval",
    "evaluate_classifier",
    "evaluate_classifier_fraction",
    "evaluate_classifier_fraction_sparse",
    "evaluate_classifier_sparse",
    "evaluate_precision_recall",
    "flatten",
    "fully_connected",
    "get_shape",
    "gru_cell",
    "is_sequence",
    "is_sequential_builder",
    "join",
    "l1_normalize",
    "l1_regression",
    "l2_normalize",
    "l2_regression",
    "leaky_relu",
    "log",
    "lstm_cell",
    "map",
    "max_pool",
    "reduce_all",
    "reduce_any",
    "reduce_join",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_prod",
    "reduce_sum",
    "relu",
    "relu6",
    "reshape",
    "sequence_gru",
    "sequence_lstm",
    "sigmoid",
    "slice",
    "softmax",
    "softmax_activation",
    "softmax_classifier",
    "softmax_classifier_with_sampled_loss",
    "softplus",
    "softsign",
    "sparse_cross_entropy",
    "split",
    "sqrt",
    "square",
    "squash_sequence",
    "squeeze",
    "stack",
    "stop_gradient",
    "tanh",
    "tensor_shape",
    "to_dense_one_hot",
    "to_double",
    "to_float",
    "to_int32",
    "to_int64",
    "unstack",
    "unzip",
    "with_defaults",
    "with_name",
    "with_sequence",
    "with_tensor",
]

SAME = "same name"


def _rows() -> dict[str, tuple[str, str]]:
    text = DOC.read_text()
    block = text.split("<!-- prettytensor-methods -->")[1].split("<!-- /prettytensor-methods -->")[
        0
    ]
    rows: dict[str, tuple[str, str]] = {}
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 3, f"a row of three cells expected: {line!r}"
        match = re.fullmatch(r"`(\w+)`", cells[0])
        assert match, f"the first cell names a method in backticks: {line!r}"
        assert match.group(1) not in rows, f"{match.group(1)} is listed twice"
        rows[match.group(1)] = (cells[1], cells[2])
    return rows


def _is_chain_method(name: str) -> bool:
    return name in METHODS or callable(getattr(cn.Chain, name, None))


def test_prettytensor_method_list_is_its_82_methods() -> None:
    assert len(PRETTYTENSOR_METHODS) == 82
    assert len(set(PRETTYTENSOR_METHODS)) == 82


def test_migration_table_lists_exactly_prettytensors_methods_in_order() -> None:
    assert list(_rows()) == PRETTYTENSOR_METHODS


def test_each_prettytensor_method_is_a_chain_method_or_says_what_to_write() -> None:
    problems = []
    for name, (here, difference) in _rows().items():
        if not difference:
            problems.append(f"{name}: no difference column (write '—' for none)")
        if here == SAME and not _is_chain_method(name):
            problems.append(f"{name}: the table says {SAME!r} but chains have no such method")
        if here != SAME:
            if _is_chain_method(name):
                problems.append(f"{name}: chains have the method now; the row must say {SAME!r}")
            if not here.startswith("instead: `") or len(here) < 20:
                problems.append(
                    f"{name}: say what to write instead ('instead: `...`'), got {here!r}"
                )
    assert not problems, "\n".join(problems)


def test_sequential_builders_answer_the_builder_questions() -> None:
    x = cn.input((4,))
    seq = x.sequential().fully_connected(3)
    assert seq.is_sequential_builder() and not x.is_sequential_builder()
    assert isinstance(seq, SequentialBuilder)
    assert seq.as_layer() is seq.as_chain() and x.as_layer() is x
    assert x.get_shape() == (None, 4)
