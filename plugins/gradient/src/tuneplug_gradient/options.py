"""The Gradient provider's own completion options, declared to the core (``tuneplug_options``).

The core validates a call's provider-specific keywords against
:class:`GradientOptions` before any request: an unknown name is an
``InvalidRequestError`` listing the valid ones, and ``tuneplug models
gradient/<model> --options`` shows these fields. The finer shape of
``guidance`` (1..10 choices of 1..32 characters) is checked when the request
body is built, still before any I/O.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

__all__ = ["GradientOptions"]


class GradientOptions(BaseModel):
    """``complete`` options of the Gradient API beyond the common ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    guidance: list[str] | dict[str, Any] | None = Field(
        default=None,
        description='Constrain the output to one of these choices: ["yes", "no"], or the wire '
        'object {"type": "choice", "value": [...]}.',
    )
    auto_template: StrictBool | None = Field(
        default=None,
        description="Let Gradient wrap the prompt in the model's own prompt template.",
    )
