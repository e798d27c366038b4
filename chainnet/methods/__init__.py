"""Chain methods, grouped by kind; each mixin adds one family of methods to ``Chain``."""

from chainnet.methods.activation import ActivationMethods
from chainnet.methods.arithmetic import ArithmeticMethods
from chainnet.methods.attention import AttentionMethods
from chainnet.methods.conv import ConvMethods
from chainnet.methods.dense import DenseMethods
from chainnet.methods.generic import GenericMethods
from chainnet.methods.heads import HeadMethods, SoftmaxResult
from chainnet.methods.merge import MergeMethods, TemplateMethods
from chainnet.methods.normalization import NormalizationMethods
from chainnet.methods.pooling import PoolingMethods
from chainnet.methods.recurrent import RecurrentMethods
from chainnet.methods.shape import ShapeMethods
from chainnet.methods.tensor_ops import TensorMethods

__all__ = [
    "ActivationMethods",
    "ArithmeticMethods",
    "AttentionMethods",
    "ConvMethods",
    "DenseMethods",
    "GenericMethods",
    "HeadMethods",
    "MergeMethods",
    "NormalizationMethods",
    "PoolingMethods",
    "RecurrentMethods",
    "ShapeMethods",
    "SoftmaxResult",
    "TemplateMethods",
    "TensorMethods",
]
