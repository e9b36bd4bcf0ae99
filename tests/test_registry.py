"""The chapter registry and notebooks/ agree: every registered notebook exists and declares what the pipeline passes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dd2424.explore import EXPLORE_NOTEBOOK
from dd2424.study import registry
from dd2424.study.notebook import parameters_of
from dd2424.study.profiles import get_profile

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("chapter", registry.CHAPTERS, ids=lambda c: c.stem)
def test_registered_notebook_exists_and_declares_the_pipeline_parameters(chapter):
    path = NOTEBOOKS / chapter.notebook
    if chapter.optional and not path.is_file():
        pytest.skip(f"{chapter.notebook} is not written yet (optional entry)")
    declared = parameters_of(path)
    for step in chapter.steps:
        passed = set(registry.COMMON_PARAMETERS) | set(step.parameters)
        assert passed <= set(declared), f"{step.name}: the pipeline passes {sorted(passed - set(declared))}, undeclared"


def test_every_numbered_notebook_is_registered_in_order():
    numbered = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.name != EXPLORE_NOTEBOOK)
    registered = [c.notebook for c in registry.chapters()]
    assert registered == numbered
    all_entries = [c.notebook for c in registry.CHAPTERS]
    assert all_entries == sorted(all_entries)  # the registry's order is the notebooks' numbering


def test_pictures_chapter_comes_after_the_ladder_and_trains_nothing():
    stems = [c.stem for c in registry.CHAPTERS]
    assert stems.index("06_pictures") == stems.index("05_beyond") + 1 == len(stems) - 1
    pictures = registry.chapter_of("06_pictures")
    assert not pictures.optional and pictures.summary == ("pictures",) and pictures.runs(get_profile("full")) == 0
    assert (NOTEBOOKS / pictures.notebook).is_file() and pictures in registry.chapters()


def test_steps_keep_todays_executed_names_and_parameters():
    steps = [s.name for _, s in registry.pipeline_steps()]
    assert steps == ["01_gradient_check", "02_training_curves-3layer", "02_training_curves-9layer", "03_lambda_search",
                     "04_init_sensitivity", "05_beyond", "06_pictures"]  # fmt: skip
    curves = registry.chapter_of("02_training_curves.ipynb")
    assert curves.steps[1].parameters == {"name": "9layer", "hidden": [50, 30, 20, 20, 10, 10, 10, 10]}
    assert registry.summary_parts() == steps


def test_each_training_curves_step_trains_both_networks_of_its_depth_as_before():
    """The same four networks (and so the same run keys) as when each had its own step: one step per depth."""
    from dd2424.study import training_curves
    from dd2424.study.context import Context

    assert training_curves.TRAINING_CURVES == (
        ("3layer_nobn", (50, 50), False), ("3layer_bn", (50, 50), True),
        ("9layer_nobn", (50, 30, 20, 20, 10, 10, 10, 10), False), ("9layer_bn", (50, 30, 20, 20, 10, 10, 10, 10), True),
    )  # fmt: skip
    ctx = Context.__new__(Context)  # only the profile is needed to build configurations
    ctx.profile = get_profile("full")
    for step, (depth, hidden) in zip(registry.chapter_of("02_training_curves").steps, training_curves.DEPTHS):
        configs = training_curves.pair_configs(ctx, step.parameters["hidden"], "he", 0.005)
        expected = [ctx.config(hidden=hidden, batch_norm=bn, init="he", lam=0.005, cycles=2, seed=s)
                    for bn in (False, True) for s in (0, 1, 2)]  # fmt: skip
        assert [c.to_dict() for c in configs] == [c.to_dict() for c in expected]
        split = training_curves.split_by_batch_norm([{"config": c.to_dict()} for c in configs])
        assert [len(split[bn]) for bn in (False, True)] == [3, 3]
        assert training_curves.depth_name(hidden) == depth == step.parameters["name"]


def test_planned_runs_per_profile():
    # chapter 05: the baseline and 8 ingredients that train, every seed; 3 trials, their first seed; test-time flips: none
    assert registry.planned_runs(get_profile("full")) == 4 * 3 + (6 + 6) * 2 + 3 + 3 * 2 * 3 + (1 + 8) * 3 + 3
    assert registry.planned_runs(get_profile("smoke")) == 27 + (1 + 8) * 2 + 3


def test_no_import_cycle_in_the_study_package():
    """Each module imports only modules listed before it in the package docstring's order."""
    folder = Path(registry.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        if path.stem == "__init__":
            continue
        tree = ast.parse(path.read_text())
        graph[path.stem] = {(n.module or "").split(".")[0] or a.name for n in ast.walk(tree)
                            if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names}  # fmt: skip
    graph = {k: {m for m in v if m in graph} for k, v in graph.items()}
    done: set = set()

    def visit(name, stack):
        assert name not in stack, f"import cycle: {' -> '.join(stack + [name])}"
        if name not in done:
            for dep in graph[name]:
                visit(dep, stack + [name])
            done.add(name)

    for name in graph:
        visit(name, [])
    for path in folder.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 300, f"{path.name} is over 300 lines"
    assert not (folder.parent / "sweeps.py").exists() and not (folder.parent / "ablation.py").exists()
