"""The model facade: ``get_model``, ``list_models`` and :class:`Model`.

Everything a user calls is checked here before any I/O: the reference, the
option ranges, and whether the provider has the capability the call needs.

* :mod:`tuneplug.models.refs`: model references (``provider/model``, aliases)
  resolved to a :class:`Model`, and the listing of models;
* :mod:`tuneplug.models.model`: :class:`Model` itself, its identity, options
  and completion (chat is :class:`tuneplug.chat.ChatMixin`);
* :mod:`tuneplug.models.tuning`: adapters and fine-tuning of a model.
"""

from __future__ import annotations

from tuneplug.models.model import Model
from tuneplug.models.refs import _registry, get_model, list_models, resolve
from tuneplug.models.tuning import training_steps
from tuneplug.options import build_options

__all__ = [
    "Model",
    "_registry",
    "build_options",
    "get_model",
    "list_models",
    "resolve",
    "training_steps",
]
