"""A provider instance is usable only while ``TUNEPLUG_PLUGINS`` lets its plugin load,
whichever form excludes it (written from the plugins target's 5th mutation run:
``instance_info`` testing the filter on another name survived, the ``only`` form being
the one tested in test_plugin_filter_words.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tuneplug.config import load_config
from tuneplug.errors import ConfigError
from tuneplug.plugins import Registry


@pytest.mark.parametrize("spec", ["-alpha", "beta"])
def test_an_instance_whose_plugin_the_filter_excludes_is_refused(
    entry_point_plugins: Any, spec: str
) -> None:
    entry_point_plugins.add("alpha")
    entry_point_plugins.add("beta")
    Path("tuneplug.toml").write_text('\n[providers.mine]\nplugin = "alpha"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs plugin 'alpha', which TUNEPLUG_PLUGINS excludes"):
        Registry(plugins=spec).provider("mine", config=load_config())
    assert Registry(plugins="alpha").provider("mine", config=load_config()).name == "mine"
