"""tuneplug-openai: the OpenAI web API (and every server that speaks it) as a tuneplug provider.

``tuneplug_openai.wire`` holds the wire models both sides use: the provider
builds requests and parses responses with them, and the OpenAI protocol of
``tuneplug serve`` (``tuneplug_openai.protocol``) parses requests and builds
responses with the same classes.
"""

__version__ = "0.1.0"
