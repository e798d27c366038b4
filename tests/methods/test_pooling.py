"""Pools and upsampling on rank 3, 4 and 5 inputs against the Keras layers they pick."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from harness import MethodCase

import chainnet as cn

L = keras.layers

SHAPES = {3: (6, 2), 4: (6, 6, 2), 5: (4, 4, 4, 1)}
MAX = {3: L.MaxPooling1D, 4: L.MaxPooling2D, 5: L.MaxPooling3D}
AVG = {3: L.AveragePooling1D, 4: L.AveragePooling2D, 5: L.AveragePooling3D}
GAVG = {3: L.GlobalAveragePooling1D, 4: L.GlobalAveragePooling2D, 5: L.GlobalAveragePooling3D}
GMAX = {3: L.GlobalMaxPooling1D, 4: L.GlobalMaxPooling2D, 5: L.GlobalMaxPooling3D}
UP = {3: L.UpSampling1D, 4: L.UpSampling2D, 5: L.UpSampling3D}


def _half(rank: int) -> tuple[int | None, ...]:
    return (None, *(d // 2 for d in SHAPES[rank][:-1]), SHAPES[rank][-1])


def _double(rank: int) -> tuple[int | None, ...]:
    return (None, *(d * 2 for d in SHAPES[rank][:-1]), SHAPES[rank][-1])


CASES = []
for rank in (3, 4, 5):
    channels = SHAPES[rank][-1]
    CASES += [
        MethodCase(
            "max_pool",
            (2, 2),
            id=f"max_pool-rank{rank}",
            input_shape=SHAPES[rank],
            reference=lambda r=rank: [MAX[r](2, strides=2, padding="same")],
            expected_output_shape=_half(rank),
            expected_num_weights=0,
        ),
        MethodCase(
            "average_pool",
            (2,),
            id=f"average_pool-rank{rank}-stride-defaults-to-kernel",
            input_shape=SHAPES[rank],
            reference=lambda r=rank: [AVG[r](2, padding="same")],
            expected_output_shape=_half(rank),
            expected_num_weights=0,
        ),
        MethodCase(
            "global_average_pool",
            id=f"global_average_pool-rank{rank}",
            input_shape=SHAPES[rank],
            reference=lambda r=rank: [GAVG[r]()],
            expected_output_shape=(None, channels),
            expected_num_weights=0,
        ),
        MethodCase(
            "global_max_pool",
            (),
            {"keepdims": True},
            id=f"global_max_pool-rank{rank}-keepdims",
            input_shape=SHAPES[rank],
            reference=lambda r=rank: [GMAX[r](keepdims=True)],
            expected_output_shape=(None, *([1] * (rank - 2)), channels),
            expected_num_weights=0,
        ),
        MethodCase(
            "upsample",
            (2,),
            id=f"upsample-rank{rank}",
            input_shape=SHAPES[rank],
            reference=lambda r=rank: [UP[r](2)],
            expected_output_shape=_double(rank),
            expected_num_weights=0,
        ),
    ]

CASES += [
    MethodCase(
        "max_pool",
        (3, 2),
        {"padding": "valid"},
        id="max_pool-valid-overlapping",
        input_shape=(7, 7, 1),
        reference=lambda: [L.MaxPooling2D(3, strides=2, padding="valid")],
        expected_output_shape=(None, 3, 3, 1),
        expected_num_weights=0,
    ),
    MethodCase(
        "average_pool",
        ((2, 1), (2, 1)),
        id="average_pool-rect",
        input_shape=(4, 3, 2),
        reference=lambda: [L.AveragePooling2D((2, 1), strides=(2, 1), padding="same")],
        expected_output_shape=(None, 2, 3, 2),
        expected_num_weights=0,
    ),
    MethodCase(
        "max_pool",
        (2, 2),
        id="max_pool-same-odd-size",
        input_shape=(5, 5, 1),
        reference=lambda: [L.MaxPooling2D(2, strides=2, padding="same")],
        expected_output_shape=(None, 3, 3, 1),
        expected_num_weights=0,
    ),
    MethodCase(
        "upsample",
        ((2, 3),),
        {"interpolation": "bilinear"},
        id="upsample-bilinear",
        input_shape=(2, 2, 1),
        reference=lambda: [L.UpSampling2D((2, 3), interpolation="bilinear")],
        expected_output_shape=(None, 4, 6, 1),
        expected_num_weights=0,
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_pooling_methods_match_keras(case: MethodCase, tmp_path: Path) -> None:
    case.run(tmp_path)


@pytest.mark.parametrize("rank", [3, 4, 5])
def test_pools_pick_the_layer_by_rank(rank: int) -> None:
    x = cn.input(SHAPES[rank])
    assert isinstance(x.max_pool(2).layer, MAX[rank])
    assert isinstance(x.average_pool(2).layer, AVG[rank])
    assert isinstance(x.global_average_pool().layer, GAVG[rank])
    assert isinstance(x.global_max_pool().layer, GMAX[rank])
    assert isinstance(x.upsample().layer, UP[rank])
