"""``results/summary.json``: the summary parts of the registry's steps, merged and completed.

Every executed notebook writes ``results/summary/<executed name>.json`` (:meth:`Context.save_part`);
the pipeline adds ``00_pipeline.json`` (its timings). :func:`build_summary` merges exactly the
parts the registry names, so the parts of a notebook run with non-default parameters (named
with a suffix) never enter the summary, and adds what the report needs besides: settings (the
profile's and every chapter's own), versions, the ``timing`` that each chapter's ``timing``
function contributes to, and ``comparisons``: every paired comparison the report makes
(:func:`~.claims.comparisons`: mean difference, 95 % interval, seeds and verdict).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from .. import __version__
from ..errors import ConfigError
from ..experiments import code_version, git_commit
from ..files import json_ready
from .claims import comparisons
from .context import now
from .paths import Paths
from .profiles import get_profile
from .registry import chapters, settings_of, summary_parts
from .unchanged import write_unless_unchanged

#: the keys of the summary that say when and from which commit it was built, not what it holds
REBUILD_STAMPS = ("generated", "git_commit")
#: written by ``dd2424 report`` (its timings), merged when present
PIPELINE_PART = "00_pipeline"


def build_summary(paths: Paths) -> dict:
    """Merge the registry's ``results/summary/*.json`` into ``results/summary.json`` (atomically) and return it.

    All parts must exist and come from the same profile, data and code version; otherwise this
    raises :class:`ConfigError` naming them (run the missing notebooks, or ``dd2424 report``).
    """
    names = sorted(summary_parts())
    missing = [n for n in names if not (paths.summary_parts / f"{n}.json").is_file()]
    if missing:
        raise ConfigError(f"missing summary part(s) {', '.join(missing)} in {paths.summary_parts}: "
                          f"run those notebooks (or `dd2424 report`) first")  # fmt: skip
    pipeline = paths.summary_parts / f"{PIPELINE_PART}.json"
    files = ([pipeline] if pipeline.is_file() else []) + [paths.summary_parts / f"{n}.json" for n in names]
    loaded = {p.stem: json.loads(p.read_text()) for p in files}
    _check_agreement(loaded, paths)
    summary: dict[str, Any] = {}
    for part in loaded.values():
        _deep_merge(summary, part)
    summary.pop("written", None)
    profile = get_profile(summary["profile"])
    pipeline_timing = summary.pop("pipeline", {})
    timing = {"training_seconds": 0.0, "gradcheck_seconds": 0.0, "runs": 0}
    for chapter in chapters():
        for key in chapter.summary:
            if chapter.timing is not None and key in summary:
                for name, value in chapter.timing(summary[key]).items():
                    timing[name] = timing.get(name, 0) + value
    summary.update({
        "generated": now(),
        "package_version": __version__,
        "code_version": code_version(),
        "git_commit": git_commit(),
        "settings": settings_of(profile),
        "seeds": list(profile.seeds),
        "timing": {
            "training_seconds": timing.pop("training_seconds"),
            "gradcheck_seconds": timing["gradcheck_seconds"],
            "compute_seconds": 0.0,
            "runs": timing.pop("runs"),
            **pipeline_timing,
        },
    })  # fmt: skip
    summary["comparisons"] = comparisons(summary)
    t = summary["timing"]
    t["compute_seconds"] = t["training_seconds"] + t["gradcheck_seconds"]
    summary = json_ready(summary)
    # the same results as the summary set aside: keep it, with the time and commit that produced them
    if not write_unless_unchanged(paths.summary, summary, paths.set_aside(paths.summary), ignore=REBUILD_STAMPS):
        return json.loads(paths.summary.read_text())
    return summary


def _check_agreement(loaded: Mapping[str, Mapping], paths: Paths) -> None:
    for key in ("profile", "code_version"):
        values = {name: part.get(key) for name, part in loaded.items() if key in part}
        if len(set(map(str, values.values()))) > 1:
            raise ConfigError(f"summary parts disagree on {key}: {values}; rerun `dd2424 report` or delete {paths.summary_parts}")
    shas = {name: part["data"]["sha256"] for name, part in loaded.items() if "data" in part}
    sizes = {name: tuple(part["data"][k] for k in ("n_train", "n_val", "n_test")) for name, part in loaded.items() if "data" in part}
    if len(set(shas.values())) > 1 or len(set(sizes.values())) > 1:
        raise ConfigError(f"summary parts come from different data: {shas} {sizes}; rerun `dd2424 report`")


def _deep_merge(into: dict, new: Mapping) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
