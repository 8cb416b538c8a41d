"""The shared HTTP client ``tuneplug.http``. Helper: ``fake.py`` (scriptable loopback HTTP/1.1
server, also under the OpenAI fake).
"""
