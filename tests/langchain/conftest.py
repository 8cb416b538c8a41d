"""The LangChain adapter (``tuneplug.langchain``): LLM, chat model, notebook, standard suites.
Fixture files in ``fixtures/``.
"""
