"""Gradient's failures on :mod:`tuneplug.http`'s error mapping.

The status mapping, message quoting (cut to 300 characters, secrets masked first)
and ``retryable`` ("safe to send again") are the core's
(:class:`tuneplug.http.ErrorMapper`); Gradient adds its hints and the body ``type``
values that mean "not found" whatever the 4xx status (the spec documents only
"4XX", so the type refines it). Gradient sends no request id header.
"""

from __future__ import annotations

from tuneplug.http import ErrorMapper

from tuneplug_gradient.settings import PROVIDER

__all__ = ["NOT_FOUND_TYPES", "error_mapper"]

NOT_FOUND_TYPES = frozenset({"unknownModelAdapter", "unknownBaseModel"})


def error_mapper(token: str) -> ErrorMapper:
    """The mapper of a Gradient client whose access token is ``token`` (never shown)."""
    return ErrorMapper(
        provider=PROVIDER,
        secrets=(token,),
        auth_hint="check GRADIENT_ACCESS_TOKEN",
        permission_hint="check GRADIENT_WORKSPACE_ID and the token's workspace",
        not_found_types=NOT_FOUND_TYPES,
        request_id_header=None,
    )
