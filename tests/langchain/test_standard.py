"""LangChain's standard chat-model suites (``langchain-tests``) for ``TuneplugChat`` on the mock.

The capability flags say what ``TuneplugChat`` really does; every test they skip
is skipped for that stated reason:

* no tool calling (``has_tool_calling``, ``has_tool_choice``): tuneplug models
  complete text, and faking tool calls by parsing free text is not offered;
* so no structured output and no JSON mode (``has_structured_output``,
  ``supports_json_mode``): both need tool calling or a constrained decoder;
* text only: no image, PDF, audio or video inputs, no Anthropic-style blocks;
* not serializable (``is_lc_serializable`` is false): LangChain would then key its
  cache on constructor arguments (an alias, the default model) instead of the
  resolved model, and provider settings may hold secrets.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests
from tuneplug.langchain import TuneplugChat

# test_stream_time runs the stream once without its benchmark when the cassette is empty,
# which it always is here (the mock does no HTTP); pytest-benchmark warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")


class _Flags:
    """The honest capability flags, shared by both suites."""

    @property
    def chat_model_class(self) -> type[BaseChatModel]:
        return TuneplugChat

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "mock/tiny"}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_tool_choice(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def supports_json_mode(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True  # the mock counts tokens; providers that do not report them return None

    @property
    def supports_model_override(self) -> bool:
        return True  # invoke(..., model="mock/echo") calls that model

    @property
    def model_override_value(self) -> str:
        return "mock/echo"


class TestTuneplugChatUnit(_Flags, ChatModelUnitTests):
    """``ChatModelUnitTests`` (construction, standard params, no I/O)."""

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return {"TUNEPLUG_MODEL": "mock/echo"}, {}, {"model": "mock/echo"}


class TestTuneplugChatIntegration(_Flags, ChatModelIntegrationTests):
    """``ChatModelIntegrationTests`` against the mock provider's ``tiny`` model."""

    @property
    def enable_vcr_tests(self) -> bool:
        return True  # the mock does no HTTP: the cassette stays empty and the stream runs once
