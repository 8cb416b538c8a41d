"""``tuneplug adapters create|get|delete``: a base model's adapters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tuneplug.cli.base import CommandGroup
from tuneplug.cli.models import print_info
from tuneplug.cli.options import MODEL_REF, Finite, option_flag, parse_extra, refused

if TYPE_CHECKING:
    from tuneplug.models import Model

__all__ = ["FORCE_TRAIN_HELP", "adapters", "refuse_served"]

FORCE_TRAIN_HELP = "Also an adapter a gateway (tuneplug serve) serves: its clients' model changes."


@click.group(cls=CommandGroup)
def adapters() -> None:
    """Create, describe and delete model adapters."""


@adapters.command("create")
@click.argument("base", type=MODEL_REF)
@click.option("--name", required=True, help="The adapter's name.")
# The bounds are the provider's (Model.check_adapter_args, tuneplug_adapter_limits):
# refused as `error: --rank: ...` before any I/O.
@click.option("--rank", type=int, help="LoRA rank, within the provider's limits.")
@click.option("--learning-rate", type=Finite(), help="Learning rate (0 < lr < 1).")
@click.option(
    "-o", "--option", "extra", multiple=True,
    help="Adapter option key=value (JSON); `tuneplug models BASE --options` lists them.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def adapters_create(
    base: str,
    name: str,
    rank: int | None,
    learning_rate: float | None,
    extra: tuple[str, ...],
    as_json: bool,
) -> None:
    """Create an adapter on the base model BASE and print it.

    Provider adapter options (LoRA alpha, dropout, ...) go in -o; `tuneplug models
    BASE --options` lists them.
    """
    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    import tuneplug
    from tuneplug.options import OptionError

    options = parse_extra(extra)
    model = tuneplug.get_model(base)
    try:
        adapter = model.create_adapter(name, rank=rank, learning_rate=learning_rate, **options)
    except OptionError as exc:
        # A mistyped or out-of-range -o, found before anything is sent: a usage error.
        flag = {"rank": "--rank", "learning_rate": "--learning-rate"}.get(exc.option or "")
        raise refused(exc, flag or option_flag(exc.option)) from None
    print_info(adapter.info, as_json)


@adapters.command("get")
@click.argument("model", type=MODEL_REF)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def adapters_get(model: str, as_json: bool) -> None:
    """Describe the adapter (or model) MODEL."""
    import tuneplug

    print_info(tuneplug.get_model(model).info, as_json)


@adapters.command("delete")
@click.argument("model", type=MODEL_REF)
@click.option(
    "--force", is_flag=True,
    help="Also an adapter a gateway (tuneplug serve) serves: its clients then lose it.",
)  # fmt: skip
def adapters_delete(model: str, force: bool) -> None:
    """Delete the adapter MODEL."""
    import tuneplug

    target = tuneplug.get_model(model)
    if not force:
        refuse_served(target)
    target.delete()
    click.echo(f"deleted {target.ref}")


def refuse_served(model: Model, *, training: bool = False) -> None:
    """Refuse to delete (or, ``training``, to train in place) an adapter a gateway on this
    ``TUNEPLUG_HOME`` serves, as ``jobs delete`` refuses a served job: a tenant's model
    would be a 404, or answer differently, silently. A base model is never refused here
    (deleting one is refused by delete itself; training one makes a new adapter).

    Raises:
        InvalidRequestError: served, naming the gateway's state directory and --force.
    """
    from tuneplug.errors import InvalidRequestError
    from tuneplug.jobs.served import serving_state
    from tuneplug.types import ModelKind

    if model.info.kind is ModelKind.BASE:
        return
    state = serving_state(model.provider.name, model.id)
    if state is None:
        return
    if training:
        what = "would answer differently once trained; train it anyway with --force"
    else:
        what = "would answer 404 without it; delete it anyway with --force"
    raise InvalidRequestError(
        f"adapter {model.ref} is served by the gateway (`tuneplug serve`) whose state "
        f"is in {state}: a client's fine-tuned model there is this adapter, and {what}",
        provider=model.provider.name,
    )
