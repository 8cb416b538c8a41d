"""Model aliases (``[models.NAME]``): a model with default options, from either config file,
and a bad alias named by its file and line."""

from __future__ import annotations

import pytest
import tuneplug
from tuneplug.config import load_config
from tuneplug.errors import ConfigError, UnknownModelError

# -- aliases --------------------------------------------------------------------------


def test_alias_with_default_options(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text(
        '[models.qa]\nmodel = "alias/base"\nmax_tokens = 5\ntemperature = 0.25\n'
    )
    model = tuneplug.get_model("qa")
    assert model.ref == "alias/base"
    assert model.defaults == {"max_tokens": 5, "temperature": 0.25}
    model.complete("hi")
    model.complete("hi", max_tokens=9)
    first, second = providers["alias"].calls.of("complete")
    assert first["options"].max_tokens == 5 and first["options"].temperature == 0.25
    assert second["options"].max_tokens == 9 and second["options"].temperature == 0.25


def test_default_model_may_be_an_alias(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text(
        'default_model = "qa"\n\n[models.qa]\nmodel = "alias/base"\nmax_tokens = 3\n'
    )
    model = tuneplug.get_model()
    assert model.ref == "alias/base" and model.defaults == {"max_tokens": 3}


def test_alias_extra_options_are_provider_extras(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('[models.qa]\nmodel = "alias/base"\nguidance = "yes"\n')
    assert tuneplug.get_model("qa").options().extra == {"guidance": "yes"}


def test_aliases_from_project_and_user_combine(providers, work, user_file) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('[models.qa]\nmodel = "project/base"\n')
    user_file.write_text('[models.mine]\nmodel = "user/base"\n')
    assert tuneplug.get_model("qa").ref == "project/base"
    assert tuneplug.get_model("mine").ref == "user/base"


def test_unknown_alias(providers, work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text('[models.qa]\nmodel = "alias/base"\n')
    with pytest.raises(UnknownModelError) as info:
        tuneplug.get_model("nope")
    assert "nope" in str(info.value) and "qa" in str(info.value)


def test_alias_out_of_range_option_names_file(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "tuneplug.toml"
    path.write_text('default_model = "qa"\n\n[models.qa]\nmodel = "mock/tiny"\ntemperature = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    text = str(info.value)
    assert str(path) in text and "qa" in text and "temperature" in text
    assert f"{path}:5" in text  # the line of the bad value, not of [models.qa]


def test_alias_out_of_range_option_in_pyproject_names_file(work) -> None:  # type: ignore[no-untyped-def]
    path = work / "pyproject.toml"
    path.write_text('[tool.tuneplug.models.qa]\nmodel = "mock/tiny"\nmax_tokens = 0\n')
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(path) in str(info.value) and "max_tokens" in str(info.value)


def test_alias_without_model_key(work) -> None:  # type: ignore[no-untyped-def]
    (work / "tuneplug.toml").write_text("[models.qa]\nmax_tokens = 5\n")
    with pytest.raises(ConfigError, match="model"):
        load_config()
