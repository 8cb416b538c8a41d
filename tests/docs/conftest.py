"""The guides in ``docs/``: their examples run and their hook signatures match the code."""
