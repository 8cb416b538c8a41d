"""tuneplug-gradient: the Gradient v1 API as a tuneplug provider, and a server that speaks it."""

__version__ = "0.1.0"
