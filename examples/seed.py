"""The seed flow of the Gradient notebook, on whatever model tuneplug is configured for.

With nothing configured this runs offline on the mock provider (mock/tiny). The
same script runs on another provider when only ``TUNEPLUG_MODEL`` (or the
``default_model`` / alias in ``tuneplug.toml``) changes:

    python examples/seed.py
    TUNEPLUG_MODEL=gradient/nous-hermes2 python examples/seed.py
"""

from __future__ import annotations

import tuneplug

TEMPLATE = "Question: {question}\n\nAnswer: "
QUESTION = "What NFL team won the Super Bowl in 1994?"


def main() -> None:
    base = tuneplug.get_model()
    provider = base.provider.name
    print(f"base models of {provider}:")
    for info in tuneplug.list_models(provider, base_only=True):
        print(f"  {info.ref}")

    adapter = base.create_adapter(name="my_model_adapter")
    print(f"created adapter {adapter.ref} on {base.ref}")
    prompt = TEMPLATE.format(question=QUESTION)
    try:
        before = adapter.complete(prompt, max_tokens=32)
        print(f"Q: {QUESTION}")
        print(f"A (before fine-tuning): {before.text.strip()}")

        result = adapter.fine_tune([{"inputs": prompt + " The Dallas Cowboys!"}])
        print(
            f"fine-tuned: {result.trainable_tokens} trainable tokens, "
            f"sum loss {result.sum_loss:.4f}, mean loss {result.loss:.4f}"
        )

        after = adapter.complete(prompt, max_tokens=32)
        print(f"A (after fine-tuning):  {after.text.strip()}")
    finally:
        adapter.delete()


if __name__ == "__main__":
    main()
