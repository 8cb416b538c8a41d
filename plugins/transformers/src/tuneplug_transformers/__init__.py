"""tuneplug-transformers: complete with and LoRA-fine-tune local Hugging Face models.

The provider is ``tuneplug_transformers.plugin``; ``tuneplug_transformers.tiny``
builds a tiny random model for tests. Importing this package imports no torch.
"""

__all__: list[str] = []
