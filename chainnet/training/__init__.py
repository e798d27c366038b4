"""Fast training on a laptop: whole chunks of an epoch inside one ``tf.function``.

:func:`fit` trains any compiled ``keras.Model`` (such as ``chain.model()`` returns) several times
faster than ``model.fit`` on in-memory data, with Keras callbacks, a progress bar and a
``History``; :class:`Trainer` keeps the compiled functions of one model across calls.
:func:`aligned_empty` makes an array that ``fit`` turns into a tensor without copying it.

Examples:
    >>> import keras, numpy as np
    >>> import chainnet.training as training
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x = np.random.rand(40, 3)
    >>> history = training.fit(model, x, x.sum(axis=1), batch_size=8, epochs=2, verbose=0)
    >>> len(history.history["loss"])
    2
"""

from chainnet._aligned import aligned_empty
from chainnet.training._data import epoch_order
from chainnet.training._fit import Trainer, fit

__all__ = ["Trainer", "aligned_empty", "epoch_order", "fit"]
