"""A provider whose answers a test scripts, and which records every call.

:class:`ScriptedProvider` is an ordinary tuneplug provider plugin (hook
implementations on an object, see :mod:`tuneplug.testing.scripted.hooks`),
installed in-process under the name ``scripted`` as if a distribution had
declared it (:func:`tuneplug.plugins.register`). The code under test
reaches it the way it reaches any provider — ``tuneplug.get_model("scripted/default")``,
or unchanged code with ``TUNEPLUG_MODEL=scripted/default`` — so nothing in that
code changes for the test. The ``scripted_model`` fixture does all of that::

    def test_summary(scripted_model):
        scripted_model.respond("Paris")
        assert my_app.capital_of("France") == "Paris"    # calls tuneplug.get_model()
        call = scripted_model.last_call
        assert "France" in call.prompt and call.options.max_tokens == 5

Chat calls (``Model.chat`` and its forms) are recorded with their messages
(:attr:`Call.messages`; the provider speaks chat natively, so ``prompt`` is
the conversation in the default template). Per model, completions
(``complete``, ``acomplete``, ``stream``, ``astream``)
take the next queued reply: a text (:meth:`ScriptedModel.respond`), a streamed
reply (:meth:`ScriptedModel.respond_stream`) or an error
(:meth:`ScriptedModel.fail`). Fine-tuning steps take the next queued result
(:meth:`ScriptedModel.fine_tune_result`) or compute a deterministic one. An
adapter created on a model answers from its own queue first, then from its base
model's, so "answer wrongly, fine-tune, answer rightly" is three lines of script.
An empty queue is a loud :class:`ScriptExhaustedError`, never a made-up answer.

Like a real provider it honours stop sequences, rejects unknown models with
``UnknownModelError`` and deleted adapters with ``NotFoundError``, and declares
its provider options through ``tuneplug_options`` (any, unless given
``extra_options``), so the core validates them before answering.

One concept in one package, layered without cycles: :mod:`.script` (the
queued answers and the call records), :mod:`.hooks` (the pluggy face),
:mod:`.provider` (the behaviour, installed with :func:`tuneplug.plugins.register`).
"""

from __future__ import annotations

from tuneplug.testing.scripted.provider import (
    DEFAULT_MODEL,
    DEFAULT_PROVIDER,
    DISTRIBUTION,
    ScriptedProvider,
)
from tuneplug.testing.scripted.script import (
    COMPLETION_KINDS,
    Call,
    Reply,
    ScriptedModel,
    ScriptExhaustedError,
)

__all__ = [
    "COMPLETION_KINDS",
    "DEFAULT_MODEL",
    "DEFAULT_PROVIDER",
    "DISTRIBUTION",
    "Call",
    "Reply",
    "ScriptExhaustedError",
    "ScriptedModel",
    "ScriptedProvider",
]
