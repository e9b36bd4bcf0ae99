"""The chapter registry, the chapter contract and notebooks/ agree, for every registered chapter."""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

from dd2424.errors import ConfigError
from dd2424.explore import EXPLORE_NOTEBOOK
from dd2424.study import registry
from dd2424.study.chapter import Chapter
from dd2424.study.context import Context
from dd2424.study.notebook import open_chapter, parameters_of
from dd2424.study.paths import Paths
from dd2424.study.profiles import PROFILE_FIELDS, PROFILES, ChapterSettings, get_profile

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TIMING_KEYS = {"training_seconds", "gradcheck_seconds", "runs"}

#: the training runs of one pipeline (full profile) of each chapter written so far; a new chapter adds its own
#: count in its tests, and the pipeline's total is checked against the sum over the registry below
FULL_RUNS = {
    "01_gradient_check": 0,
    "02_training_curves": 2 * (2 * 10),  # two depths, without and with BN, 10 seeds
    "03_lambda_search": (6 + 6 + 6) * 3 + 10,  # coarse, random fine and grid fine values x 3 search seeds, the retraining
    "04_init_sensitivity": (3 * 2 + 1) * 10,  # sigma x BN x seed, and the lambda = 0 control
    "05_beyond": (1 + 11) * 3,  # the baseline and 11 ingredients that train (3 trials included), every seed; no leave-one-out
    "06_pictures": 0,
}
SMOKE_RUNS = {"01_gradient_check": 0, "02_training_curves": 2 * (2 * 2), "03_lambda_search": (3 + 2) * 1 + 2,
              "04_init_sensitivity": (3 * 2 + 1) * 2, "05_beyond": (1 + 11) * 2, "06_pictures": 0}  # fmt: skip
#: the executed notebooks (and summary parts) of the chapters written so far, as saved results name them
TODAYS_STEPS = ["01_gradient_check", "02_training_curves-3layer", "02_training_curves-9layer", "03_lambda_search",
                "04_init_sensitivity", "05_beyond", "06_pictures"]  # fmt: skip


@pytest.mark.parametrize("chapter", registry.CHAPTERS, ids=lambda c: c.stem)
def test_registered_notebook_exists_and_declares_the_pipeline_parameters(chapter):
    path = NOTEBOOKS / chapter.notebook
    if chapter.optional and not path.is_file():
        pytest.skip(f"{chapter.notebook} is not written yet (optional entry)")
    declared = parameters_of(path)
    for step in chapter.steps:
        passed = set(registry.COMMON_PARAMETERS) | set(step.parameters)
        assert passed <= set(declared), f"{step.name}: the pipeline passes {sorted(passed - set(declared))}, undeclared"


def test_every_numbered_notebook_is_registered_in_order_and_named_like_its_module():
    """Every numbered notebook but the exploration workbench (00) is a chapter of the registry."""
    numbered = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if p.name != EXPLORE_NOTEBOOK)
    registered = [c.notebook for c in registry.chapters()]
    assert registered == numbered
    all_entries = [c.notebook for c in registry.CHAPTERS]
    assert all_entries == sorted(all_entries)  # the registry's order is the notebooks' numbering
    for name, chapter in zip(registry.CHAPTER_MODULES, registry.CHAPTERS):
        assert chapter.stem.split("_", 1)[1] == name, f"{chapter.notebook} is not named like its module {name}.py"
        assert importlib.import_module(f"dd2424.study.{name}").CHAPTER is chapter


@pytest.mark.parametrize("chapter", registry.CHAPTERS, ids=lambda c: c.stem)
def test_each_chapter_keeps_its_whole_contract(chapter):
    assert chapter.summary and all(isinstance(key, str) for key in chapter.summary)
    if chapter.settings:  # one checked settings object per profile, none named like a profile field
        assert set(chapter.settings) == set(PROFILES)
        assert not chapter.setting_names & PROFILE_FIELDS
        for name in PROFILES:
            own = chapter.settings_for(name)
            assert isinstance(own, ChapterSettings) and dataclasses.is_dataclass(own)
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(own, next(iter(chapter.setting_names)), None)
    else:
        assert chapter.settings_for("full") is None and chapter.setting_names == frozenset()
    for name in PROFILES:
        runs = chapter.runs(get_profile(name))
        assert isinstance(runs, int) and runs >= 0
    if chapter.timing is not None:  # an empty section adds nothing, with known keys only
        shares = chapter.timing({})
        assert set(shares) <= TIMING_KEYS and not any(shares.values())
    defaults = {k: default for k, (_, default) in parameters_of(NOTEBOOKS / chapter.notebook).items()}
    for step in chapter.steps:  # a step's executed name is the part its parameters name: one source of truth
        assert chapter.part_name({**defaults, **step.parameters}) == step.name


def test_no_two_chapters_share_a_setting_name():
    owners = [name for c in registry.CHAPTERS for name in c.setting_names]
    assert len(owners) == len(set(owners))
    settings = registry.settings_of(get_profile("smoke"))
    assert set(settings) == {f.name for f in dataclasses.fields(get_profile("smoke"))} | set(owners)


def test_the_contract_refuses_missing_profiles_and_profile_field_names():
    @dataclasses.dataclass(frozen=True)
    class Own(ChapterSettings):
        width: int = 3

    with pytest.raises(ConfigError, match="every profile needs them"):
        Chapter("99_x.ipynb", summary=("x",), settings={"full": Own()})

    @dataclasses.dataclass(frozen=True)
    class Clash(ChapterSettings):
        seeds: tuple = (0,)

    with pytest.raises(ConfigError, match="named like profile fields"):
        Chapter("99_x.ipynb", summary=("x",), settings={name: Clash() for name in PROFILES})
    chapter = Chapter("99_x.ipynb", summary=("x",), settings={name: Own(width=i + 1) for i, name in enumerate(PROFILES)})
    assert chapter.steps[0].name == "99_x" and chapter.part_name({}) == "99_x" and chapter.runs(get_profile("full")) == 0
    assert chapter.settings_for("smoke", width=7).width == 7 and chapter.settings_for("smoke", width=None).width == 3
    with pytest.raises(ConfigError, match="99_x has no setting"):
        chapter.settings_for("smoke", depth=2)


def test_a_context_resolves_its_chapters_settings_and_writes_only_declared_sections(tmp_path):
    from dd2424.study import lambda_search

    ctx = Context.__new__(Context)  # no data needed: only the settings and the summary part
    ctx.profile, ctx.paths, ctx.suffix, ctx.data_info = get_profile("smoke"), Paths(tmp_path), "-x=1", {}
    ctx.chapter, ctx.part = lambda_search.CHAPTER, lambda_search.CHAPTER.stem
    with pytest.raises(ConfigError, match=r"writes the summary section\(s\) \['training'\].*lambda_search"):
        ctx.save_part({"training": {}})
    with pytest.raises(ConfigError, match="lambda_fine_n must be an integer >= 0"):
        lambda_search.CHAPTER.settings_for("smoke", lambda_fine_n=-1)
    assert lambda_search.CHAPTER.settings_for("smoke", final_seeds=[4]).final_seeds == (4,)


@pytest.mark.realdata
def test_open_chapter_gives_the_context_its_part_and_settings(real_data):
    ctx = open_chapter("02_training_curves", {"profile": "smoke", "hidden": [50, 30, 20, 20, 10, 10, 10, 10]})
    assert ctx.part == "02_training_curves-9layer" and ctx.suffix == "-hidden=50,30,20,20,10,10,10,10"
    assert ctx.settings is None and ctx.profile.name == "smoke"
    ctx = open_chapter("05_beyond", {"profile": "smoke", "ablation_wide": "[16, 8]", "ablation_seeds": [3]})
    assert ctx.part == "05_beyond" and ctx.settings.ablation_wide == (16, 8) and ctx.settings.ablation_seeds == (3,)
    assert ctx.settings.ablation_longer == 2  # the smoke profile's, not overridden


def test_pictures_chapter_comes_after_the_ladder_and_trains_nothing():
    stems = [c.stem for c in registry.CHAPTERS]
    assert stems.index("06_pictures") == stems.index("05_beyond") + 1
    pictures = registry.chapter_of("06_pictures")
    assert not pictures.optional and pictures.summary == ("pictures",) and pictures.runs(get_profile("full")) == 0
    assert (NOTEBOOKS / pictures.notebook).is_file() and pictures in registry.chapters()


def test_steps_keep_todays_executed_names_and_parameters():
    steps = [s.name for _, s in registry.pipeline_steps()]
    assert steps[: len(TODAYS_STEPS)] == TODAYS_STEPS  # saved summary parts keep their names; new chapters follow
    curves = registry.chapter_of("02_training_curves.ipynb")
    assert curves.steps[1].parameters == {"name": "9layer", "hidden": [50, 30, 20, 20, 10, 10, 10, 10]}
    assert registry.summary_parts() == steps


def test_each_training_curves_step_trains_both_networks_of_its_depth_as_before():
    """The same four networks (and so the same run keys) as when each had its own step: one step per depth."""
    from dd2424.study import training_curves

    assert training_curves.TRAINING_CURVES == (
        ("3layer_nobn", (50, 50), False), ("3layer_bn", (50, 50), True),
        ("9layer_nobn", (50, 30, 20, 20, 10, 10, 10, 10), False), ("9layer_bn", (50, 30, 20, 20, 10, 10, 10, 10), True),
    )  # fmt: skip
    ctx = Context.__new__(Context)  # only the profile and the training set's size are needed to build configurations
    ctx.profile, ctx.data_info = get_profile("full"), {"n_train": 45000}
    for step, (depth, hidden) in zip(registry.chapter_of("02_training_curves").steps, training_curves.DEPTHS):
        configs = training_curves.pair_configs(ctx, step.parameters["hidden"], "he", 0.005)
        expected = [ctx.config(hidden=hidden, batch_norm=bn, init="he", lam=0.005, cycles=2, seed=s, record_grad_norms=True)
                    for bn in (False, True) for s in range(10)]  # fmt: skip
        assert [c.to_dict() for c in configs] == [c.to_dict() for c in expected]
        split = training_curves.split_by_batch_norm([{"config": c.to_dict()} for c in configs])
        assert [len(split[bn]) for bn in (False, True)] == [10, 10]
        assert training_curves.depth_name(hidden) == depth == step.parameters["name"]


@pytest.mark.parametrize(("profile", "expected"), [("full", FULL_RUNS), ("smoke", SMOKE_RUNS)])
def test_planned_runs_per_profile(profile, expected):
    settings = get_profile(profile)
    for chapter in registry.chapters():
        if chapter.stem in expected:
            assert chapter.runs(settings) == expected[chapter.stem], chapter.stem
    assert registry.planned_runs(settings) == sum(c.runs(settings) for c in registry.chapters())
    assert registry.planned_runs(settings) >= sum(expected.values())


def test_no_import_cycle_in_the_study_package():
    """Each module imports only modules listed before it in the package docstring's order; the registry, which
    imports the chapter modules by name, comes after every one of them."""
    folder = Path(registry.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        if path.stem == "__init__":
            continue
        tree = ast.parse(path.read_text())
        graph[path.stem] = {(n.module or "").split(".")[0] or a.name for n in ast.walk(tree)
                            if isinstance(n, ast.ImportFrom) and n.level == 1 for a in n.names}  # fmt: skip
    graph = {k: {m for m in v if m in graph} for k, v in graph.items()}
    graph["registry"] |= set(registry.CHAPTER_MODULES)
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
