"""Writing a JSON record only when its content changed, so that rebuilding the report on the same results
leaves every committed file byte for byte.

A pipeline sets its previous summary aside (:meth:`Paths.set_aside`) before it runs, so that a failed run
never leaves one that looks current; a record found unchanged there, apart from its time stamps, is moved
back instead of being written again with a new time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..files import write_json_atomic

#: the keys of a summary part that say when it was written, not what it holds
STAMPS = ("written",)


def same_content(path: Path, record: Mapping[str, Any], ignore: Sequence[str] = STAMPS) -> bool:
    """Whether the JSON file at ``path`` holds ``record``, apart from the top-level keys ``ignore``."""
    try:
        old = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    new = json.loads(json.dumps(record))
    if not isinstance(old, dict):
        return False
    return {k: v for k, v in old.items() if k not in ignore} == {k: v for k, v in new.items() if k not in ignore}


def write_unless_unchanged(path: Path, record: Mapping[str, Any], aside: Path | None = None,
                           ignore: Sequence[str] = STAMPS) -> bool:  # fmt: skip
    """Write ``record`` to ``path`` (atomically) unless ``path``, or ``aside`` (where a pipeline set the previous
    file aside), already holds it apart from ``ignore``: that file is then kept, moved back from ``aside``.
    True when the record was written."""
    path = Path(path)
    if same_content(path, record, ignore):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    if aside is not None and same_content(aside, record, ignore):
        os.replace(aside, path)
        return False
    write_json_atomic(path, record)
    return True
