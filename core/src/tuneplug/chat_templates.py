"""Chat templates: how a conversation becomes one prompt for a model without native chat.

``Model.chat`` (and ``tuneplug chat``, :class:`~tuneplug.langchain.TuneplugChat`)
sends messages as they are to a provider whose completion hooks take
``messages``; for any other, the conversation is rendered to a prompt first. A
:class:`ChatTemplate` says how each role's turn is written, what opens the
assistant's reply, and which stop sequences end the reply (the model starting
the next turn). Three templates ship:

* ``default``: ``User: ...`` / ``Assistant: ...`` turns separated by a blank line;
* ``qa``: the Gradient notebook's ``Question: ...\\n\\nAnswer: ...`` layout;
* ``chatml``: ``<|im_start|>role ... <|im_end|>`` (Nous Hermes 2 and other ChatML models).

This module imports nothing from LangChain, so a provider plugin may import it
cheaply to supply a template of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["CHATML", "DEFAULT", "QA", "TEMPLATES", "ChatTemplate", "Role", "template"]

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatTemplate:
    """How a conversation becomes a completion prompt.

    Each role has a ``prefix`` and ``suffix`` written around its content (plain
    concatenation, so braces in a message need no escaping). The prompt ends
    with ``generation_prompt``, which opens the assistant's reply; ``stop``
    sequences mark the model starting another turn, and the reply is cut there.
    """

    name: str
    system_prefix: str = ""
    system_suffix: str = "\n\n"
    user_prefix: str = "User: "
    user_suffix: str = "\n\n"
    assistant_prefix: str = "Assistant: "
    assistant_suffix: str = "\n\n"
    generation_prompt: str = "Assistant: "
    stop: tuple[str, ...] = ()

    def _wrap(self, role: Role, content: str) -> str:
        if role == "system":
            return f"{self.system_prefix}{content}{self.system_suffix}"
        if role == "user":
            return f"{self.user_prefix}{content}{self.user_suffix}"
        return f"{self.assistant_prefix}{content}{self.assistant_suffix}"

    def render(self, turns: Iterable[tuple[Role, str]]) -> str:
        """The prompt for ``turns`` (``(role, text)`` pairs, oldest first), reply opened."""
        return "".join(self._wrap(role, text) for role, text in turns) + self.generation_prompt


DEFAULT = ChatTemplate(name="default", stop=("\nUser:", "\nSystem:"))
"""Role-labelled turns; works tolerably with any base model (the fallback)."""

QA = ChatTemplate(
    name="qa",
    user_prefix="Question: ",
    assistant_prefix="Answer: ",
    generation_prompt="Answer: ",
    stop=("\nQuestion:",),
)
"""The seed notebook's ``Question: ...\\n\\nAnswer: `` layout (what ``mock/tiny`` learnt from)."""

CHATML = ChatTemplate(
    name="chatml",
    system_prefix="<|im_start|>system\n",
    system_suffix="<|im_end|>\n",
    user_prefix="<|im_start|>user\n",
    user_suffix="<|im_end|>\n",
    assistant_prefix="<|im_start|>assistant\n",
    assistant_suffix="<|im_end|>\n",
    generation_prompt="<|im_start|>assistant\n",
    stop=("<|im_end|>",),
)
"""ChatML, as Nous Hermes 2 (Gradient's ``nous-hermes2``) was trained on."""

TEMPLATES: Mapping[str, ChatTemplate] = {t.name: t for t in (DEFAULT, QA, CHATML)}
"""The shipped templates by name."""


def template(value: ChatTemplate | str) -> ChatTemplate:
    """A template, or the shipped template of that name.

    Raises:
        InvalidRequestError: ``value`` names no shipped template (naming the known ones).
    """
    if isinstance(value, ChatTemplate):
        return value
    found = TEMPLATES.get(value)
    if found is None:
        known = ", ".join(sorted(TEMPLATES))
        from tuneplug.errors import InvalidRequestError

        raise InvalidRequestError(f"unknown chat template {value!r} (known: {known})")
    return found
