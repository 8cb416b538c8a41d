"""tuneplug-openai: the OpenAI web API (and every server that speaks it) as a tuneplug provider.

``tuneplug_openai.wire`` holds the OpenAI API's JSON bodies as models: the provider
builds requests and parses responses with them. The OpenAI protocol of
``tuneplug serve`` (``tuneplug_openai.protocol``) validates what it serves with its
own request models (``tuneplug_openai.protocol.schemas``).
"""

__version__ = "0.1.0"
