"""The tuneplug error hierarchy.

Every failure a user can see is a :class:`TuneplugError`. Each carries the
``provider`` it came from (when there is one), the HTTP ``status`` (when there
is one) and whether retrying the same call may succeed (``retryable``).
``str(error)`` is ``provider: message (HTTP status)``, without the ``provider: ``
when the message's first clause names that provider already (``plugin 'boom'
(tuneplug-boom): tuneplug_complete raised ...``, ``provider instance 'local': ...``);
:meth:`TuneplugError.said_of` is the same where the provider is said already (a job's
journal, a ``provider 'x' skipped: ...`` line).
Provider SDK or HTTP exceptions never escape raw: plugins translate them into
these classes.

This module imports nothing heavy so that ``import tuneplug.errors`` is cheap.
"""

from __future__ import annotations

__all__ = [
    "AdapterBusyError",
    "AdapterChangedError",
    "AuthenticationError",
    "CapabilityError",
    "ConfigError",
    "ConnectionError",
    "InputFileError",
    "InvalidRequestError",
    "NotConfiguredError",
    "NotFoundError",
    "OptionError",
    "PermissionDeniedError",
    "PluginError",
    "PluginLoadError",
    "RateLimitError",
    "SampleFileError",
    "ServerError",
    "TimeoutError",
    "TuneplugError",
    "UnknownModelError",
    "UnknownProviderError",
]

import builtins

# How a message's first clause names a provider (see TuneplugError.__str__).
_NAMING = ("plugin", "provider instance", "provider name")


class TuneplugError(Exception):
    """Base class of every tuneplug error.

    Attributes:
        message: the human-readable explanation, without secrets.
        provider: the provider name the error came from, or ``None``.
        status: the HTTP status code where there is one, else ``None``.
        retryable: whether the same call may succeed if retried later.
    """

    retryable_default: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retryable = self.retryable_default if retryable is None else retryable

    def __str__(self) -> str:
        return self.said_of(None)

    def said_of(self, named: str | None) -> str:
        """``str(self)`` where the provider ``named`` is said already (a job of it, a
        ``provider 'x' skipped: ...`` line): ``provider: message (HTTP status)``, without
        the ``provider: `` when it is ``named`` or the message's first clause names it."""
        said = not self.provider or self.provider == named or self._names_provider()
        prefix = "" if said else f"{self.provider}: "
        suffix = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{prefix}{self.message}{suffix}"

    def _names_provider(self) -> bool:
        # "boom: plugin 'boom' (tuneplug-boom): ..." names it twice: a message whose first
        # clause names the provider (as a plugin, an instance or a claimed name) is enough.
        head = self.message.partition(": ")[0]
        name = repr(self.provider)
        return any(f"{kind} {name}" in head for kind in _NAMING)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"status={self.status!r}, retryable={self.retryable!r})"
        )


class ConfigError(TuneplugError):
    """Configuration is malformed or incomplete (bad TOML, missing credentials, bad alias).

    Attributes:
        problems: each problem on one line; a config file's start with ``FILE:LINE:``
            (the compiler's form editors jump to) and an environment variable's with
            ``VARIABLE:``. One, the ``message``, unless several were found at once: the
            message is then ``N problems in the config:`` followed by these lines.
    """

    def __init__(
        self,
        message: str,
        *,
        problems: tuple[str, ...] | None = None,
        provider: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, retryable=retryable)
        self.problems = problems if problems else (message,)


class NotConfiguredError(ConfigError):
    """A provider lacks settings only its user can give (credentials, a workspace).

    A normal state for an installed provider one does not use: listing every
    provider's models passes it by (``tuneplug models`` shows it as not
    configured, even in strict mode); calling one of its models raises it,
    naming what to set.
    """


class PluginLoadError(TuneplugError):
    """A provider plugin could not be loaded (import error, bad hooks, name clash)."""


class PluginError(TuneplugError):
    """A provider plugin broke the hook contract: a hook raised an exception that is not a
    ``TuneplugError`` (the original is ``__cause__``), or returned the wrong type.

    A bug in the plugin, not in the call: retrying does not help, reporting it to the
    plugin's authors does.

    Attributes:
        plugin: the installed plugin's name (``provider`` is the name the user typed,
            a provider instance's own name when it is one).
        hook: the hook at fault (``tuneplug_complete``); a job backend's method is
            ``tuneplug_jobs().create``.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
        plugin: str = "",
        hook: str = "",
    ) -> None:
        super().__init__(message, provider=provider, status=status, retryable=retryable)
        self.plugin = plugin
        self.hook = hook


class UnknownProviderError(TuneplugError):
    """A model reference names a provider that is not installed (or was excluded)."""


class UnknownModelError(TuneplugError):
    """A provider does not know the model a reference names."""


class CapabilityError(TuneplugError):
    """The provider does not implement the hooks an operation needs (e.g. fine-tuning)."""


class AuthenticationError(TuneplugError):
    """Credentials were rejected (HTTP 401)."""


class PermissionDeniedError(TuneplugError):
    """Credentials are valid but not allowed to do this (HTTP 403)."""


class NotFoundError(TuneplugError):
    """The provider has no such model or adapter (HTTP 404).

    Attributes:
        unknown_model: the server said the model a call named does not exist (OpenAI's
            ``model_not_found``, Gradient's ``unknownBaseModel``), rather than a URL
            or another resource: the error of a model whose name the config gave
            says where (``tuneplug.toml:9: [models.qa] model: ...``).
    """

    def __init__(
        self,
        message: str,
        *,
        unknown_model: bool = False,
        provider: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, retryable=retryable)
        self.unknown_model = unknown_model


class InvalidRequestError(TuneplugError):
    """The request is invalid: rejected locally before any I/O, or by the server (400/422)."""


class OptionError(InvalidRequestError):
    """An invalid option keyword (or job-spec field), found before any I/O.

    Attributes:
        option: its name, or ``None``, so a caller can say where it came from
            (the CLI names its flag, a config error its file and line).
        detail: the problem without the option or the provider named: what a
            caller that names them itself shows (``-o volume: unknown option ...``),
            so no layer names a thing twice. ``message`` names the option.
    """

    option: str | None = None

    def __init__(
        self,
        message: str,
        *,
        option: str | None = None,
        detail: str | None = None,
        provider: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, retryable=retryable)
        self.option = option
        self.detail = message if detail is None else detail


class AdapterBusyError(InvalidRequestError):
    """Another unfinished job trains the adapter (a gateway answers it with HTTP 409).

    Attributes:
        job_id: the id of the job that holds the adapter (its provider's, unprefixed).
        job_status: that job's journal status (``queued``, ``running`` or ``paused``).
        target: the adapter's id.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        job_id: str = "",
        job_status: str = "",
        target: str = "",
    ) -> None:
        # The local journal raises it without a status: no HTTP server refused it.
        super().__init__(message, provider=provider, status=status)
        self.job_id = job_id
        self.job_status = job_status
        self.target = target


class AdapterChangedError(InvalidRequestError):
    """A job cannot resume: another job (or a step outside jobs) trained its adapter since
    the job last left it.

    Resuming would continue on weights the job did not leave there (a gateway
    answers it with HTTP 409).

    Attributes:
        job_id: the job that cannot resume (its provider's id, unprefixed).
        other_job_id: the job that trained the adapter last (``""``: a step outside
            jobs, ``Model.fine_tune``).
        target: the adapter's id.
        checkpoint: the model of the job's newest kept checkpoint copy
            (``provider/id``), or ``None`` when it has none.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        job_id: str = "",
        other_job_id: str = "",
        target: str = "",
        checkpoint: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status)
        self.job_id = job_id
        self.other_job_id = other_job_id
        self.target = target
        self.checkpoint = checkpoint


class InputFileError(InvalidRequestError):
    """An input file with problems, read past the first to list them all
    (:mod:`tuneplug.problems`): a samples file, a batch's input file.

    Attributes:
        path: the file, as given.
        problems: one ``FILE:LINE: problem`` line each, the first one first (at most
            :data:`tuneplug.problems.MAX_PROBLEMS`; the message says how many more).
        total: how many problems were found in all.
    """

    path: str
    problems: tuple[str, ...]
    total: int


class SampleFileError(InputFileError):
    """A samples file is unreadable or holds an invalid sample; names file, line and field.

    Attributes:
        path, line, field, detail: where the (first) problem is, and what it is.
        problems, total: as :class:`InputFileError`, a line being
            ``FILE:LINE: field: problem``.
    """

    def __init__(
        self, path: str, line: int | None, message: str, *, field: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line is not None else path
        what = f"{field}: " if field else ""
        super().__init__(f"{where}: {what}{message}")
        self.path = path
        self.line = line
        self.field = field
        self.detail = message
        """What is wrong, without the file, line and field."""
        self.problems: tuple[str, ...] = (self.message,)
        self.total = 1

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its own arguments (Exception's default passes only the message),
        # so it survives pickling, e.g. from a process-pool worker.
        args = (type(self), self.path, self.line, self.detail, self.field)
        return (_rebuild_sample_file_error, args, self.__dict__)


def _rebuild_sample_file_error(
    cls: type[SampleFileError], path: str, line: int | None, message: str, field: str | None
) -> SampleFileError:
    return cls(path, line, message, field=field)


class RateLimitError(TuneplugError):
    """The provider asked us to slow down (HTTP 429).

    ``retry_after`` is the delay in seconds the server asked for, if it said.
    """

    retryable_default = True

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = 429,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, status=status, retryable=retryable)
        self.retry_after = retry_after


class ServerError(TuneplugError):
    """The provider failed (HTTP 5xx) or answered with something that is not its protocol."""

    retryable_default = True


class TimeoutError(TuneplugError, builtins.TimeoutError):
    """The provider did not answer in time."""

    retryable_default = True


class ConnectionError(TuneplugError, builtins.ConnectionError):
    """The provider could not be reached (refused, reset, DNS)."""

    retryable_default = True
