"""Credential query parameters: one list (``SECRET_QUERY_PARAMETERS``) that the recorder
scrubs and the scan flags, whatever value they hold (user7 #13: ``?sig=...``, an Azure
SAS signature, passed the scan unless that exact value was configured, while ``key=``
and ``access_token=`` were flagged)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tuneplug.testing import assert_no_secrets, scan_cassettes, vcr_config
from tuneplug.testing.cassettes import PLACEHOLDER, SECRET_QUERY_PARAMETERS
from vcr.filters import replace_query_parameters
from vcr.request import Request

VALUE = "abcdefgh1234567zz"


def _cassette(tmp_path: Path, uri: str) -> Path:
    folder = tmp_path / "cassettes"
    folder.mkdir(exist_ok=True)
    body = {"interactions": [{"request": {"method": "GET", "uri": uri, "headers": {}}}]}
    (folder / "c.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    "name",
    [*SECRET_QUERY_PARAMETERS, "SIG", "x-amz-signature", "Signature"],
)
def test_every_credential_query_name_is_flagged_in_any_case(tmp_path: Path, name: str) -> None:
    folder = _cassette(tmp_path, f"https://acct.blob.example/c/b?sv=2024&{name}={VALUE}&se=1")
    (finding,) = scan_cassettes(folder, secrets=())
    assert finding.kind == "credential in a URL" and VALUE not in str(finding)
    with pytest.raises(AssertionError, match="1 secret-looking value"):
        assert_no_secrets(folder, secrets=())


@pytest.mark.parametrize(
    "query",
    [
        f"sig={PLACEHOLDER}",
        "sig=%3CREDACTED%3E",
        f"design={VALUE}",  # a name that merely ends like one
        f"signatures_count={VALUE}",
        "sig=short",  # under 6 characters: an ordinary word
        f"sv=2024-05-04&se={VALUE}",  # SAS fields that are no credential
    ],
)
def test_a_placeholder_or_another_name_is_not_flagged(tmp_path: Path, query: str) -> None:
    assert scan_cassettes(_cassette(tmp_path, f"https://x.example/p?{query}"), secrets=()) == []


def test_the_recorder_scrubs_the_same_names() -> None:
    config = vcr_config(providers=False)
    assert config["filter_query_parameters"] == [(q, PLACEHOLDER) for q in SECRET_QUERY_PARAMETERS]
    query = "&".join(f"{name}={VALUE}" for name in SECRET_QUERY_PARAMETERS)
    request = Request("GET", f"https://x.example/p?keep=1&{query}", None, {})
    scrubbed = replace_query_parameters(request, config["filter_query_parameters"])
    assert VALUE not in scrubbed.uri and "keep=1" in scrubbed.uri
