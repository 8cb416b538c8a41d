"""Model.options keeps the validated options of scalar keywords (tuneplug.models.options_cache)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError
from tuneplug.models.options_cache import OptionsCache, options_key
from tuneplug.types import CompletionOptions


def test_the_same_scalar_keywords_give_the_same_options(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base", max_tokens=10)
    first = model.options(temperature=0.5, stop="\n", seed=7)
    assert model.options(temperature=0.5, stop="\n", seed=7) is first
    assert (first.max_tokens, first.temperature, first.stop, first.seed) == (10, 0.5, ("\n",), 7)
    model.complete("hi", temperature=0.5, stop="\n", seed=7)
    assert rec.calls.of("complete")[-1]["options"] is first
    assert model.options(temperature=0.25, stop="\n", seed=7).temperature == 0.25


def test_equal_values_of_other_types_are_validated_on_their_own(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base")
    assert model.options(max_tokens=1).max_tokens == 1
    with pytest.raises(InvalidRequestError, match="max_tokens=True: must be an integer"):
        model.options(max_tokens=True)  # == 1, but a bool is refused
    assert model.options(temperature=1).temperature == 1.0
    assert model.options(temperature=0.0) is not model.options(temperature=-0.0)


def test_a_refused_value_is_refused_every_time(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base")
    for _ in range(2):
        with pytest.raises(InvalidRequestError, match="temperature"):
            model.options(temperature=9.0)
    rec.calls.clear()
    with pytest.raises(InvalidRequestError, match="temperature"):
        model.complete("hi", temperature=9.0)
    assert rec.calls == []


def test_lists_and_dicts_are_validated_every_call(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base")
    stop = ["a"]
    first = model.options(stop=stop)
    stop.append("")  # the same list, now invalid: validated again, so refused
    with pytest.raises(InvalidRequestError, match="stop"):
        model.options(stop=stop)
    assert first.stop == ("a",)
    guidance = {"type": "regex"}
    assert model.options(guidance=guidance) is not model.options(guidance=guidance)


def test_changed_model_defaults_are_seen(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base", max_tokens=10, stop=["a"])
    assert model.options(seed=1).max_tokens == model.options().max_tokens == 10
    model.defaults["max_tokens"] = 20
    # With keywords or without: a call without them used the defaults built at first.
    assert model.options(seed=1).max_tokens == model.options().max_tokens == 20
    model.defaults["stop"].append("b")  # changed in place
    assert model.options().stop == model.options(seed=1).stop == ("a", "b")
    model.defaults["max_tokens"] = -1
    for call in (model.options, lambda: model.options(seed=1)):
        with pytest.raises(InvalidRequestError, match="max_tokens"):
            call()
    del model.defaults["max_tokens"]
    assert model.options().max_tokens is None


def test_key_tells_types_and_float_signs_apart() -> None:
    assert options_key({"a": 1}) != options_key({"a": True}) != options_key({"a": 1.0})
    assert options_key({"a": 0.0}) != options_key({"a": -0.0})
    assert options_key({"a": float("nan")}) == options_key({"a": float("nan")})
    assert options_key({"a": None, "b": "x"}) == (("a", type(None), None), ("b", str, "x"))
    for value in (["x"], ("x",), {"x": 1}, b"x", type("S", (str,), {})("x")):
        assert options_key({"a": 1, "b": value}) is None


def test_the_cache_is_bounded() -> None:
    built: list[Mapping[str, Any]] = []

    def build(values: Mapping[str, Any]) -> CompletionOptions:
        built.append(values)
        return CompletionOptions(seed=values["seed"])

    cache = OptionsCache(build)
    for seed in range(300):
        assert cache.get({"seed": seed}).seed == seed
    assert len(cache._kept) <= 256
    assert cache.get({"seed": 299}) is cache.get({"seed": 299})
    assert len(built) == 300


def test_changing_the_extra_of_given_options_changes_no_later_call(rec) -> None:  # type: ignore[no-untyped-def]
    # The options are frozen but `extra` is a dict: a caller or a plugin writing to the
    # one it was given must not change what later calls with the same keywords get.
    model = tuneplug.get_model("rec/base")
    given = model.options(mode="fast", max_tokens=5)
    given.extra["mode"] = "slow"
    given.extra["added"] = 1
    again = model.options(mode="fast", max_tokens=5)
    assert again.extra == {"mode": "fast"} and again.max_tokens == 5
    model.complete("hi", mode="fast")
    rec.calls.of("complete")[-1]["options"].extra.clear()  # a plugin popping its keys
    model.complete("hi", mode="fast")
    assert rec.calls.of("complete")[-1]["options"].extra == {"mode": "fast"}


def test_changing_the_extra_of_the_default_options_changes_no_later_call(rec) -> None:  # type: ignore[no-untyped-def]
    model = tuneplug.get_model("rec/base", guidance={"type": "regex"}, mode="fast")
    model.options().extra["guidance"]["type"] = "json"  # inside a value, too
    model.options().extra.pop("mode")
    model.complete("hi")
    rec.calls.of("complete")[-1]["options"].extra["guidance"].clear()
    model.complete("hi")
    for options in (model.options(), rec.calls.of("complete")[-1]["options"]):
        assert options.extra == {"guidance": {"type": "regex"}, "mode": "fast"}


def test_the_callers_own_dict_changed_later_is_not_in_the_options(rec) -> None:  # type: ignore[no-untyped-def]
    guidance = {"type": "regex"}
    model = tuneplug.get_model("rec/base", guidance=guidance)
    guidance["type"] = "json"  # after validation: never seen by a call
    assert model.options().extra == {"guidance": {"type": "regex"}}
    stop = ["a"]
    model = tuneplug.get_model("rec/base", stop=stop)
    stop.append("b")  # the caller's list, not the model's defaults
    assert model.options().stop == model.options(seed=1).stop == ("a",)


def test_options_without_extra_are_handed_out_as_they_are(rec) -> None:  # type: ignore[no-untyped-def]
    # Nothing in them can change: no copy is made (the cache's whole point).
    model = tuneplug.get_model("rec/base", max_tokens=3)
    assert model.options() is model.options()
    assert model.options(seed=1, stop="x") is model.options(seed=1, stop="x")
