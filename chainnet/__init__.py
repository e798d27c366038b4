"""chainnet: PrettyTensor's fluent chaining for TensorFlow 2 / Keras 3.

Examples:
    >>> import chainnet as cn
    >>> with cn.defaults(activation="relu"):
    ...     logits = (cn.input((28, 28, 1)).conv2d(5, 16, name="layer_conv1").max_pool(2, 2)
    ...               .flatten().fully_connected(10, activation=None))
    >>> logits.shape
    (None, 10)
"""

from chainnet import _legacy, losses
from chainnet._chain import Chain, input, model, wrap
from chainnet._defaults import DefaultsScope, current_defaults, defaults
from chainnet._errors import ChainError, ChainTypeError
from chainnet._legacy import LegacyKerasWarning
from chainnet._network import Network, Node
from chainnet._registry import Lowering, register
from chainnet._sequential import SequentialBuilder
from chainnet._template import Template, UnboundVariable, template
from chainnet._weights import WeightsReport
from chainnet.losses import regularization_loss, total_loss
from chainnet.methods.heads import SampledSoftmaxResult, SoftmaxResult
from chainnet.methods.recurrent import RecurrentResult, reset_states
from chainnet.training import Trainer, fit

__version__ = "0.1.0"

_legacy.warn_if_legacy_env()

__all__ = [
    "Chain",
    "ChainError",
    "ChainTypeError",
    "DefaultsScope",
    "LegacyKerasWarning",
    "Lowering",
    "Network",
    "Node",
    "RecurrentResult",
    "SequentialBuilder",
    "SampledSoftmaxResult",
    "SoftmaxResult",
    "Template",
    "Trainer",
    "UnboundVariable",
    "WeightsReport",
    "current_defaults",
    "defaults",
    "fit",
    "input",
    "losses",
    "model",
    "register",
    "regularization_loss",
    "reset_states",
    "template",
    "total_loss",
    "wrap",
]
