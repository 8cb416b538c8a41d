"""LangChain integration: any tuneplug model as a LangChain LLM or chat model.

Install the extra (``pip install 'tuneplug[langchain]'``), then::

    from tuneplug.langchain import TuneplugChat, TuneplugLLM

    llm = TuneplugLLM(model="mock/tiny", max_tokens=64)      # any provider/model or alias
    (PromptTemplate.from_template("Question: {q}\\n\\nAnswer: ") | llm).invoke({"q": "..."})
    TuneplugChat(model="mock/tiny").invoke("Hello")

``import tuneplug`` never imports this package. The names below load on first
use, so ``tuneplug.chat_templates`` (chat templates, no LangChain import) is
cheap for a provider plugin to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug._lazy import lazy_exports

__all__ = [
    "ChatTemplate",
    "TrainResult",
    "TuneplugChat",
    "TuneplugLLM",
    "TuneplugLLMBase",
]

_EXPORTS = {
    "ChatTemplate": "tuneplug.chat_templates",
    "TrainResult": "tuneplug.langchain._binding",
    "TuneplugChat": "tuneplug.langchain.chat",
    "TuneplugLLM": "tuneplug.langchain.llm",
    "TuneplugLLMBase": "tuneplug.langchain.llm",
}

if TYPE_CHECKING:
    from tuneplug.chat_templates import ChatTemplate
    from tuneplug.langchain._binding import TrainResult
    from tuneplug.langchain.chat import TuneplugChat
    from tuneplug.langchain.llm import TuneplugLLM, TuneplugLLMBase


def _install_hint(exc: ModuleNotFoundError) -> str | None:
    if exc.name is not None and exc.name.split(".")[0] == "langchain_core":
        return "tuneplug.langchain needs langchain-core: pip install 'tuneplug[langchain]'"
    return None


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), missing_hint=_install_hint)
