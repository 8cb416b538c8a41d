"""Running a local job in a process of its own (``detach=True``, ``jobs create --detach``).

The detached runner is ``python -m tuneplug jobs resume ID --worker``, started
in a new session so a closed terminal does not stop it. It builds its provider
as any fresh process does: from the installed plugins, the environment and the
config files of the working directory. Whatever exists only in the calling
process would be silently different there, so :func:`check_detachable` refuses
before the job is created:

* a provider registered in-process (``tuneplug.plugins.register``): the worker
  cannot import it;
* settings passed in Python (``get_model(..., settings={...})``) that differ
  from the configured ones: the worker would train with the configured ones
  (another store, another account). They are not written down for it:
  secrets must never reach the disk in clear, and a job whose later resume
  (``jobs resume`` in another shell) could not rebuild them would not be
  resumable.

Run such a job in a thread (the default) or in the foreground, or put the
settings in a config file or the environment, where the worker finds them too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from filelock import Timeout

from tuneplug.errors import InvalidRequestError, NotFoundError, TuneplugError
from tuneplug.jobs.runner import runner_lock
from tuneplug.jobs.starting import START_FD_ENV
from tuneplug.jobs.store import JobStore
from tuneplug.provider import Provider

__all__ = ["check_detachable", "fail_unstarted", "spawn_worker"]


def check_detachable(provider: Provider) -> None:
    """Refuse (no I/O beyond loading config) what a detached runner would not reproduce.

    Raises:
        InvalidRequestError: the provider is registered in-process, or was given
            settings in Python that differ from its configured ones.
    """
    from tuneplug.config import load_config
    from tuneplug.models import _registry

    config = load_config()
    registry = _registry(config)
    if registry.in_process(provider.info.plugin or provider.name):
        raise InvalidRequestError(
            f"cannot detach a job of provider {provider.name!r}: it is registered in this "
            "process (tuneplug.plugins.register), and a detached runner is a new process that "
            "cannot import it; run the job in this process (detach=False, the default) or "
            "install the plugin as a distribution with a tuneplug entry point",
            provider=provider.name,
        )
    configured = registry.provider(provider.name, None, config=config)
    if configured is not provider:
        raise InvalidRequestError(
            f"cannot detach a job of provider {provider.name!r}: it was given settings in "
            "Python that differ from its configured ones, and a detached runner builds its "
            "provider from the environment and config files only (settings are not written "
            "to disk for it: they may hold secrets); run the job in this process "
            "(detach=False, the default) or put the settings in tuneplug.toml or the "
            "environment",
            provider=provider.name,
        )


def spawn_worker(job_id: str, job_dir: Path, start_fd: int | None = None) -> None:
    """Start the detached runner of ``job_id``, logging to ``job_dir/runner.log``;
    ``start_fd`` (the job's start lock, :mod:`tuneplug.jobs.starting`) is inherited by it."""
    env = dict(os.environ)
    env.pop(START_FD_ENV, None)
    if start_fd is not None:
        env[START_FD_ENV] = str(start_fd)
    with (job_dir / "runner.log").open("ab") as log:
        subprocess.Popen(
            [sys.executable, "-m", "tuneplug", "jobs", "resume", job_id, "--worker"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=os.getcwd(),
            start_new_session=True, close_fds=True, env=env,
            pass_fds=() if start_fd is None else (start_fd,),
        )  # fmt: skip


def fail_unstarted(store: JobStore, job_id: str, exc: BaseException) -> None:
    """Journal ``job_id`` failed with ``exc`` if it is still queued and no runner holds it
    (a detached runner that could not start: otherwise the job would wait forever)."""
    try:
        row = store.get(job_id)
    except NotFoundError:
        return
    if row.status != "queued":
        return
    lock = runner_lock(store.path.parent / job_id)
    try:
        lock.acquire(timeout=0.2)  # a probe may hold it for an instant; a runner for good
    except Timeout:
        return
    try:
        if store.get(job_id).status != "queued":
            return  # a runner started and left it between the first read and the lock
        reason = str(exc) if isinstance(exc, TuneplugError) else f"{type(exc).__name__}: {exc}"
        message = f"failed: the detached runner could not start: {reason}"
        store.set_status(job_id, "failed", ("error", "message", message, None, {}), error=reason)
    finally:
        lock.release()
