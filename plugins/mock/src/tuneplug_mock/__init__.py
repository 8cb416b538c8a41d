"""tuneplug-mock: a deterministic, offline provider whose ``tiny`` model really learns.

Models: ``tiny`` (a word n-gram model counted from a small embedded corpus, with
fine-tunable adapters stored in SQLite) and ``echo`` (returns the prompt). The
hooks live in :mod:`tuneplug_mock.plugin`; importing this package loads nothing.
"""

__version__ = "0.1.0"
