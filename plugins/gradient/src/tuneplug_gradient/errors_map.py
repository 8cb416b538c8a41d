"""Gradient's failures on :mod:`tuneplug.http`'s error mapping.

The status mapping, message quoting (cut to 300 characters, secrets masked first)
and ``retryable`` ("safe to send again") are the core's
(:class:`tuneplug.http.ErrorMapper`); Gradient adds its hints and the body ``type``
values that mean "not found" whatever the 4xx status (the spec documents only
"4XX", so the type refines it). Gradient sends no request id header.
"""

from __future__ import annotations

from collections.abc import Mapping

from tuneplug.http import ErrorMapper

from tuneplug_gradient.settings import PROVIDER

__all__ = ["NOT_FOUND_TYPES", "error_mapper"]

NOT_FOUND_TYPES = frozenset({"unknownModelAdapter", "unknownBaseModel"})


def error_mapper(
    token: str, origins: Mapping[str, str] | None = None, provider: str = PROVIDER
) -> ErrorMapper:
    """The mapper of the Gradient client of ``provider`` (the plugin, or an instance:
    ``[providers.NAME] plugin = "gradient"``) whose access token is ``token`` (never
    shown); ``origins`` (the provider's ``ctx.origins``) say where the token, the workspace
    and ``api_url`` were set, for the hints (when they do not say: the variables for the
    plugin, the instance's table for an instance, which never reads them)."""
    given = origins or {}
    table = f"[providers.{provider}]"
    default_token = "GRADIENT_ACCESS_TOKEN" if provider == PROVIDER else f"access_token in {table}"
    default_workspace = (
        "GRADIENT_WORKSPACE_ID" if provider == PROVIDER else f"workspace_id in {table}"
    )
    token_at = given.get("access_token", default_token)
    workspace_at = given.get("workspace_id", default_workspace)
    url_at = given.get("api_url")
    return ErrorMapper(
        provider=provider,
        secrets=(token,),
        auth_hint=f"check {token_at}",
        permission_hint=f"check {workspace_at} and the token's workspace",
        model_not_found_types=NOT_FOUND_TYPES,
        request_id_header=None,
        connect_hint=f"check {url_at}" if url_at else "",
    )
