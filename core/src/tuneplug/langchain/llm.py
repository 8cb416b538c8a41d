"""``TuneplugLLM``: a LangChain text-completion model over any tuneplug model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
    Callbacks,
)
from langchain_core.language_models import BaseLLM, LangSmithParams
from langchain_core.language_models.base import LanguageModelInput
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from langchain_core.runnables import Runnable, RunnableConfig

from tuneplug.langchain._common import Bound, TuneplugFields, gather, token_usage, usage_info

if TYPE_CHECKING:
    from tuneplug.models import Model
    from tuneplug.types import Usage

__all__ = ["TuneplugLLM", "TuneplugLLMBase"]

_SYNC_WORKERS = 8
"""Threads for a sync ``generate`` of several prompts (as LangChain's ``GradientLLM``)."""

# LangChain's BaseLLM keys its cache on ``_identifying_params`` and the stop list only,
# not on a call's keywords (``invoke(p, temperature=1)`` would hit the entry of
# ``invoke(p)``). ``generate`` publishes the call's keywords here, tagged with the
# object they belong to, so ``_identifying_params`` can include them.
_CALL_OPTIONS: ContextVar[tuple[int, Mapping[str, Any]] | None] = ContextVar(
    "tuneplug_langchain_call_options", default=None
)
_RUN_KEYWORDS = frozenset({"tags", "metadata", "run_name", "run_id"})


def _info(model: Model, finish_reason: str, usage: Usage | None) -> dict[str, Any]:
    info: dict[str, Any] = {"finish_reason": finish_reason, "model": model.ref}
    counts = usage_info(usage)
    if counts is not None:
        info["usage"] = counts
    return info


class TuneplugLLMBase(Bound, BaseLLM):
    """The LangChain ``BaseLLM`` machinery over a binding; subclasses say what to bind.

    Sync and native async calls, streaming with ``on_llm_new_token`` callbacks,
    ``stop``, usage and finish reason in ``generation_info``, tuneplug's typed
    errors passed through unchanged, and ``train_unsupervised``.
    """

    @property
    def _llm_type(self) -> str:
        return "tuneplug"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        identity = self._binding().identity()
        call = self._call_options()
        return {**identity, "call_options": call} if call else identity

    def _call_options(self) -> dict[str, Any]:
        """The keywords of the ``generate`` call in progress on this object, if any."""
        published = _CALL_OPTIONS.get()
        if published is None or published[0] != id(self):
            return {}
        return dict(published[1])

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        return self._ls_base("llm", stop, kwargs)

    def _streams(self) -> bool:
        return bool(getattr(self, "streaming", False))

    # -- publishing call keywords for the cache key --------------------------------

    def _publish(self, kwargs: Mapping[str, Any]) -> Any:
        options = {k: v for k, v in kwargs.items() if k not in _RUN_KEYWORDS}
        return _CALL_OPTIONS.set((id(self), options))

    def generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        callbacks: Callbacks | list[Callbacks] | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """LangChain's ``generate``, with the call's keywords in the cache key."""
        token = self._publish(kwargs)
        try:
            return super().generate(prompts, stop, callbacks, **kwargs)
        finally:
            _CALL_OPTIONS.reset(token)

    async def agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        callbacks: Callbacks | list[Callbacks] | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """LangChain's ``agenerate``, with the call's keywords in the cache key."""
        token = self._publish(kwargs)
        try:
            return await super().agenerate(prompts, stop, callbacks, **kwargs)
        finally:
            _CALL_OPTIONS.reset(token)

    # -- sync ----------------------------------------------------------------------

    def _one(
        self,
        prompt: str,
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: Mapping[str, Any],
    ) -> Generation:
        if self._streams():
            final: GenerationChunk | None = None
            for chunk in self._stream(prompt, stop, run_manager, **kwargs):
                final = chunk if final is None else final + chunk
            assert final is not None  # a stream always ends with a chunk
            return Generation(text=final.text, generation_info=final.generation_info)
        model, options = self._binding().call(stop, kwargs)
        done = model.complete(prompt, **options)
        info = _info(model, done.finish_reason, done.usage)
        return Generation(text=done.text, generation_info=info)

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if len(prompts) == 1 or self._streams():
            # Streamed tokens of several prompts would interleave on one run manager.
            generations = [self._one(p, stop, run_manager, kwargs) for p in prompts]
        else:
            with ThreadPoolExecutor(min(_SYNC_WORKERS, len(prompts))) as pool:
                generations = list(pool.map(lambda p: self._one(p, stop, None, kwargs), prompts))
        return self._result(generations)

    def _result(self, generations: Sequence[Generation]) -> LLMResult:
        output: dict[str, Any] = {}
        # The model each generation came from: a call's `model=` overrides the bound one.
        used = {(g.generation_info or {}).get("model") for g in generations} - {None}
        if len(used) == 1:
            output["model_name"] = used.pop()
        usage = token_usage((g.generation_info or {}).get("usage") for g in generations)
        if usage is not None:
            output["token_usage"] = usage
        return LLMResult(generations=[[g] for g in generations], llm_output=output)

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        model, options = self._binding().call(stop, kwargs)
        for piece in model.stream(prompt, **options):
            info = None
            if piece.finish_reason is not None:
                info = _info(model, piece.finish_reason, piece.usage)
            chunk = GenerationChunk(text=piece.text, generation_info=info)
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    # -- async ---------------------------------------------------------------------

    async def _aone(
        self,
        prompt: str,
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: Mapping[str, Any],
    ) -> Generation:
        if self._streams():
            final: GenerationChunk | None = None
            async for chunk in self._astream(prompt, stop, run_manager, **kwargs):
                final = chunk if final is None else final + chunk
            assert final is not None
            return Generation(text=final.text, generation_info=final.generation_info)
        model, options = self._binding().call(stop, kwargs)
        done = await model.acomplete(prompt, **options)
        info = _info(model, done.finish_reason, done.usage)
        return Generation(text=done.text, generation_info=info)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        # Every prompt in flight at once; abatch's max_concurrency bounds how many come here.
        generations = await gather(self._aone(p, stop, run_manager, kwargs) for p in prompts)
        return self._result(generations)

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        model, options = self._binding().call(stop, kwargs)
        async for piece in model.astream(prompt, **options):
            info = None
            if piece.finish_reason is not None:
                info = _info(model, piece.finish_reason, piece.usage)
            chunk = GenerationChunk(text=piece.text, generation_info=info)
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[str]:
        """Complete ``inputs`` in threads, each input its own run, request and result.

        LangChain's ``BaseLLM.batch`` sends every input through one ``generate``,
        so one bad input fails them all (with ``return_exceptions``, its error
        fills every slot although the other requests were made and answered).
        Here each input is invoked on its own, as ``Runnable.batch`` does: its own
        callback run, its own result or exception, at most ``max_concurrency`` at once.
        """
        return Runnable.batch(self, inputs, config, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[str]:
        """Async :meth:`batch`: each input its own run; a slot is refilled as soon as one ends.

        (LangChain's ``BaseLLM.abatch`` shares one ``agenerate`` the same way, and
        with ``max_concurrency`` waits for a whole wave before starting the next.)
        """
        return await Runnable.abatch(
            self, inputs, config, return_exceptions=return_exceptions, **kwargs
        )


class TuneplugLLM(TuneplugFields, TuneplugLLMBase):
    """A LangChain LLM for any tuneplug model: ``TuneplugLLM(model="gradient/nous-hermes2")``.

    ``model`` is ``provider/model`` or an alias; without one, ``TUNEPLUG_MODEL``,
    then the config's default, then ``mock/tiny`` (so it works offline). Options
    (``max_tokens``, ``temperature``, ``top_k``, ``top_p``, ``stop``, ``seed``,
    provider extras in ``model_kwargs``) are defaults a call's keywords override;
    ``model=`` on a call picks another model. Errors are tuneplug's
    (``tuneplug.errors``), raised unchanged through LangChain.

    Fine-tune from LangChain with :meth:`train_unsupervised` on an adapter::

        llm = TuneplugLLM(model="mock/<adapter id>")
        llm.train_unsupervised(["Question: ...\\n\\nAnswer: The Dallas Cowboys!"])["loss"]
    """
