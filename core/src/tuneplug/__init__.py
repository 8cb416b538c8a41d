"""tuneplug: complete and fine-tune LLMs across providers through one plugin-based API.

    >>> import tuneplug
    >>> model = tuneplug.get_model()            # mock/tiny unless configured
    >>> model.complete("Question: ...\\n\\nAnswer: ").text

The public names below are imported on first use, so ``import tuneplug`` costs
almost nothing and pulls in no provider, HTTP client or pydantic. Submodules are too:
``tuneplug.plugins.register(...)`` works after ``import tuneplug`` alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    # the facade
    "get_model": "tuneplug.models",
    "list_models": "tuneplug.models",
    "Model": "tuneplug.models",
    # jobs
    "get_job": "tuneplug.jobs.facade",
    "list_jobs": "tuneplug.jobs.listing",
    "Job": "tuneplug.jobs.types",
    "JobCheckpoint": "tuneplug.jobs.types",
    "JobEvent": "tuneplug.jobs.types",
    "JobSpec": "tuneplug.jobs.types",
    "JobStatus": "tuneplug.jobs.types",
    "get_provider": "tuneplug.catalog",
    # hooks
    "hookimpl": "tuneplug.hookspecs",
    "hookspec": "tuneplug.hookspecs",
    "ProviderContext": "tuneplug.hookspecs",
    # types
    "Capability": "tuneplug.types",
    "Completion": "tuneplug.types",
    "CompletionOptions": "tuneplug.types",
    "ChatSample": "tuneplug.types",
    "PromptCompletionSample": "tuneplug.types",
    "FineTuneResult": "tuneplug.types",
    "InputPart": "tuneplug.types",
    "Message": "tuneplug.types",
    "ModelInfo": "tuneplug.types",
    "ModelKind": "tuneplug.types",
    "Sample": "tuneplug.types",
    "StreamChunk": "tuneplug.types",
    "Usage": "tuneplug.types",
    # batches
    "batch": "tuneplug.batching.api",
    "abatch": "tuneplug.batching.api",
    # samples
    "read_samples": "tuneplug.samples",
    "batched": "tuneplug.samples",
    "parse_sample": "tuneplug.samples",
    "to_inputs": "tuneplug.samples",
    # errors
    "TuneplugError": "tuneplug.errors",
    "ConfigError": "tuneplug.errors",
    "NotConfiguredError": "tuneplug.errors",
    "PluginError": "tuneplug.errors",
    "PluginLoadError": "tuneplug.errors",
    "UnknownProviderError": "tuneplug.errors",
    "UnknownModelError": "tuneplug.errors",
    "CapabilityError": "tuneplug.errors",
    "AuthenticationError": "tuneplug.errors",
    "PermissionDeniedError": "tuneplug.errors",
    "NotFoundError": "tuneplug.errors",
    "OptionError": "tuneplug.errors",
    "InvalidRequestError": "tuneplug.errors",
    "InputFileError": "tuneplug.errors",
    "BatchFileError": "tuneplug.batching.inputs",
    "SettingsMismatchError": "tuneplug.batching.provenance",
    "SampleFileError": "tuneplug.errors",
    "AdapterBusyError": "tuneplug.errors",
    "AdapterChangedError": "tuneplug.errors",
    "RateLimitError": "tuneplug.errors",
    "ServerError": "tuneplug.errors",
    "TimeoutError": "tuneplug.errors",
    "ConnectionError": "tuneplug.errors",
}

__all__ = [
    "AdapterBusyError",
    "AdapterChangedError",
    "AuthenticationError",
    "BatchFileError",
    "Capability",
    "CapabilityError",
    "ChatSample",
    "Completion",
    "CompletionOptions",
    "ConfigError",
    "ConnectionError",
    "FineTuneResult",
    "InputFileError",
    "InputPart",
    "InvalidRequestError",
    "Job",
    "JobCheckpoint",
    "JobEvent",
    "JobSpec",
    "JobStatus",
    "Message",
    "Model",
    "ModelInfo",
    "ModelKind",
    "NotConfiguredError",
    "NotFoundError",
    "OptionError",
    "PermissionDeniedError",
    "PluginError",
    "PluginLoadError",
    "PromptCompletionSample",
    "ProviderContext",
    "RateLimitError",
    "Sample",
    "SampleFileError",
    "ServerError",
    "SettingsMismatchError",
    "StreamChunk",
    "TimeoutError",
    "TuneplugError",
    "UnknownModelError",
    "UnknownProviderError",
    "Usage",
    "abatch",
    "batch",
    "batched",
    "get_job",
    "get_model",
    "get_provider",
    "hookimpl",
    "hookspec",
    "list_jobs",
    "list_models",
    "parse_sample",
    "read_samples",
    "to_inputs",
]

if TYPE_CHECKING:
    from tuneplug.batching.api import abatch, batch
    from tuneplug.batching.inputs import BatchFileError
    from tuneplug.batching.provenance import SettingsMismatchError
    from tuneplug.catalog import get_provider
    from tuneplug.errors import (
        AdapterBusyError,
        AdapterChangedError,
        AuthenticationError,
        CapabilityError,
        ConfigError,
        ConnectionError,
        InputFileError,
        InvalidRequestError,
        NotConfiguredError,
        NotFoundError,
        OptionError,
        PermissionDeniedError,
        PluginError,
        PluginLoadError,
        RateLimitError,
        SampleFileError,
        ServerError,
        TimeoutError,
        TuneplugError,
        UnknownModelError,
        UnknownProviderError,
    )
    from tuneplug.hookspecs import ProviderContext, hookimpl, hookspec
    from tuneplug.jobs.facade import get_job
    from tuneplug.jobs.listing import list_jobs
    from tuneplug.jobs.types import Job, JobCheckpoint, JobEvent, JobSpec, JobStatus
    from tuneplug.models import Model, get_model, list_models
    from tuneplug.samples import batched, parse_sample, read_samples, to_inputs
    from tuneplug.types import (
        Capability,
        ChatSample,
        Completion,
        CompletionOptions,
        FineTuneResult,
        InputPart,
        Message,
        ModelInfo,
        ModelKind,
        PromptCompletionSample,
        Sample,
        StreamChunk,
        Usage,
    )


# `tuneplug.plugins.register(...)` after a bare `import tuneplug`, as the docs write it:
# every submodule is imported on first attribute access, like the names above.
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), submodules=True)
