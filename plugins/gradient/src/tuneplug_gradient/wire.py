"""The Gradient v1 wire format: one pydantic model per request and response body.

The single source of truth for both sides of the protocol: the provider builds
requests and parses responses with these models, and the server parses requests
and builds responses with the same ones. Field names are snake_case in Python
and camelCase on the wire; constraints follow the official SDK (gradientai
1.13.1) and ``docs/gradient-api`` notes: 50-character ids, ``maxGeneratedTokenCount``
1..511, ``0 < rank <= 32``, ``0 < learningRate < 1``, ``multiplier > 0``.

Explicit ``null`` is accepted everywhere an optional field is, because the SDK
sends every optional key, set or not.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "ADAPTER_SUFFIX",
    "BASE_SUFFIX",
    "ID_LENGTH",
    "MAX_RANK",
    "BaseModelEntry",
    "CompleteRequest",
    "CompleteResponse",
    "CreateAdapterRequest",
    "CreateAdapterResponse",
    "ErrorBody",
    "FineTuneRequest",
    "FineTuneResponse",
    "FineTuningParameters",
    "Guidance",
    "Hyperparameters",
    "ListModelsResponse",
    "LoraHyperparameters",
    "ModelAdapterEntry",
    "NewModel",
    "StructuredInput",
    "TrainingArguments",
    "WireSample",
]

ID_LENGTH = 50
"""Base model and adapter ids are ``<uuid4>_base_ml_model`` / ``<uuid4>_model_adapter``."""
BASE_SUFFIX = "_base_ml_model"
ADAPTER_SUFFIX = "_model_adapter"

WireCapability = Literal["complete", "fineTune"]
ErrorType = Literal[
    "bodyParsingError",
    "queryOrPathParsingError",
    "flaggedContent",
    "failed",
    "modelDoesNotSupportGuidance",
    "modelIncapableOfFineTuning",
    "nanLoss",
    "noRagDocumentsFound",
    "ragRequiresAutoTemplating",
    "unknownBaseModel",
    "unknownModelAdapter",
    "unknownRagCollection",
    "unprocessableContent",
]


class Wire(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown response keys tolerated."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body, camelCase, with explicit nulls kept (as the SDK sends them)."""
        return self.model_dump(mode="json", by_alias=True)


class StrictWire(Wire):
    """Request bodies: unknown keys are a parsing error, as on the real server."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", allow_inf_nan=False
    )


# -- models ----------------------------------------------------------------------------


class BaseModelEntry(Wire):
    """A base model in ``GET /models``."""

    type: Literal["baseModel"] = "baseModel"
    id: Annotated[str, Field(min_length=ID_LENGTH, max_length=ID_LENGTH)]
    name: Annotated[str, Field(min_length=1)]
    slug: Annotated[str, Field(min_length=1)]
    capabilities: list[WireCapability]


class ModelAdapterEntry(Wire):
    """An adapter in ``GET /models`` and the body of ``GET /models/{id}``."""

    type: Literal["modelAdapter"] = "modelAdapter"
    id: Annotated[str, Field(min_length=ID_LENGTH, max_length=ID_LENGTH)]
    name: Annotated[str, Field(min_length=1)]
    base_model_id: Annotated[str, Field(min_length=1)]
    latest_update_time: str


class ListModelsResponse(Wire):
    """``GET /models`` → ``{"models": [...]}``, entries told apart by ``type``."""

    models: list[Annotated[BaseModelEntry | ModelAdapterEntry, Field(discriminator="type")]]


MAX_RANK = 32
"""The highest LoRA rank Gradient's ``POST /models`` takes."""


class LoraHyperparameters(StrictWire):
    """``initialHyperparameters.loraHyperparameters``."""

    rank: Annotated[StrictInt, Field(gt=0, le=MAX_RANK)] | None = None


class TrainingArguments(StrictWire):
    """``initialHyperparameters.trainingArguments``."""

    learning_rate: Annotated[float, Field(gt=0, lt=1)] | None = None


class Hyperparameters(StrictWire):
    """``initialHyperparameters`` of ``POST /models``."""

    lora_hyperparameters: LoraHyperparameters | None = None
    training_arguments: TrainingArguments | None = None


class NewModel(StrictWire):
    """``model`` of ``POST /models``."""

    base_model_id: Annotated[str, Field(min_length=1)]
    name: Annotated[str, Field(min_length=1)]


class CreateAdapterRequest(StrictWire):
    """``POST /models``."""

    initial_hyperparameters: Hyperparameters | None = None
    model: NewModel


class CreateAdapterResponse(Wire):
    """``POST /models`` → ``{"id"}``."""

    id: Annotated[str, Field(min_length=1)]


# -- complete -------------------------------------------------------------------------


class Guidance(StrictWire):
    """Constrain the output to one of 1..10 values of 1..32 characters."""

    type: Literal["choice"] = "choice"
    value: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=32)]],
        Field(min_length=1, max_length=10),
    ]


class RagOptions(StrictWire):
    """``rag`` of a completion (accepted on the wire; retrieval is out of scope)."""

    collection_id: Annotated[str, Field(min_length=1)]


class CompleteRequest(StrictWire):
    """``POST /models/{id}/complete``."""

    query: Annotated[str, Field(min_length=1)]
    max_generated_token_count: Annotated[StrictInt, Field(gt=0, lt=512)] | None = None
    temperature: float | None = None
    top_k: StrictInt | None = None
    top_p: float | None = None
    guidance: Guidance | None = None
    auto_template: StrictBool | None = None
    rag: RagOptions | None = None


class CompleteResponse(Wire):
    """``POST /models/{id}/complete`` → ``{"finishReason", "generatedOutput"}``."""

    finish_reason: str
    generated_output: str


# -- fine-tune ------------------------------------------------------------------------


class StructuredInput(StrictWire):
    """One part of a structured sample."""

    value: Annotated[str, Field(min_length=1)]
    trainable: StrictBool = True
    parse_special_tokens: StrictBool = True

    @field_validator("trainable", "parse_special_tokens", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any) -> Any:
        # Both default to true; an explicit null asks for that default, as everywhere else.
        return True if value is None else value


class FineTuningParameters(StrictWire):
    """``fineTuningParameters`` of a sample."""

    multiplier: Annotated[float, Field(gt=0)] | None = None


class WireSample(StrictWire):
    """One sample of ``POST /models/{id}/fine-tune``."""

    inputs: (
        Annotated[str, Field(min_length=1)] | Annotated[list[StructuredInput], Field(min_length=1)]
    )
    fine_tuning_parameters: FineTuningParameters | None = None


class FineTuneRequest(StrictWire):
    """``POST /models/{id}/fine-tune``."""

    samples: Annotated[list[WireSample], Field(min_length=1)]


class FineTuneResponse(Wire):
    """``POST /models/{id}/fine-tune`` → ``{"numberOfTrainableTokens", "sumLoss"}``."""

    number_of_trainable_tokens: Annotated[int, Field(ge=0)]
    sum_loss: float


# -- errors ---------------------------------------------------------------------------


class ErrorBody(Wire):
    """Every 4XX/5XX body: ``{"message"}``, typed ones add ``type`` and maybe ``payload``."""

    message: str
    type: str | None = None
    payload: dict[str, Any] | None = None
