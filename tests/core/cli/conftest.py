"""The ``tuneplug`` command line (fixtures of ``tests/core/conftest.py`` apply)."""
