"""The OpenAI provider and protocol (``plugins/openai``). Helper: ``fake.py`` (loopback OpenAI
API on ``tests/core/http/fake.py``).
"""
