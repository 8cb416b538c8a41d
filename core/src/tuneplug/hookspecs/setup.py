"""The Setup hooks: a provider's settings model, and releasing what it opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug.hookspecs.markers import hookspec

if TYPE_CHECKING:
    from pydantic import BaseModel

    from tuneplug.hookspecs.context import ProviderContext

__all__ = ["SETUP_HOOKS", "Setup"]


class Setup:
    """Hooks that set a provider up and tear it down."""

    @hookspec(firstresult=True)
    def tuneplug_settings(self) -> type[BaseModel] | None:
        """Return the provider's settings model (a pydantic or pydantic-settings class).

        The core fills it, highest precedence first, from explicit arguments,
        the environment (as the model's own ``env_prefix`` / aliases read it),
        ``[providers.<name>]`` in the project config, the same table in the user
        config, then the model's defaults. Declare secrets as ``SecretStr`` so
        they never show in output. Validation errors become ``ConfigError``.
        """

    @hookspec
    def tuneplug_close(self, ctx: ProviderContext) -> None:
        """Release what the provider opened for ``ctx`` (pooled HTTP clients, files)."""


SETUP_HOOKS = frozenset({"tuneplug_settings", "tuneplug_close"})
"""Hook names of the Setup group."""
