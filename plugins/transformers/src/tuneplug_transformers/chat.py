"""The tokenizer's chat template as a tuneplug :class:`ChatTemplate`, for chat *samples*.

Chat completions render messages with ``apply_chat_template`` itself. Chat training
samples, though, reach the provider already turned into ``{value, trainable}`` parts
by the core, through ``tuneplug_chat_template``. So that a model trains on exactly the
layout it is prompted with, the jinja template is probed with marker contents and cut
into per-role prefixes and suffixes; the result is used only if it renders a probe
conversation byte for byte as the jinja template does. Templates with logic the
string form cannot express (a default system prompt, content-dependent turns) give
``None``, and the core falls back to its ``default`` layout.
"""

from __future__ import annotations

from typing import Any

from tuneplug.chat_templates import ChatTemplate, Role

__all__ = ["derive_template", "end_of_turn_ids"]

_S, _U, _A, _U2 = "\x01sys\x01", "\x01usr\x01", "\x01ast\x01", "\x01usr2\x01"


def _render(tokenizer: Any, turns: list[tuple[str, str]], generation: bool) -> str:
    messages = [{"role": role, "content": content} for role, content in turns]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation)
    return str(text)


def _between(text: str, start: str, end: str) -> str | None:
    a = text.find(start)
    b = text.find(end, a + len(start)) if a >= 0 else -1
    return text[a + len(start) : b] if a >= 0 and b >= 0 else None


def derive_template(tokenizer: Any) -> ChatTemplate | None:
    """The tokenizer's chat template as prefix/suffix strings, or ``None`` if it has none
    or the string form cannot reproduce it."""
    if not getattr(tokenizer, "chat_template", None):
        return None
    try:
        full = _render(
            tokenizer, [("system", _S), ("user", _U), ("assistant", _A), ("user", _U2)], True
        )
        only_user = _render(tokenizer, [("user", _U)], False)
        with_gen = _render(tokenizer, [("user", _U)], True)
    except Exception:  # templates may raise on roles or orders they do not support
        return None
    # A user turn between an assistant turn and the next user turn: its own wrapping.
    user_prefix = _between(only_user, "", _U)
    user_suffix = only_user[only_user.find(_U) + len(_U) :] if _U in only_user else None
    s_to_u = _between(full, _S, _U)
    u_to_a = _between(full, _U, _A)
    a_to_u2 = _between(full, _A, _U2)
    if None in (user_prefix, user_suffix, s_to_u, u_to_a, a_to_u2) or not with_gen.startswith(
        only_user
    ):
        return None
    assert user_prefix is not None and user_suffix is not None
    assert s_to_u is not None and u_to_a is not None and a_to_u2 is not None
    if not (s_to_u.endswith(user_prefix) and u_to_a.startswith(user_suffix)):
        return None
    if not a_to_u2.endswith(user_prefix):
        return None
    derived = ChatTemplate(
        name="tokenizer",
        system_prefix=full[: full.find(_S)],
        system_suffix=s_to_u[: len(s_to_u) - len(user_prefix)],
        user_prefix=user_prefix,
        user_suffix=user_suffix,
        assistant_prefix=u_to_a[len(user_suffix) :],
        assistant_suffix=a_to_u2[: len(a_to_u2) - len(user_prefix)],
        generation_prompt=with_gen[len(only_user) :],
        stop=tuple(s for s in (a_to_u2[: len(a_to_u2) - len(user_prefix)].strip(),) if s),
    )
    probe: list[tuple[Role, str]] = [("system", _S), ("user", _U), ("assistant", _A), ("user", _U2)]
    if derived.render(probe) != full:
        return None
    return derived


def end_of_turn_ids(tokenizer: Any) -> frozenset[int]:
    """The ids of the chat template's end-of-turn tokens (ChatML's ``<|im_end|>``): where
    chat completions stop, and where a chat training sample already ends. Only stops
    that are one token of the vocabulary; empty without a derivable template."""
    derived = derive_template(tokenizer)
    ends: set[int] = set()
    for stop in derived.stop if derived is not None else ():
        found = tokenizer.convert_tokens_to_ids(stop)
        if isinstance(found, int) and found != tokenizer.unk_token_id:
            ends.add(found)
    return frozenset(ends)
