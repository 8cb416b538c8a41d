"""``tuneplug.list_jobs()`` asks every provider with jobs of its own for a page: an OpenAI
provider without a key says so before its HTTP client (httpx, aiohttp) is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CODE = """
import json, sys, tuneplug
listing = tuneplug.list_jobs()
print(json.dumps({
    "problems": [[p.provider, p.configured, str(p)] for p in listing.problems],
    "client_imported": "tuneplug_openai.client" in sys.modules,
}))
"""


def test_an_unconfigured_openai_is_a_problem_found_without_importing_its_client() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    (problem,) = [p for p in found["problems"] if p[0] == "openai"]
    assert problem[1] is False and "missing API key" in problem[2]
    assert found["client_imported"] is False
