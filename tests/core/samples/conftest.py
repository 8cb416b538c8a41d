"""Training samples: reading, formats, limits. Fixture files in ``fixtures/``."""
