"""Which base model a name refers to: a configured name, a local directory or a hub id.

A reference ``transformers/<name>`` is read, first match wins:

1. ``<name>`` is a key of ``[providers.transformers] models``: its value (a directory or
   hub id); the model's id is the key.
2. ``<name>`` starts with ``/``, ``./``, ``../`` or ``~``: a local directory; the id is
   its absolute path, so ``transformers/./tiny`` comes back as ``transformers//abs/tiny``.
3. ``<name>`` is an existing directory relative to the working directory (as
   ``from_pretrained`` itself checks first): the same as 2.
4. Anything else (once the runtime found no adapter of that id or name, see ``names``)
   is a Hugging Face hub id (``HuggingFaceTB/SmolLM2-135M``), loaded the
   standard way (the user's cache, the network unless ``HF_HUB_OFFLINE`` is set).

Nothing here imports torch or transformers; only a hub id under ``HF_HUB_OFFLINE``
asks huggingface_hub's cache, so an uncached model fails before any loading.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tuneplug.errors import UnknownModelError

if TYPE_CHECKING:  # settings import this module's PROVIDER (through ``device``)
    from tuneplug_transformers.settings import TransformersSettings

__all__ = ["MAX_RANK", "PROVIDER", "BaseSource", "find_base"]

PROVIDER = "transformers"

MAX_RANK = 256
"""The highest LoRA rank a new adapter takes (declared with ``tuneplug_adapter_limits``)."""

_PATH_PREFIXES = ("/", "./", "../", "~")
# Hub ids as huggingface_hub validates them: an optional namespace and a name.
_HUB_ID = re.compile(r"^(?:[\w.-]{1,96}/)?[\w.-]{1,96}$")


@dataclass(frozen=True)
class BaseSource:
    """Where a base model comes from.

    Attributes:
        id: the provider's model id (a configured name, an absolute path or a hub id).
        location: what ``from_pretrained`` is given: an absolute directory or a hub id.
        local: whether ``location`` is a directory.
    """

    id: str
    location: str
    local: bool

    @property
    def name(self) -> str:
        """A short display name: the directory's or the hub repository's last part."""
        return self.id if not self.local else Path(self.location).name


def _directory(raw: str, model_id: str | None) -> BaseSource:
    path = Path(raw).expanduser().resolve()
    if not (path / "config.json").is_file():
        raise UnknownModelError(
            f"no model directory at {path} (a transformers model directory has config.json)",
            provider=PROVIDER,
        )
    return BaseSource(id=model_id or str(path), location=str(path), local=True)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _hub(repo_id: str, model_id: str) -> BaseSource | None:
    if not _HUB_ID.match(repo_id) or ".." in repo_id:
        return None
    if _truthy(os.environ.get("HF_HUB_OFFLINE")):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(repo_id, "config.json")
        if not isinstance(cached, str):
            raise UnknownModelError(
                f"model {repo_id!r} is not in the Hugging Face cache and HF_HUB_OFFLINE is "
                f"set: download it once with network (`hf download {repo_id}`), or point "
                "at a local directory",
                provider=PROVIDER,
            )
    return BaseSource(id=model_id, location=repo_id, local=False)


def find_base(name: str, settings: TransformersSettings) -> BaseSource | None:
    """The base model ``name`` refers to, ``None`` if it cannot name one.

    Raises:
        UnknownModelError: ``name`` is a path without a model, or a hub id that is
            not cached while ``HF_HUB_OFFLINE`` is set.
    """
    configured = settings.models.get(name)
    if configured is not None:
        if configured.startswith(_PATH_PREFIXES) or Path(configured).is_dir():
            return _directory(configured, name)
        return _hub(configured, name)
    if name.startswith(_PATH_PREFIXES):
        return _directory(name, None)
    if Path(name).is_dir():
        return _directory(name, None)
    return _hub(name, name)
