"""PrettyTensor's tensor methods: element-wise functions (``abs``, ``log``, ``sqrt``,
``square``, ``stop_gradient``), ``l1_normalize``/``l2_normalize``, the reductions
(``reduce_sum`` ...), the casts (``to_float`` ...), ``tensor_shape``,
``diagonal_matrix_mul`` and ``bilinear_sampling``; each a named, serializable layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from chainnet._arguments import check_axis, check_bool, check_number
from chainnet._chainbase import Lowering
from chainnet._errors import ChainError, ChainTypeError
from chainnet._operands import as_operand
from chainnet._registry import chain_method
from chainnet._shapes import check_same_shape
from chainnet.layers.shape import Cast
from chainnet.layers.tensor_ops import (
    BilinearSampling,
    DiagonalMatMul,
    Elementwise,
    Normalize,
    Reduce,
    ReduceJoin,
    TensorShape,
)
from chainnet.methods._common import (
    InitializerLike,
    RegularizerLike,
    check_numeric_input,
    int_dtype,
    kernel_regularizer_for,
)

__all__ = ["TensorMethods"]

AxisLike = int | Sequence[int] | None


def _elementwise(chain: Any, op: str, name: str | None, numeric: bool) -> Elementwise:
    if numeric:
        check_numeric_input(chain, op, name)
    return Elementwise(op, dtype=int_dtype(chain), name=name)


def _axes(
    method: str, chain: Any, axis: AxisLike, reduction_indices: AxisLike
) -> int | tuple[int, ...] | None:
    """PrettyTensor's ``axis`` or its older spelling ``reduction_indices`` (one of them)."""
    if axis is not None and reduction_indices is not None:
        raise ChainTypeError(
            f"{method}(): give axis= or reduction_indices= (its old spelling), not both"
        )
    axis = reduction_indices if axis is None else axis
    if axis is None:
        return None
    rank = len(chain.shape)
    if isinstance(axis, (list, tuple)):
        return tuple(check_axis(method, "axis", a, rank) for a in axis)
    return check_axis(method, "axis", axis, rank)


def _reduce(
    chain: Any,
    op: str,
    axis: AxisLike,
    keep_dims: bool,
    keepdims: bool | None,
    reduction_indices: AxisLike,
    name: str | None,
) -> Reduce:
    method = f"reduce_{op}"
    if keepdims is not None:
        keep_dims = keepdims
    keep = check_bool(method, "keep_dims", keep_dims)
    axes = _axes(method, chain, axis, reduction_indices)
    dtype = keras.backend.standardize_dtype(chain.dtype)
    if op in ("all", "any"):
        if dtype != "bool":
            raise ChainError(
                f"{method}() at layer {name!r}: needs a bool input, got {dtype} from "
                f"{chain.name!r}; compare first (a cast to bool is .cast('bool'))."
            )
        return Reduce(op, axes, keep, dtype="bool", name=name)
    check_numeric_input(chain, method, name)
    return Reduce(op, axes, keep, dtype=int_dtype(chain), name=name)


def _reduction(op: str, summary: str, example: str, result: str) -> Any:
    """The chain method ``reduce_<op>`` (PrettyTensor's registered ``tf.reduce_<op>``, its
    positional order ``axis, keep_dims``)."""

    def method(
        self: Any,
        axis: AxisLike = None,
        keep_dims: bool = False,
        *,
        keepdims: bool | None = None,
        reduction_indices: AxisLike = None,
        name: str | None = None,
    ) -> Any:
        return _reduce(self, op, axis, keep_dims, keepdims, reduction_indices, name)

    method.__name__ = method.__qualname__ = f"reduce_{op}"
    method.__doc__ = f"""{summary} (``tf.reduce_{op}``).

        Args:
            axis: An axis or axes; ``None`` reduces every axis, the batch too.
            keep_dims: Keep the reduced axes with size 1.
            keepdims: Keras' spelling of ``keep_dims``.
            reduction_indices: The old spelling of ``axis``.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            {example}
            {result}
        """
    return chain_method()(method)


class TensorMethods:
    """Element-wise functions, normalizations, reductions and casts (PrettyTensor's
    registered ``tf`` functions), and the diagonal matrix multiplication."""

    __slots__ = ()

    # ----------------------------------------------------------------- element-wise
    @chain_method()
    def abs(self, *, name: str | None = None) -> Any:
        """The absolute value, element-wise (``tf.abs``).

        Args:
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.array([[-1.5, 2.0]], "float32")).abs().numpy().tolist()
            [[1.5, 2.0]]
        """
        return _elementwise(self, "abs", name, numeric=True)

    @chain_method(float_input=True)
    def log(self, *, name: str | None = None) -> Any:
        """The natural logarithm, element-wise (``tf.log``).

        Args:
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.array([[1.0, np.e]], "float32")).log().numpy().round(4).tolist()
            [[0.0, 1.0]]
        """
        return Elementwise("log", name=name)

    @chain_method(float_input=True)
    def sqrt(self, *, name: str | None = None) -> Any:
        """The square root, element-wise (``tf.sqrt``).

        Args:
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.array([[4.0, 9.0]], "float32")).sqrt().numpy().tolist()
            [[2.0, 3.0]]
        """
        return Elementwise("sqrt", name=name)

    @chain_method()
    def square(self, *, name: str | None = None) -> Any:
        """``x ** 2``, element-wise (``tf.square``); an int input stays int.

        Args:
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.array([[-3, 2]], "int32")).square().numpy().tolist()
            [[9, 4]]
        """
        return _elementwise(self, "square", name, numeric=True)

    @chain_method()
    def stop_gradient(self, *, name: str | None = None) -> Any:
        """The same values, through which no gradient flows (``tf.stop_gradient``).

        Args:
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((4,)).fully_connected(3).stop_gradient().shape
            (None, 3)
        """
        return Elementwise("stop_gradient", dtype=int_dtype(self), name=name)

    @chain_method(float_input=True)
    def l1_normalize(self, dim: int, epsilon: float = 1e-12, *, name: str | None = None) -> Any:
        """``x / max(sum(|x|), epsilon)`` along ``dim`` (PrettyTensor's
        ``functions.l1_normalize``).

        Args:
            dim: The axis to normalize along.
            epsilon: The smallest norm divided by.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.array([[1.0, -3.0]], "float32")).l1_normalize(1).numpy().tolist()
            [[0.25, -0.75]]
        """
        axis = check_axis("l1_normalize", "dim", dim, len(self.shape))  # type: ignore[attr-defined]
        epsilon = check_number("l1_normalize", "epsilon", epsilon)
        return Normalize(1, axis, epsilon, name=name)

    @chain_method(float_input=True)
    def l2_normalize(self, dim: int, epsilon: float = 1e-12, *, name: str | None = None) -> Any:
        """``x / sqrt(max(sum(x ** 2), epsilon))`` along ``dim`` (``tf.nn.l2_normalize``).

        Args:
            dim: The axis to normalize along.
            epsilon: The smallest squared norm divided by.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.array([[3.0, 4.0]], "float32")).l2_normalize(-1).numpy().tolist()
            [[0.6000000238418579, 0.800000011920929]]
        """
        axis = check_axis("l2_normalize", "dim", dim, len(self.shape))  # type: ignore[attr-defined]
        epsilon = check_number("l2_normalize", "epsilon", epsilon)
        return Normalize(2, axis, epsilon, name=name)

    # ----------------------------------------------------------------- reductions
    @chain_method()
    def reduce_join(
        self,
        axis: AxisLike = None,
        keep_dims: bool = False,
        separator: str = "",
        *,
        keepdims: bool | None = None,
        reduction_indices: AxisLike = None,
        name: str | None = None,
    ) -> Any:
        """Joins a string chain over ``axis`` (``tf.strings.reduce_join``), PrettyTensor's
        ``reduce_join``: the axes are joined in the order given, ``None`` joins every axis,
        the batch too, the last first. Strings travel through a Keras model on the
        TensorFlow backend (``cn.input(shape, dtype="string")``, data as ``tf.constant``).

        Args:
            axis: An axis or axes, joined in that order; ``None`` joins every axis.
            keep_dims: Keep the joined axes with size 1.
            separator: The string between the joined parts.
            keepdims: Keras' spelling of ``keep_dims``.
            reduction_indices: The old spelling of ``axis``.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> a = cn.wrap(np.array([["a", "b"], ["c", "d"]]))
            >>> a.reduce_join(1).numpy().tolist(), a.reduce_join(0, separator=".").numpy().tolist()
            ([b'ab', b'cd'], [b'a.c', b'b.d'])
            >>> cn.input((3,), dtype="string").reduce_join(-1).shape
            (None,)
        """
        if keepdims is not None:
            keep_dims = keepdims
        keep = check_bool("reduce_join", "keep_dims", keep_dims)
        axes = _axes("reduce_join", self, axis, reduction_indices)
        dtype = keras.backend.standardize_dtype(self.dtype)  # type: ignore[attr-defined]
        if dtype != "string":
            raise ChainError(
                f"reduce_join() at layer {name!r}: needs a string input, got {dtype} from "
                f"{self.name!r}; strings enter as cn.input(shape, dtype='string')."  # type: ignore[attr-defined]
            )
        if not isinstance(separator, str):
            raise ChainTypeError(
                f"reduce_join() at layer {name!r}: separator must be a string, got {separator!r}"
            )
        return ReduceJoin(axes, keep, separator, name=name)

    reduce_all = _reduction(
        "all",
        "Logical and over ``axis`` of a bool chain",
        ">>> cn.wrap(np.array([[True, False], [True, True]])).reduce_all(1).numpy().tolist()",
        "[False, True]",
    )
    reduce_any = _reduction(
        "any",
        "Logical or over ``axis`` of a bool chain",
        ">>> cn.wrap(np.array([[False, False], [True, False]])).reduce_any(1).numpy().tolist()",
        "[False, True]",
    )
    reduce_max = _reduction(
        "max",
        "The maximum over ``axis``",
        ">>> cn.wrap(np.array([[1.0, 5.0], [3.0, 2.0]], 'float32')).reduce_max(1).numpy()",
        "array([5., 3.], dtype=float32)",
    )
    reduce_mean = _reduction(
        "mean",
        "The mean over ``axis``",
        ">>> cn.input((5, 8)).reduce_mean([1, 2], keep_dims=True).shape",
        "(None, 1, 1)",
    )
    reduce_min = _reduction(
        "min",
        "The minimum over ``axis``",
        ">>> float(cn.wrap(np.array([[1.0, 5.0], [3.0, 2.0]], 'float32')).reduce_min().numpy())",
        "1.0",
    )
    reduce_prod = _reduction(
        "prod",
        "The product over ``axis``",
        ">>> cn.wrap(np.array([[2, 3], [4, 5]], 'int32')).reduce_prod(-1).numpy().tolist()",
        "[6, 20]",
    )
    reduce_sum = _reduction(
        "sum",
        "The sum over ``axis``",
        ">>> cn.wrap(np.array([[1.0, 5.0], [3.0, 2.0]], 'float32')).reduce_sum(1).numpy()",
        "array([6., 5.], dtype=float32)",
    )

    # ----------------------------------------------------------------- casts and shape
    @chain_method()
    def to_double(self, *, name: str | None = None) -> Any:
        """Casts to float64 (``tf.to_double``; the same as ``cast("float64")``).

        Args:
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((3,), dtype="int32").to_double().dtype
            'float64'
        """
        return Cast("float64", name=name)

    @chain_method()
    def to_float(self, *, name: str | None = None) -> Any:
        """Casts to float32 (``tf.to_float``; the same as ``cast("float32")``).

        Args:
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((3,), dtype="int32").to_float().dtype
            'float32'
        """
        return Cast("float32", name=name)

    @chain_method()
    def to_int32(self, *, name: str | None = None) -> Any:
        """Casts to int32 (``tf.to_int32``; the same as ``cast("int32")``).

        Args:
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.array([[1.7, -1.7]], "float32")).to_int32().numpy().tolist()
            [[1, -1]]
        """
        return Cast("int32", name=name)

    @chain_method()
    def to_int64(self, *, name: str | None = None) -> Any:
        """Casts to int64 (``tf.to_int64``; the same as ``cast("int64")``).

        Args:
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> cn.input((3,)).to_int64().dtype
            'int64'
        """
        return Cast("int64", name=name)

    @chain_method()
    def tensor_shape(self, *, out_type: str = "int32", name: str | None = None) -> Any:
        """The shape of this chain's tensor as a tensor, batch size included (``tf.shape``,
        PrettyTensor's ``tensor_shape``); ``get_shape()`` is the static shape.

        Args:
            out_type: ``"int32"`` or ``"int64"``.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> cn.wrap(np.zeros((2, 5, 3), "float32")).tensor_shape().numpy().tolist()
            [2, 5, 3]
        """
        if out_type not in ("int32", "int64"):
            raise ValueError(f"tensor_shape(out_type): 'int32' or 'int64', got {out_type!r}")
        return TensorShape(out_type, name=name)

    # ----------------------------------------------------------------- layers
    @chain_method(defaults=("l2loss",), float_input=True)
    def diagonal_matrix_mul(
        self,
        weights: InitializerLike | None = None,
        l2loss: float | None = None,
        *,
        kernel_initializer: InitializerLike | None = None,
        kernel_regularizer: RegularizerLike = None,
        name: str | None = None,
    ) -> Any:
        """``x @ diag(w)``, that is ``x * w``, with a learned vector ``w`` of the size of the
        last axis (PrettyTensor's ``diagonal_matrix_mul``).

        Args:
            weights: PrettyTensor's name for ``kernel_initializer`` (default Glorot uniform,
                PrettyTensor's Xavier).
            l2loss: PrettyTensor's weight decay, ``l2loss * sum(w ** 2) / 2``.
            kernel_initializer: The initializer of ``w`` (Keras' name).
            kernel_regularizer: A Keras regularizer of ``w``.
            name: The step's name.

        Examples:
            >>> import chainnet as cn
            >>> y = cn.input((4,)).diagonal_matrix_mul(l2loss=0.01)
            >>> y.shape, y.model().count_params()
            ((None, 4), 4)
        """
        method = "diagonal_matrix_mul"
        if weights is not None and kernel_initializer is not None:
            raise ChainTypeError(
                f"{method}(): weights= is PrettyTensor's name for kernel_initializer=; give one"
            )
        initializer = weights if weights is not None else kernel_initializer
        regularizer = kernel_regularizer_for(method, l2loss, kernel_regularizer)
        if self.shape[-1] is None:  # type: ignore[attr-defined]
            raise ChainError(f"{method}(): the last axis must be known, got {self.shape}")  # type: ignore[attr-defined]
        return DiagonalMatMul(
            initializer or "glorot_uniform", kernel_regularizer=regularizer, name=name
        )

    @chain_method(rank=4, float_input=True)
    def bilinear_sampling(self, x: Any, y: Any, *, name: str | None = None) -> Any:
        """Samples this image (``(batch, height, width, channels)``) at the coordinates
        ``x`` and ``y`` (``(batch, height, width, 1)``, in ``[-1, 1]``) with a bilinear
        kernel: the spatial transformer's sampler (PrettyTensor's ``bilinear_sampling``).

        Args:
            x: The column of each output pixel, ``-1`` the first, ``1`` the last.
            y: The row of each output pixel.
            name: The step's name.

        Examples:
            >>> import numpy as np, chainnet as cn
            >>> image = np.arange(4, dtype="float32").reshape(1, 2, 2, 1)
            >>> centre = np.zeros((1, 2, 2, 1), "float32")
            >>> cn.wrap(image).bilinear_sampling(centre, centre).numpy().ravel().tolist()
            [1.5, 1.5, 1.5, 1.5]
        """
        method = "bilinear_sampling"
        coordinates = []
        wanted = (*self.shape[:3], 1)  # type: ignore[attr-defined]
        for role, value in (("x", x), ("y", y)):
            chain = as_operand(self, value, method=method, role=role)  # type: ignore[arg-type]
            check_same_shape(method, role, chain.shape, chain.name, wanted, self.name)  # type: ignore[attr-defined]
            coordinates.append(chain)
        return Lowering((BilinearSampling(name=name),), others=tuple(coordinates))
