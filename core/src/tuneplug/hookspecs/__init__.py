"""The hooks a provider plugin implements, grouped by purpose.

A provider is a module (or object) registered under the ``tuneplug`` entry-point
group; the entry name is the provider name. Each provider gets a plugin manager
of its own, so a call for one provider reaches only that provider's
implementations, and pluggy checks every implementation's name and signature
when the plugin is registered (a misspelled ``tuneplug_*`` hook fails at load).

What a provider can do follows from what it implements:

* **Completer** (capability ``complete``): ``tuneplug_list_models`` and
  ``tuneplug_complete`` are required; ``tuneplug_resolve_model``,
  ``tuneplug_acomplete``, ``tuneplug_stream``, ``tuneplug_astream`` and
  ``tuneplug_chat_template`` are optional and have sensible fallbacks in the core.
* **FineTunable** (capability ``fine_tune``): ``tuneplug_create_adapter``,
  ``tuneplug_fine_tune`` and ``tuneplug_delete_adapter`` are required together;
  ``tuneplug_afine_tune``, ``tuneplug_evaluate``, ``tuneplug_copy_adapter`` and
  ``tuneplug_adapter_limits`` are optional.
* **Setup**: ``tuneplug_settings`` declares the provider's settings model;
  ``tuneplug_close`` releases what the provider opened (pooled clients).

Every operation hook takes ``ctx`` first: the :class:`ProviderContext` of one
provider instance, carrying its validated settings and :meth:`~ProviderContext.resource`,
where the plugin keeps pooled clients and stores between calls. Hooks raise
:mod:`tuneplug.errors` exceptions, never their SDK's or HTTP library's.

The groups live in modules of their own, as pytest's and tox's hookspecs are grouped by
purpose: :mod:`~tuneplug.hookspecs.setup`, :mod:`~tuneplug.hookspecs.completer`,
:mod:`~tuneplug.hookspecs.finetunable`; the markers in :mod:`~tuneplug.hookspecs.markers`
and ``ctx`` in :mod:`~tuneplug.hookspecs.context`. Import them all from here.

The full reference, with examples, is ``docs/plugins.md``.
"""

from __future__ import annotations

from tuneplug.hookspecs.completer import COMPLETER_HOOKS, COMPLETER_REQUIRED, Completer
from tuneplug.hookspecs.context import ProviderContext
from tuneplug.hookspecs.finetunable import FINETUNABLE_HOOKS, FINETUNABLE_REQUIRED, FineTunable
from tuneplug.hookspecs.markers import PROJECT_NAME, hookimpl, hookspec
from tuneplug.hookspecs.setup import SETUP_HOOKS, Setup

__all__ = [
    "COMPLETER_HOOKS",
    "COMPLETER_REQUIRED",
    "FINETUNABLE_HOOKS",
    "FINETUNABLE_REQUIRED",
    "PROJECT_NAME",
    "SETUP_HOOKS",
    "Completer",
    "FineTunable",
    "ProviderContext",
    "Setup",
    "hookimpl",
    "hookspec",
]
