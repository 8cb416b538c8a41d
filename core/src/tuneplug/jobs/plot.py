"""Loss curves of a job: collected from its events, drawn as a sparkline or a PNG.

The PNG needs matplotlib, an optional extra (``pip install 'tuneplug[plot]'``);
the sparkline is plain unicode and needs nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from tuneplug.errors import ConfigError
from tuneplug.jobs.types import JobEvent

__all__ = ["Curves", "sparkline", "write_plot"]

_BARS = "▁▂▃▄▅▆▇█"


@dataclass
class Curves:
    """Train loss per step and validation loss per epoch, as ``(step, loss)`` points."""

    train: list[tuple[int, float]] = field(default_factory=list)
    valid: list[tuple[int, float]] = field(default_factory=list)

    def add(self, event: JobEvent) -> None:
        """Take the loss of a step event, or the validation loss of an epoch event."""
        if event.step is not None and "loss" in event.metrics:
            self.train.append((event.step, event.metrics["loss"]))
        elif "valid_loss" in event.metrics:
            at = self.train[-1][0] if self.train else 0
            self.valid.append((at, event.metrics["valid_loss"]))

    @classmethod
    def of(cls, events: Iterable[JobEvent]) -> Curves:
        """The curves of ``events``."""
        curves = cls()
        for event in events:
            curves.add(event)
        return curves


def sparkline(values: list[float], width: int = 40) -> str:
    """``values`` as at most ``width`` unicode bars (bucket means), high = tall."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > width:
        size = len(finite) / width
        buckets = [
            finite[int(i * size) : max(int(i * size) + 1, int((i + 1) * size))]
            for i in range(width)
        ]
        finite = [sum(b) / len(b) for b in buckets]
    low, high = min(finite), max(finite)
    span = high - low
    if span <= 0:
        return _BARS[3] * len(finite)
    return "".join(_BARS[min(7, int((v - low) / span * 8))] for v in finite)


def write_plot(path: str | os.PathLike[str], curves: Curves, title: str) -> None:
    """Write the train and validation loss curves to ``path`` (PNG, SVG, ... by suffix).

    Raises:
        ConfigError: matplotlib is not installed (naming the extra to install).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window
        from matplotlib import pyplot as plt
    except ImportError:
        raise ConfigError(
            "--plot needs matplotlib, the 'plot' extra: pip install 'tuneplug[plot]' "
            "(from a clone: pip install -e './core[plot]')"
        ) from None
    figure, axes = plt.subplots(figsize=(8, 4.5))
    try:
        if curves.train:
            steps, losses = zip(*curves.train, strict=True)
            axes.plot(steps, losses, label="train loss", linewidth=1.2)
        if curves.valid:
            steps, losses = zip(*curves.valid, strict=True)
            axes.plot(steps, losses, "o-", label="validation loss")
        axes.set_xlabel("step")
        axes.set_ylabel("loss (nats per trainable token)")
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if curves.train or curves.valid:
            axes.legend()
        figure.tight_layout()
        figure.savefig(os.fspath(path))
    finally:
        plt.close(figure)
