"""Prompt files shipped with the package, each carrying its version in a header comment.

A prompt file starts with `<!-- version: classify-v1 -->`; the version is recorded with every
classification (`Classification.prompt_version`), so a changed prompt is a new file, never an edit.
Without the header the version is the file name with `_` as `-` (`classify_v1.md` -> `classify-v1`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_HEADER = re.compile(r"\A\s*<!--\s*version:\s*(?P<version>[\w.\-]+)\s*-->\s*\n?")


@dataclass(frozen=True)
class Prompt:
    version: str
    text: str


@cache
def load_prompt(name: str) -> Prompt:
    """Load `<name>.md` from this package (e.g. `load_prompt("classify_v1")`)."""
    raw = resources.files(__name__).joinpath(f"{name}.md").read_text(encoding="utf-8")
    match = _HEADER.match(raw)
    if match:
        return Prompt(version=match["version"], text=raw[match.end() :].strip())
    return Prompt(version=name.replace("_", "-"), text=raw.strip())
