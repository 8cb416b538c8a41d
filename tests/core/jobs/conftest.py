"""Fine-tuning jobs ``tuneplug.jobs``: local runner, store, resume, CLI (fixtures of
``tests/core/conftest.py`` apply).
"""
