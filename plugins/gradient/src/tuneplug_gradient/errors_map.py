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

__all__ = ["NOT_FOUND_TYPES", "OPENAI_TYPES", "ROUTES", "error_mapper"]

NOT_FOUND_TYPES = frozenset({"unknownModelAdapter", "unknownBaseModel"})

ROUTES = frozenset(
    {"GET /models", "POST /models", "DELETE /models/{id}", "POST /models/{id}/complete",
     "POST /models/{id}/fine-tune"}
)  # fmt: skip
"""The operations every Gradient server answers: a bare 404, a 405 or a body without
Gradient's shape there means ``api_url`` is not Gradient's root."""

OPENAI_TYPES = frozenset(
    {"invalid_api_key", "invalid_request_error", "model_not_found", "unknown_url",
     "method_not_allowed"}
)  # fmt: skip
"""Error types and codes of OpenAI's API (snake_case; Gradient's are camelCase): a server
sending one is an OpenAI-compatible one, so ``api_url`` is another protocol's root."""


def error_mapper(
    token: str, origins: Mapping[str, str] | None = None, provider: str = PROVIDER
) -> ErrorMapper:
    """The mapper of the Gradient client of ``provider`` (the plugin, or an instance:
    ``[providers.NAME] plugin = "gradient"``) whose access token is ``token`` (never
    shown); ``origins`` (the provider's ``ctx.origins``) say where the token, the workspace
    and ``api_url`` were set, for the hints (when they do not say: the variables for the
    plugin, the instance's table for an instance, which never reads them). A wrong
    ``api_url`` (a bare 404, a 405 or a non-Gradient body at a Gradient route, or an
    OpenAI error type) names the URL and where ``api_url`` was set."""
    given = origins or {}
    table = f"[providers.{provider}]"
    default_token = "GRADIENT_ACCESS_TOKEN" if provider == PROVIDER else f"access_token in {table}"
    default_workspace = (
        "GRADIENT_WORKSPACE_ID" if provider == PROVIDER else f"workspace_id in {table}"
    )
    token_at = given.get("access_token", default_token)
    workspace_at = given.get("workspace_id", default_workspace)
    url_at = given.get("api_url")
    default_url = "GRADIENT_API_URL" if provider == PROVIDER else f"api_url in {table}"
    return ErrorMapper(
        provider=provider,
        secrets=(token,),
        auth_hint=f"check {token_at}",
        permission_hint=f"check {workspace_at} and the token's workspace",
        model_not_found_types=NOT_FOUND_TYPES,
        request_id_header=None,
        routes=ROUTES,
        route_hint=f"check {url_at or default_url} (Gradient's API is under /api)",
        foreign_types=OPENAI_TYPES,
        connect_hint=f"check {url_at}" if url_at else "",
    )
