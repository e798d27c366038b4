"""Inside a step that is a Keras model (``apply_layer(model)``, a template): inner layers by
path, taps at any depth, and the rewiring that lets a saved model hold them.

A path is the step's name, then the names of layers inside it, separated by ``/``
(``"backbone/block_3_expand_relu"``, deeper for models nested in models: ``"a/b/c"``). Only
models with an inner graph have inner paths: functional models and ``keras.Sequential``. A
subclassed model computes its output in Python, so it has no inner output to reach.

A *tap* is a copy of a model with extra outputs, the outputs of inner layers, built from the
same layer objects (so it shares every weight). In a network under construction a cut is a
tap called on the step's input. Keras cannot save a model whose nested models share layers,
so :func:`rewire` rebuilds a finished model where every model step and every tap of it is
called once, as one tap with all the outputs needed.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import keras

from chainnet._errors import ChainError, did_you_mean

__all__ = [
    "find_inner",
    "has_graph",
    "inner_layers",
    "inner_variables",
    "make_tap",
    "rewire",
    "tap_source",
]


def has_graph(layer: Any) -> bool:
    """Whether ``layer`` is a model with an inner graph (functional or Sequential)."""
    if not isinstance(layer, keras.Model):
        return False
    if isinstance(layer, keras.Sequential):
        return True
    return bool(getattr(layer, "inputs", None)) and bool(getattr(layer, "outputs", None))


def _require_graph(model: keras.Model, path: str, where: str) -> None:
    if not has_graph(model):
        raise ChainError(
            f"{where}: {path!r} is inside model {model.name!r} "
            f"({type(model).__name__}), which has no inner graph: a subclassed keras.Model "
            "computes its output in Python code. Paths, cuts and taps reach inside functional "
            "models and keras.Sequential only; rebuild the model with the functional API, or "
            "use the model's own output."
        )


def _children(model: keras.Model) -> list[keras.layers.Layer]:
    return [x for x in model.layers if not isinstance(x, keras.layers.InputLayer)]


def find_inner(model: keras.Model, parts: Sequence[str], path: str, where: str) -> Any:
    """The layer at ``parts`` inside ``model`` (``path`` is the full path, for messages)."""
    layer: Any = model
    for depth, part in enumerate(parts):
        _require_graph(layer, path, where)
        names = {x.name: x for x in _children(layer)}
        if part not in names:
            prefix = "/".join(path.split("/")[: len(path.split("/")) - len(parts) + depth])
            hint = did_you_mean(part, names)
            listed = list(names)
            shown = listed if len(listed) <= 12 else [*listed[:12], f"... {len(listed)} in all"]
            raise KeyError(
                f"{where}: no layer {part!r} inside {prefix!r} (model {layer.name!r}).{hint} "
                f"Its layers: {shown}"
            )
        layer = names[part]
    return layer


def inner_layers(model: keras.Model, prefix: str) -> Iterator[tuple[str, keras.layers.Layer]]:
    """``(path, layer)`` of every layer inside ``model``, a nested model before its layers."""
    if not has_graph(model):
        return
    for layer in _children(model):
        path = f"{prefix}/{layer.name}"
        yield path, layer
        if isinstance(layer, keras.Model):
            yield from inner_layers(layer, path)


def own_variable_path(layer: keras.layers.Layer, var: keras.Variable) -> str:
    """``layer/var`` of a variable, relative to the layer that owns it."""
    parts = str(var.path).split("/")
    if layer.name in parts:  # Keras prefixes the scopes the layer was built in: drop them
        index = len(parts) - 1 - parts[::-1].index(layer.name)
        return "/".join(parts[index:])
    return f"{layer.name}/{parts[-1]}"


def inner_variables(model: keras.Model, prefix: str) -> dict[str, keras.Variable]:
    """Every variable inside ``model`` by path under ``prefix``: ``{"backbone/Conv1/kernel":
    ...}`` (relative to the model for an empty prefix); a model without an inner graph lists
    its variables by their own paths."""
    found: dict[str, keras.Variable] = {}
    lead = f"{prefix}/" if prefix else ""
    if not has_graph(model):
        for var in model.weights:
            found.setdefault(f"{lead}{var.path}", var)
        return found
    for layer in _children(model):
        if isinstance(layer, keras.Model):
            for path, var in inner_variables(layer, f"{lead}{layer.name}").items():
                found.setdefault(path, var)
            continue
        for var in layer.weights:
            found.setdefault(f"{lead}{own_variable_path(layer, var)}", var)
    return found


# ----------------------------------------------------------------------------- taps
# every tap made, weakly: tap model -> (the model it taps, the inner paths it adds)
_TAPS: weakref.WeakKeyDictionary[Any, tuple[keras.Model, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)


def tap_source(layer: Any) -> tuple[keras.Model, tuple[str, ...]] | None:
    """``(model, paths)`` if ``layer`` is a tap made by :func:`make_tap`."""
    try:
        return _TAPS.get(layer)
    except TypeError:  # pragma: no cover - a layer that takes no weak reference
        return None


def _outputs(model: keras.Model) -> list[Any]:
    return list(model.outputs)


def _structured(model: keras.Model, flat: Sequence[Any]) -> Any:
    """The outputs of ``model`` in the structure its call returns (one tensor or a list)."""
    count = len(_outputs(model))
    return flat[0] if count == 1 else list(flat[:count])


def make_tap(
    model: keras.Model, paths: Sequence[str], where: str, name: str | None = None
) -> keras.Model:
    """A model with ``model``'s inputs and outputs ``[*model.outputs, *inner outputs]`` for
    the inner ``paths`` (relative to ``model``), sharing ``model``'s layers.

    ``name`` is the tap's name: ``model``'s own where it replaces it (:func:`rewire`); else
    Keras chooses one, so that the tap and ``model`` can be in one graph."""
    for path in paths:
        find_inner(model, path.split("/"), path, where)  # checks every part, clear errors
    direct = [p for p in paths if "/" not in p]
    nested: dict[str, list[str]] = {}
    for p in paths:
        if "/" in p:
            head, rest = p.split("/", 1)
            nested.setdefault(head, []).append(rest)
    taps = {
        head: make_tap(model.get_layer(head), rests, where, head) for head, rests in nested.items()
    }
    captured: dict[str, Any] = {}

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if layer.name in taps:
            tap = taps[layer.name]
            flat = tap(*args, **kwargs)
            flat = flat if isinstance(flat, (list, tuple)) else [flat]
            count = len(_outputs(layer))
            for rest, tensor in zip(nested[layer.name], flat[count:]):
                captured[f"{layer.name}/{rest}"] = tensor
            result = _structured(layer, flat)
        else:
            result = layer(*args, **kwargs)
        if layer.name in direct:
            captured[layer.name] = result
        return result

    if isinstance(model, keras.Sequential):
        inputs = [keras.Input(batch_shape=t.shape, dtype=t.dtype) for t in model.inputs]
        x: Any = inputs[0]
        for layer in _children(model):
            x = call(layer, x)
        outputs = [x]
    else:
        clone = keras.models.clone_model(
            model, clone_function=lambda layer: layer, call_function=call
        )
        inputs, outputs = list(clone.inputs), list(clone.outputs)
    tap = keras.Model(
        inputs[0] if len(inputs) == 1 else inputs,
        [*outputs, *(captured[p] for p in paths)],
        name=name,
    )
    _TAPS[tap] = (model, tuple(paths))
    return tap


def rewire(model: keras.Model, where: str) -> keras.Model:
    """``model`` rebuilt so that each model step called with cuts of it is one tap.

    Keras saves a model whose nested models share layers but cannot load it. A network with
    cuts has them: the model step, and the taps that give the cuts. Here every call of a
    tapped model and of its taps on one input becomes one call of a single tap with every
    output needed. A model without taps is returned as it is.
    """
    used = {id(layer): layer for layer in model.layers}
    tapped: dict[int, list[str]] = {}  # id of a tapped model -> the inner paths needed
    for layer in used.values():
        source = tap_source(layer)
        if source is not None:
            paths = tapped.setdefault(id(source[0]), [])
            paths.extend(p for p in source[1] if p not in paths)
    if not tapped:
        return model
    combined: dict[int, keras.Model] = {}
    calls: dict[tuple[int, tuple[int, ...]], list[Any]] = {}

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        source = tap_source(layer)
        base = source[0] if source is not None else layer
        if id(base) not in tapped:
            return layer(*args, **kwargs)
        if id(base) not in combined:
            combined[id(base)] = make_tap(base, tapped[id(base)], where, base.name)
        inputs = keras.tree.flatten((args, kwargs))
        key = (id(base), tuple(id(t) for t in inputs))
        if key not in calls:
            flat = combined[id(base)](*args, **kwargs)
            calls[key] = list(flat) if isinstance(flat, (list, tuple)) else [flat]
        flat = calls[key]
        count = len(_outputs(base))
        if source is None:
            return _structured(base, flat)
        extra = dict(zip(tapped[id(base)], flat[count:]))
        return [*flat[:count], *(extra[p] for p in source[1])]

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)
