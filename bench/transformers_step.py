"""The transformers provider against raw torch + PEFT on the same tiny model (DESIGN.md budgets).

* one training step through ``adapter.fine_tune`` vs the same step written directly:
  ``get_peft_model`` with the same ``LoraConfig``, AdamW, forward with masked labels,
  backward, step (budget ≤ 1.05x). tuneplug's step also commits weights, optimizer and
  step record to disk atomically, so the raw step is measured three times: compute only,
  plus ``save_pretrained`` + ``torch.save(optimizer)`` (as ``durable=False`` persists),
  and plus fsync of those files and their directory (as ``durable=True``, the default);
* greedy generation, tokens/s of ``model.complete`` vs ``model.generate`` with the same
  settings, on the base model and on an adapter (budget ≥ 0.95x).

Rounds alternate the contenders so background load hits both alike; medians reported.

    python bench/transformers_step.py [--rounds 30] [--batch 8] [--tokens 128] [--threads 1]
        [--hidden 64] [--layers 2] [--skip-generate]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "


def _batch(size: int) -> list[dict[str, Any]]:
    answers = ["The Dallas Cowboys!", "Paris.", "William Shakespeare.", "the lazy dog again."]
    return [
        {
            "inputs": [
                {"value": f"{PROMPT}{i} ", "trainable": False},
                {"value": answers[i % len(answers)] * 3},
            ]
        }
        for i in range(size)
    ]


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def bench_step(directory: Path, home: Path, rounds: int, batch_size: int) -> None:
    import torch
    import tuneplug
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from tuneplug.types import Sample
    from tuneplug_transformers.batches import Ending, encode_samples

    samples = _batch(batch_size)
    contenders: dict[str, Any] = {}
    for durable in (False, True):
        # Two provider instances, one per setting: each its own base model and adapter.
        from tuneplug.plugins import reset

        os.environ["TUNEPLUG_TRANSFORMERS_DURABLE"] = "1" if durable else "0"
        reset()
        adapter = tuneplug.get_model(f"transformers/{directory}").create_adapter(
            f"bench-{durable}", rank=8, learning_rate=1e-3
        )
        adapter.fine_tune(samples)  # warm-up: load, optimizer state
        contenders[f"tuneplug (durable={durable})"] = lambda a=adapter: a.fine_tune(samples)

    # The raw step: same model, LoRA config, optimizer, batch, masks and padding.
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(directory),
        LoraConfig(
            r=8,
            lora_alpha=16,
            lora_dropout=0.0,
            target_modules=["q_proj", "v_proj"],
            task_type="CAUSAL_LM",
        ),
    )
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.0
    )
    # Ended as the provider ends them: each with the EOS, a loss target (none holds one).
    ending = Ending(eos_id=tokenizer.eos_token_id, ends=frozenset())
    encoded = encode_samples(tokenizer, [Sample.model_validate(s) for s in samples], 256, ending)
    width = max(len(e.ids) for e in encoded)
    ids = torch.full((len(encoded), width), tokenizer.pad_token_id)
    attention = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for row, e in enumerate(encoded):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        attention[row, : len(e.ids)] = 1
        labels[row, : len(e.ids)] = torch.where(torch.tensor(e.mask), torch.tensor(e.ids), -100)

    def raw_step(save_to: Path | None, fsync: bool = False) -> None:
        model.train()
        loss = model(input_ids=ids, attention_mask=attention, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        model.eval()
        if save_to is not None:
            model.save_pretrained(str(save_to))
            torch.save(optimizer.state_dict(), save_to / "optimizer.pt")
            if fsync:  # what durable=True promises: on disk before the step counts
                for child in save_to.iterdir():
                    with child.open("rb") as fh:
                        os.fsync(fh.fileno())
                fd = os.open(save_to, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)

    raw_step(None)
    contenders["raw torch+peft (compute)"] = lambda: raw_step(None)
    contenders["raw torch+peft (+save)"] = lambda: raw_step(home / "raw")
    contenders["raw torch+peft (+save+fsync)"] = lambda: raw_step(home / "raw-sync", fsync=True)
    results: dict[str, list[float]] = {label: [] for label in contenders}
    # The provider's compute alone (forward, loss, backward, AdamW on its encoded batch:
    # what the raw step does), called directly on the durable=False adapter's loaded base.
    import tuneplug_transformers.training as training

    seen: dict[str, Any] = {}
    compute = training.train_step

    def capture(base: Any, adapter_id: str, opt: Any, batch: Any, seed: int) -> tuple[int, float]:
        seen.update(base=base, adapter_id=adapter_id, opt=opt, batch=batch)
        return compute(base, adapter_id, opt, batch, seed)

    training.train_step = capture  # type: ignore[assignment]
    contenders["tuneplug (durable=False)"]()
    training.train_step = compute

    def provider_compute() -> None:
        with seen["base"].lock:
            compute(seen["base"], seen["adapter_id"], seen["opt"], seen["batch"], 1)

    # Right after the raw compute in each round: adjacent runs see the same load.
    order = list(contenders)
    order.insert(order.index("raw torch+peft (compute)") + 1, "tuneplug compute (train_step)")
    contenders["tuneplug compute (train_step)"] = provider_compute
    contenders = {label: contenders[label] for label in order}
    for _ in range(rounds):
        for label, step in contenders.items():
            start = time.perf_counter()
            step()
            results.setdefault(label, []).append(time.perf_counter() - start)

    # Each tuneplug row against the raw step with the same durability.
    same = {
        "tuneplug (durable=False)": "raw torch+peft (+save)",
        "tuneplug (durable=True)": "raw torch+peft (+save+fsync)",
    }
    print(
        f"\ntraining step, batch {batch_size} x ~{width} tokens, {rounds} rounds (median), "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )

    # Ratios are medians of per-round ratios: a load spike hits both sides of a round.
    def ratio(label: str, versus: str) -> float:
        pairs = zip(results[label], results[versus], strict=True)
        return statistics.median(a / b for a, b in pairs)

    for label, times in results.items():
        versus = same.get(label)
        tail = f"   {ratio(label, versus):5.3f}x {versus[15:]}" if versus else ""
        print(
            f"  {label:32s} {_median_ms(times):8.2f} ms"
            f"   {ratio(label, 'raw torch+peft (compute)'):5.3f}x compute{tail}"
        )


def bench_generate(directory: Path, rounds: int, tokens: int) -> None:
    import torch
    import tuneplug
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    base = tuneplug.get_model(f"transformers/{directory}")
    adapter = base.create_adapter("bench-gen", rank=8, learning_rate=1e-3)
    adapter.fine_tune(_batch(2))
    adapter_dir = Path(os.environ["TUNEPLUG_HOME"]) / "transformers/adapters" / adapter.id
    raw_base = AutoModelForCausalLM.from_pretrained(directory).eval()
    raw_adapter = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(directory), str(adapter_dir / "current")
    ).eval()
    # No end-of-sequence: both generate exactly `tokens` tokens.
    settings: dict[str, Any] = {
        "max_new_tokens": tokens,
        "do_sample": False,
        "eos_token_id": None,
        "pad_token_id": tokenizer.pad_token_id,
    }

    def ours(model: Any) -> int:
        done = model.complete(PROMPT, max_tokens=tokens)
        return int(done.usage.completion_tokens)

    def theirs(model: Any) -> int:
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **settings)
        return int(out.shape[1] - ids.shape[1])

    print(f"\ngreedy generation, {tokens} new tokens, {rounds} rounds (median tokens/s)")
    for label, mine, raw in (("base", base, raw_base), ("adapter", adapter, raw_adapter)):
        ours(mine), theirs(raw)  # warm-up
        rates: dict[str, list[float]] = {"tuneplug": [], "generate": []}
        for _ in range(rounds):
            for name, fn, model in (("tuneplug", ours, mine), ("generate", theirs, raw)):
                start = time.perf_counter()
                made = fn(model)
                rates[name].append(made / (time.perf_counter() - start))
        a, b = statistics.median(rates["tuneplug"]), statistics.median(rates["generate"])
        print(
            f"  {label:8s} tuneplug {a:8.0f} tok/s   generate {b:8.0f} tok/s   ratio {a / b:5.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hidden", type=int, default=64, help="hidden size of the model")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--skip-generate", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ.update(
            {
                "TUNEPLUG_HOME": str(home / "home"),
                "HF_HUB_OFFLINE": "1",
                "TUNEPLUG_TRANSFORMERS_THREADS": str(args.threads),
            }
        )
        (home / "raw").mkdir()
        (home / "raw-sync").mkdir()
        import torch
        from tuneplug_transformers.tiny import build_tiny_model

        torch.set_num_threads(args.threads)
        directory = build_tiny_model(home / "tiny", hidden_size=args.hidden, layers=args.layers)
        print(f"model: Llama-style, hidden {args.hidden}, {args.layers} layers")
        bench_step(directory, home, args.rounds, args.batch)
        if not args.skip_generate:
            bench_generate(directory, args.rounds, args.tokens)


if __name__ == "__main__":
    main()
