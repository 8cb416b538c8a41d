"""Settings and declared options of the transformers provider.

Settings come from ``[providers.transformers]`` in config or ``TUNEPLUG_TRANSFORMERS_*``
variables; the option models are what ``tuneplug_options`` declares, so the core
validates a call's provider-specific keywords before any I/O.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from tuneplug.paths import home

from tuneplug_transformers.device import check_device_form

__all__ = ["AdapterOptions", "CompletionExtras", "TransformersSettings"]

Dtype = Literal["auto", "float32", "bfloat16", "float16"]


class TransformersSettings(BaseSettings):
    """How the provider finds, places and stores models.

    Attributes:
        models: names for base models, ``{"tiny" = "/path/to/dir", "smol" =
            "HuggingFaceTB/SmolLM2-135M"}``: each value is a local directory or a
            Hugging Face hub id; ``transformers/<name>`` then refers to it.
        device: ``"auto"`` (CUDA, then MPS, then CPU) or ``cpu``, ``cuda``, ``mps``,
            ``xpu``, optionally with an index (``"cuda:1"``); whether the machine has it
            is checked when a model loads (a ``ConfigError`` naming where it was set).
        dtype: ``"auto"`` (bfloat16 on a GPU that supports it, float16 on other
            GPUs and MPS, float32 on the CPU) or a fixed torch dtype name.
        threads: torch's CPU threads (``torch.set_num_threads``); ``None`` keeps
            torch's default.
        adapters_dir: where adapters live; ``None`` means
            ``$TUNEPLUG_HOME/transformers/adapters``, resolved at first use.
        durable: fsync every training step's files before it counts as done, so a
            power loss (not only a killed process) keeps old or new state.
        trust_remote_code: passed to ``from_pretrained`` (hub models with custom code).
    """

    model_config = SettingsConfigDict(
        env_prefix="TUNEPLUG_TRANSFORMERS_", env_ignore_empty=True, extra="forbid"
    )

    models: dict[str, str] = Field(default_factory=dict)
    device: str = "auto"
    dtype: Dtype = "auto"
    threads: int | None = Field(default=None, ge=1, le=1024)
    adapters_dir: Path | None = None
    durable: bool = True
    trust_remote_code: bool = False

    @field_validator("device")
    @classmethod
    def _device_form(cls, value: str) -> str:
        # The form only: whether this machine has the device is known once torch is
        # imported, when a model loads (``device.choose_device``).
        return check_device_form(value)

    @field_validator("models")
    @classmethod
    def _names_are_plain(cls, value: dict[str, str]) -> dict[str, str]:
        for name, target in value.items():
            if not name or "/" in name:
                raise ValueError(f"model name {name!r} must be non-empty and contain no '/'")
            if not target:
                raise ValueError(f"model {name!r} points at an empty path or hub id")
        return value

    def adapters_path(self) -> Path:
        """The directory holding every adapter (created by the store when it writes)."""
        if self.adapters_dir is not None:
            return self.adapters_dir.expanduser()
        return home() / "transformers" / "adapters"


class CompletionExtras(BaseModel):
    """Provider-specific completion options (``model.complete(..., repetition_penalty=1.1)``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repetition_penalty: float | None = Field(
        default=None,
        gt=0.0,
        le=10.0,
        description="Repetition penalty, transformers' (1.0: none; above 1 discourages repeats).",
    )


class AdapterOptions(BaseModel):
    """PEFT LoRA keywords of ``create_adapter`` (names as ``peft.LoraConfig`` has them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lora_alpha: float | None = Field(
        default=None, gt=0.0, le=1e6, description="LoRA scaling numerator (default: 2 x rank)."
    )
    lora_dropout: float = Field(
        default=0.0, ge=0.0, lt=1.0, description="Dropout on the LoRA input (PEFT's default: 0)."
    )
    target_modules: tuple[str, ...] | None = Field(
        default=None,
        min_length=1,
        description="Module names to adapt, e.g. ['q_proj', 'v_proj'] (default: per architecture).",
    )

    init_seed: int | None = Field(
        default=None,
        ge=0,
        lt=2**63,
        description="Seed of the LoRA weights' random init (same seed: same adapter).",
    )

    @field_validator("target_modules", mode="before")
    @classmethod
    def _as_tuple(cls, value: object) -> object:
        if isinstance(value, str):
            return (value,)
        return tuple(value) if isinstance(value, list) else value

    @field_validator("target_modules")
    @classmethod
    def _names_not_empty(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and any(not name.strip() for name in value):
            raise ValueError("target module names must not be empty")
        return value
