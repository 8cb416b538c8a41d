"""The transformers provider (``plugins/transformers``). Helper: ``kit.py`` (the tiny model's
settings and seed samples).
"""
