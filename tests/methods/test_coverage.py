"""Every built-in method has at least one row in a harness table, every row id is unique, and
every exemption or known bug the harness declares names a row, a check and a reason."""

from __future__ import annotations

from collections import defaultdict
from types import ModuleType

from composition import test_recurrent
from harness import CHECKS, EXEMPTIONS, KNOWN_BUGS, MethodCase

from chainnet._registry import METHODS

from . import (
    test_activation,
    test_arithmetic,
    test_attention,
    test_conv,
    test_dense,
    test_generic,
    test_heads,
    test_merge,
    test_normalization,
    test_pooling,
    test_shape,
    test_templates,
    test_tensor_ops,
)

TABLES: tuple[ModuleType, ...] = (
    test_activation,
    test_arithmetic,
    test_attention,
    test_conv,
    test_dense,
    test_generic,
    test_heads,
    test_merge,
    test_normalization,
    test_pooling,
    test_shape,
    test_templates,
    test_tensor_ops,
    test_recurrent,
)


def all_cases() -> list[MethodCase]:
    """Every row of every harness table."""
    return [case for table in TABLES for case in table.CASES]


def rows_by_method() -> dict[str, list[MethodCase]]:
    """The rows of each method, by the methods their outputs come from (a row that calls
    ``relu`` on the way to ``add`` is a row of ``add`` only)."""
    rows: dict[str, list[MethodCase]] = defaultdict(list)
    for case in all_cases():
        if isinstance(case.method, str):
            rows[case.method].append(case)
            continue
        try:
            methods = case.methods_under_test
        except Exception:  # noqa: BLE001 - the row's own test reports why it does not build
            continue
        for method in methods:
            rows[method].append(case)
    return rows


def test_every_builtin_method_has_a_harness_row() -> None:
    builtin = {spec.name for spec in METHODS if spec.builtin}
    assert len(builtin) >= 62  # the table below is not vacuous
    missing = sorted(builtin - set(rows_by_method()))
    assert not missing, f"built-in methods without a harness row: {missing}"


def test_row_ids_are_unique_across_tables() -> None:
    ids = [case.id for case in all_cases()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"row ids used twice (exemptions are keyed by id): {duplicates}"


def test_exemptions_and_known_bugs_name_rows_checks_and_reasons() -> None:
    ids = {case.id for case in all_cases()}
    problems = []
    for kind, table in (("EXEMPTIONS", EXEMPTIONS), ("KNOWN_BUGS", KNOWN_BUGS)):
        for row, checks in table.items():
            if row not in ids:
                problems.append(f"{kind}[{row!r}]: no harness row has that id")
            if not checks:
                problems.append(f"{kind}[{row!r}]: no check named")
            for check, reason in checks.items():
                if check not in CHECKS:
                    problems.append(f"{kind}[{row!r}]: unknown check {check!r}")
                if not isinstance(reason, str) or len(reason.strip()) < 10:
                    problems.append(f"{kind}[{row!r}][{check!r}]: no reason given ({reason!r})")
    both = {
        (row, check)
        for row, checks in EXEMPTIONS.items()
        for check in checks
        if check in KNOWN_BUGS.get(row, {})
    }
    problems += [f"{row!r}: {check} is both exempt and a known bug" for row, check in both]
    assert not problems, "\n".join(problems)
