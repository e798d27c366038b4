"""Defaults scopes: cn.defaults(...) like PrettyTensor's defaults_scope / TF-Slim's arg_scope."""

from __future__ import annotations

import asyncio
import threading

import keras
import pytest

import chainnet as cn


def _activation(chain: cn.Chain) -> str | None:
    fn = chain.layer.activation
    return None if fn is None else fn.__name__


def test_global_keys_apply_to_every_method_that_has_them() -> None:
    with cn.defaults(activation="relu", padding="valid", use_bias=False):
        y = cn.input((6, 6, 1)).conv2d(3, 2)
        pooled = y.max_pool(2)
        fc = pooled.flatten().fully_connected(3)
    assert _activation(y) == "relu" and y.layer.padding == "valid" and not y.layer.use_bias
    assert y.shape == (None, 4, 4, 2)
    assert pooled.layer.padding == "valid"
    assert _activation(fc) == "relu" and not fc.layer.use_bias


def test_outside_a_scope_the_method_defaults_apply() -> None:
    with cn.defaults(activation="relu"):
        pass
    y = cn.input((4,)).fully_connected(2)
    assert _activation(y) == "linear"
    assert cn.current_defaults().for_method("fully_connected") == {}


def test_nested_scopes_merge_and_the_innermost_wins() -> None:
    with cn.defaults(activation="relu", padding="valid"):
        with cn.defaults(activation="tanh"):
            inner = cn.input((5, 5, 1)).conv2d(3, 2)
            assert cn.current_defaults().globals == {"activation": "tanh", "padding": "valid"}
        outer = cn.input((5, 5, 1)).conv2d(3, 2)
    assert _activation(inner) == "tanh" and inner.layer.padding == "valid"
    assert _activation(outer) == "relu" and outer.layer.padding == "valid"


def test_an_explicit_argument_wins_even_none() -> None:
    with cn.defaults(activation="relu", l2loss=0.1):
        explicit = cn.input((4,)).fully_connected(2, activation="sigmoid")
        none = cn.input((4,)).fully_connected(2, activation=None, l2loss=None)
        scoped = cn.input((4,)).fully_connected(2)
    assert _activation(explicit) == "sigmoid"
    assert _activation(none) == "linear" and none.layer.kernel_regularizer is None
    assert _activation(scoped) == "relu"
    assert isinstance(scoped.layer.kernel_regularizer, keras.regularizers.L2)


def test_positional_arguments_also_win_over_defaults() -> None:
    with cn.defaults(max_pool={"stride": 1}):
        y = cn.input((4, 4, 1)).max_pool(2, 2)
        z = cn.input((4, 4, 1)).max_pool(2)
    assert y.shape == (None, 2, 2, 1)
    assert z.shape == (None, 4, 4, 1)


def test_per_method_defaults_apply_only_to_that_method() -> None:
    with cn.defaults(conv2d={"padding": "valid"}):
        conv = cn.input((5, 5, 1)).conv2d(3, 2)
        deconv = cn.input((5, 5, 1)).deconv2d(3, 2)
        pool = cn.input((5, 5, 1)).max_pool(2)
    assert conv.layer.padding == "valid" and conv.shape == (None, 3, 3, 2)
    assert deconv.layer.padding == "same" and pool.layer.padding == "same"


def test_per_method_defaults_win_over_global_ones_in_any_order() -> None:
    with cn.defaults(conv2d={"activation": "tanh"}), cn.defaults(activation="relu"):
        conv = cn.input((3, 3, 1)).conv2d(1, 1)
        fc = cn.input((3,)).fully_connected(1)
    assert _activation(conv) == "tanh" and _activation(fc) == "relu"
    with cn.defaults(conv2d={"activation": "tanh"}), cn.defaults(conv2d={"padding": "valid"}):
        both = cn.input((3, 3, 1)).conv2d(3, 1)
    assert _activation(both) == "tanh" and both.shape == (None, 1, 1, 1)


def test_batch_normalize_and_l2loss_defaults() -> None:
    with cn.defaults(batch_normalize=True, activation="relu"):
        y = cn.input((4, 4, 1)).conv2d(3, 2, name="c")
    assert [layer.name for layer in y.layers] == ["c", "c_bn", "c_activation"]


def test_unknown_key_lists_the_valid_keys() -> None:
    with pytest.raises(cn.ChainError) as caught, cn.defaults(colour="red"):
        pass  # pragma: no cover
    text = str(caught.value)
    assert "'colour'" in text and "Valid keys:" in text
    for key in ("activation", "padding", "strides", "kernel_initializer", "l2loss"):
        assert key in text


def test_misspelled_key_names_the_closest_match() -> None:
    pattern = r"unknown key 'activaton'\. Did you mean 'activation'\?.*Valid keys: .*activation"
    with pytest.raises(cn.ChainError, match=pattern), cn.defaults(activaton="relu"):
        pass  # pragma: no cover


def test_unknown_per_method_key() -> None:
    with pytest.raises(cn.ChainError) as caught, cn.defaults(conv2d={"paddng": "valid"}):
        pass  # pragma: no cover
    text = str(caught.value)
    assert "'paddng' for method 'conv2d'" in text and "Did you mean 'padding'?" in text
    valid = text.split("Valid keys:")[1]
    assert "padding" in valid and "keep_prob" not in valid  # conv2d's keys only


def test_name_is_not_a_default_key() -> None:
    with pytest.raises(cn.ChainError, match="unknown key 'name'"), cn.defaults(name="x"):
        pass  # pragma: no cover


def test_a_key_of_another_method_applies_only_where_it_exists() -> None:
    with cn.defaults(keep_prob=0.5):
        y = cn.input((4,)).dropout()
        z = cn.input((4,)).fully_connected(2)
    assert y.layer.rate == pytest.approx(0.5)
    assert z.shape == (None, 2)


def test_registered_methods_take_part_in_defaults() -> None:
    @cn.register(name="scaled_dense_for_defaults")
    def scaled(chain: cn.Chain, units: int, *, dense_scale: float = 1.0, name=None):
        return keras.layers.Dense(
            units, kernel_initializer=keras.initializers.Constant(dense_scale), name=name
        )

    with cn.defaults(dense_scale=3.0):
        y = cn.input((2,)).scaled_dense_for_defaults(1)
    assert float(y.get_weights()["kernel"][0, 0]) == 3.0
    assert float(cn.input((2,)).scaled_dense_for_defaults(1).get_weights()["kernel"][0, 0]) == 1.0


def test_scope_exit_restores_the_outer_scope_after_an_exception() -> None:
    with cn.defaults(activation="relu"):
        with pytest.raises(RuntimeError), cn.defaults(activation="tanh", padding="valid"):
            raise RuntimeError("boom")
        assert cn.current_defaults().globals == {"activation": "relu"}
        assert _activation(cn.input((3,)).fully_connected(1)) == "relu"
    assert dict(cn.current_defaults().globals) == {}


def test_a_failing_scope_leaves_nothing_open() -> None:
    with pytest.raises(cn.ChainError), cn.defaults(activation="relu", bogus=1):
        pass  # pragma: no cover
    assert dict(cn.current_defaults().globals) == {}


def test_scope_yields_the_merged_scope_and_it_is_immutable() -> None:
    with cn.defaults(activation="relu") as outer, cn.defaults(conv2d={"padding": "valid"}) as inner:
        assert isinstance(inner, cn.DefaultsScope)
        assert inner.for_method("conv2d") == {"activation": "relu", "padding": "valid"}
        assert outer.for_method("conv2d") == {"activation": "relu"}
        with pytest.raises(TypeError):
            inner.globals["activation"] = "tanh"  # type: ignore[index]


def test_scopes_are_isolated_per_thread() -> None:
    barrier = threading.Barrier(2, timeout=30)
    results: dict[str, str | None] = {}
    errors: list[Exception] = []

    def work(label: str, activation: str) -> None:
        try:
            with cn.defaults(activation=activation):
                barrier.wait()  # both scopes are open now
                y = cn.input((3,)).fully_connected(2)
                barrier.wait()  # both chains are built
                results[label] = _activation(y)
            results[label + "-after"] = cn.current_defaults().globals.get("activation")
        except Exception as err:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(err)

    threads = [
        threading.Thread(target=work, args=("a", "relu")),
        threading.Thread(target=work, args=("b", "tanh")),
    ]
    with cn.defaults(activation="sigmoid"):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert cn.current_defaults().globals == {"activation": "sigmoid"}
    assert not errors, errors
    assert results == {"a": "relu", "b": "tanh", "a-after": None, "b-after": None}


def test_scopes_are_isolated_per_asyncio_task() -> None:
    seen: list[tuple[str, str | None]] = []

    async def work(label: str, activation: str) -> None:
        with cn.defaults(activation=activation):
            for _ in range(3):
                await asyncio.sleep(0)  # let the other task run inside its own scope
                y = cn.input((3,)).fully_connected(2)
                seen.append((label, _activation(y)))

    async def main() -> None:
        await asyncio.gather(work("a", "relu"), work("b", "tanh"))

    asyncio.run(main())
    assert sorted(seen) == [("a", "relu")] * 3 + [("b", "tanh")] * 3
    labels = [label for label, _ in seen]
    assert labels != sorted(labels)  # the tasks really interleaved


def test_explicit_dropout_rate_wins_over_a_scoped_keep_prob() -> None:
    with cn.defaults(keep_prob=0.5):
        y = cn.input((4,)).dropout(rate=0.25)
    assert y.layer.rate == pytest.approx(0.25)


def test_the_docs_show_the_declared_keys() -> None:
    """docs/defaults.md shows the table generated from the declarations, as it is now."""
    from pathlib import Path

    from chainnet._defaults import defaults_table

    text = (Path(__file__).resolve().parents[1] / "docs" / "defaults.md").read_text()
    shown = text.split("<!-- defaults-table -->\n", 1)[1].split("\n<!-- /defaults-table -->")[0]
    assert shown == defaults_table(), "regenerate the table:\n" + defaults_table()
