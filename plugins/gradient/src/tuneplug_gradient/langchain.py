"""A drop-in for LangChain's ``GradientLLM``, built on the tuneplug Gradient provider.

Change one import and the rest of the code stays::

    # from langchain_community.llms import GradientLLM
    from tuneplug_gradient.langchain import GradientLLM

    llm = GradientLLM(model="674119b5-..._model_adapter",
                      model_kwargs=dict(max_generated_token_count=128))

Same constructor (``model`` / ``model_id``, ``gradient_workspace_id``,
``gradient_access_token``, ``gradient_api_url``, ``model_kwargs``), same
environment variables (``GRADIENT_ACCESS_TOKEN``, ``GRADIENT_WORKSPACE_ID``,
``GRADIENT_API_URL``), same ``train_unsupervised`` / ``atrain_unsupervised``
returning ``{"loss": sumLoss / numberOfTrainableTokens}``. What differs, on purpose:

* requests go through the provider's pooled httpx clients, with timeouts
  (``timeout=`` or ``GRADIENT_TIMEOUT``) and retries of 429/5xx/connection
  failures (``max_retries=`` or ``GRADIENT_MAX_RETRIES``); async is native on a
  pooled client (LangChain's opened an aiohttp session per call);
* failures are tuneplug's typed errors (``NotFoundError`` with ``status`` 404,
  ``AuthenticationError``, ``RateLimitError``, ...) instead of a bare ``Exception``;
* ``model_kwargs``: ``max_tokens`` is mapped to ``max_generated_token_count``
  (LangChain dropped it silently), ``stop`` is honoured, ``guidance`` and
  ``auto_template`` reach the API, ``multipliers`` default the training weights,
  and an unknown key is an error at construction rather than silently dropped;
* validation checks the workspace id (LangChain's tested the token's length
  instead), accepts any non-empty token, and ``gradient_api_url`` defaults to
  ``https://api.gradient.ai/api`` without the environment variable;
* ``_identifying_params`` include the model id, so LangChain's cache never
  serves one model's answer for another; the token is a ``SecretStr``, never
  shown or traced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.utils import get_from_dict_or_env
from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)
from tuneplug.langchain._binding import Target
from tuneplug.langchain.llm import TuneplugLLMBase
from tuneplug.models import training_steps
from tuneplug.settings_rules import mask_url

from tuneplug_gradient.settings import DEFAULT_API_URL, PROVIDER

__all__ = ["GradientLLM"]

# model_kwargs key -> tuneplug completion option.
_OPTIONS = {
    "max_generated_token_count": "max_tokens",
    "max_tokens": "max_tokens",
    "temperature": "temperature",
    "top_k": "top_k",
    "top_p": "top_p",
    "stop": "stop",
    "guidance": "guidance",
    "auto_template": "auto_template",
}
_TRAINING = frozenset({"multipliers"})


def _check_model_kwargs(kwargs: Mapping[str, Any]) -> None:
    # LangChain's range checks and messages, plus the API's upper bound and unknown keys.
    unknown = sorted(set(kwargs) - set(_OPTIONS) - _TRAINING)
    if unknown:
        known = ", ".join(sorted({*_OPTIONS, *_TRAINING}))
        raise ValueError(f"unknown model_kwargs {', '.join(unknown)} (supported: {known})")
    if kwargs.get("max_generated_token_count") is not None and kwargs.get("max_tokens") is not None:
        raise ValueError("give max_generated_token_count or max_tokens, not both")
    # None means "the API's default", as LangChain sent it.
    temperature, top_p, top_k = (kwargs.get(k) for k in ("temperature", "top_p", "top_k"))
    if temperature is not None and not 0 <= temperature <= 1:
        raise ValueError("`temperature` must be in the range [0.0, 1.0]")
    if top_p is not None and not 0 <= top_p <= 1:
        raise ValueError("`top_p` must be in the range [0.0, 1.0]")
    if top_k is not None and top_k <= 0:
        raise ValueError("`top_k` must be positive")
    # Imported here: the client brings in the HTTP stack, which `import` should not pay for.
    from tuneplug_gradient.client import MAX_TOKENS

    for key in ("max_generated_token_count", "max_tokens"):
        count = kwargs.get(key)
        if count is None:
            continue
        if count <= 0:
            raise ValueError(f"`{key}` must be positive")
        if count > MAX_TOKENS:
            raise ValueError(f"`{key}` must be at most {MAX_TOKENS} (the Gradient API's limit)")


class GradientLLM(TuneplugLLMBase):
    """Gradient completions and fine-tuning as a LangChain LLM (drop-in for LangChain's).

    Example::

        GradientLLM(
            model="99148c6d-c2a0-4fbe-a4a7-e7c05bdb8a09_base_ml_model",
            model_kwargs={"max_generated_token_count": 128, "temperature": 0.75},
            gradient_workspace_id="12345614fc0_workspace",
            gradient_access_token="gradientai-access_token",
        )
    """

    # A bad value's input is never echoed in a ValidationError: it may be the token.
    model_config = ConfigDict(populate_by_name=True, extra="forbid", hide_input_in_errors=True)

    model_id: str = Field(alias="model", min_length=2)
    """A base model or adapter id (a base model's slug works too, looked up once)."""
    gradient_workspace_id: str | None = None
    """The workspace id (``GRADIENT_WORKSPACE_ID``)."""
    gradient_access_token: SecretStr | None = Field(default=None, repr=False)
    """The access token (``GRADIENT_ACCESS_TOKEN``); never shown."""
    model_kwargs: dict[str, Any] | None = None
    """Default options: ``max_generated_token_count`` (or ``max_tokens``), ``temperature``,
    ``top_k``, ``top_p``, ``stop``, ``guidance``, ``auto_template``, ``multipliers``."""
    gradient_api_url: str = DEFAULT_API_URL
    """The API base URL (``GRADIENT_API_URL``)."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds to wait for a response (``None``: ``GRADIENT_TIMEOUT`` or 120)."""
    max_retries: int | None = Field(default=None, ge=0, le=10)
    """Retries of 429/5xx/connection failures (``None``: ``GRADIENT_MAX_RETRIES`` or 2)."""
    streaming: bool = False
    """Report the completion through ``on_llm_new_token`` (Gradient sends it in one piece)."""
    aiosession: Any = Field(default=None, exclude=True, repr=False)
    """Accepted for compatibility and unused: async calls share the provider's pooled client."""

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        for key, env in (
            ("gradient_access_token", "GRADIENT_ACCESS_TOKEN"),
            ("gradient_workspace_id", "GRADIENT_WORKSPACE_ID"),
        ):
            if isinstance(values.get(key), SecretStr):
                continue
            values[key] = get_from_dict_or_env(values, key, env)
        values["gradient_api_url"] = get_from_dict_or_env(
            values, "gradient_api_url", "GRADIENT_API_URL", default=DEFAULT_API_URL
        )
        return values

    @field_validator("gradient_access_token")
    @classmethod
    def _token_set(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            raise ValueError("env variable `GRADIENT_ACCESS_TOKEN` must be set")
        return value

    @field_validator("gradient_workspace_id")
    @classmethod
    def _workspace_set(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            raise ValueError("env variable `GRADIENT_WORKSPACE_ID` must be set")
        return value

    @field_validator("model_kwargs")
    @classmethod
    def _valid_model_kwargs(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            _check_model_kwargs(value)
        return value

    @field_serializer("gradient_api_url")
    def _masked_url(self, url: str) -> str:
        return mask_url(url)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "gradient_api_url" else value

    @property
    def _llm_type(self) -> str:
        return "gradient"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        # LangChain's had no model id, so two models shared cache entries.
        resolved = self._binding().resolved()
        ref = resolved.ref if resolved is not None else f"{PROVIDER}/{self.model_id}"
        identity = {
            "gradient_api_url": mask_url(self.gradient_api_url),
            "model_id": self.model_id,
            "model_kwargs": dict(self.model_kwargs or {}),
            # Training changes the answers: a cached one from before must miss.
            "trained_steps": training_steps(ref),
        }
        call = self._call_options()
        if call:
            identity["call_options"] = call
        return identity

    def _target(self) -> Target:
        options: dict[str, Any] = {}
        for key, value in (self.model_kwargs or {}).items():
            if key in _OPTIONS and value is not None:
                if key == "stop":  # hashable for the Target; one string is one sequence
                    value = (value,) if isinstance(value, str) else tuple(value)
                options[_OPTIONS[key]] = value
        settings: dict[str, Any] = {
            "api_url": self.gradient_api_url,
            "workspace_id": self.gradient_workspace_id,
        }
        if self.gradient_access_token is not None:
            settings["access_token"] = self.gradient_access_token
        if self.timeout is not None:
            settings["timeout"] = self.timeout
        if self.max_retries is not None:
            settings["max_retries"] = self.max_retries
        return Target(reference=f"{PROVIDER}/{self.model_id}", settings=settings, options=options)

    def _train_defaults(self) -> dict[str, Any]:
        multipliers = (self.model_kwargs or {}).get("multipliers")
        return {} if multipliers is None else {"multipliers": multipliers}
