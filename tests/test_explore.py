"""Exploring: the README's five-line example, figures that render in a fresh kernel, the plot helpers
straight from results, and notebooks/00_explore.ipynb under papermill (scratch folder only)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from dd2424 import explore
from dd2424.config import TrainConfig
from dd2424.study.paths import default_output_dir, project_root

ROOT = Path(__file__).resolve().parents[1]
CLASSES = tuple(f"class{i}" for i in range(4))


def _images(n: int, seed: int) -> SimpleNamespace:
    """Image-shaped rows whose class is the brightness of one quarter of the picture."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    X = rng.standard_normal((n, 3, 32, 32)) * 0.5
    for c in range(len(CLASSES)):
        X[y == c, :, (c // 2) * 16 : (c // 2 + 1) * 16, (c % 2) * 16 : (c % 2 + 1) * 16] += 1.5
    return SimpleNamespace(X=X.reshape(n, 3072).astype(np.float32), y=y, n=n)


def _data() -> SimpleNamespace:
    return SimpleNamespace(train=_images(400, 0), val=_images(100, 1), test=_images(100, 2), label_names=CLASSES,
                           mean=np.full(3072, 120.0), std=np.full(3072, 60.0), source="toy", provenance="toy images",
                           sha256="0" * 64)  # fmt: skip


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Exploring in Jupyter") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_five_line_example_runs(monkeypatch):
    """The example as printed, on small image-shaped data and a short schedule (else it trains on all of CIFAR-10)."""
    code = _readme_example()
    assert len(code.strip().splitlines()) == 5
    monkeypatch.setattr(explore, "load_cifar10", _data)
    monkeypatch.setattr(explore, "TrainConfig", lambda **kw: TrainConfig(**{**kw, "n_s": 10, "batch_size": 50}))
    shown = []
    namespace: dict = {"display": lambda *objects: shown.extend(objects)}  # IPython's display, as a notebook has it
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].history["step"][-1] == 20 and not namespace["result"].diverged
    assert len(shown) == 2 and all(fig._repr_png_()[:4] == b"\x89PNG" for fig in shown)
    assert "[100, 50] with BN after ReLU" in shown[0]._suptitle.get_text()  # the title names the variant
    assert namespace["net"].bn_position == "after" and namespace["net"].sizes == [3072, 100, 50, len(CLASSES)]


def _fitted(**changes):
    data = _data()
    config = TrainConfig(hidden=(16,), n_s=10, cycles=1, batch_size=50, **changes)
    net, result = explore.fit(config, data, progress=None)
    return data, config, net, result


def test_plot_helpers_draw_straight_from_results_and_render_as_png():
    data, config, net, result = _fitted()
    _, _, _, other = _fitted(seed=1)
    record = {"config": config.to_dict(), "history": result.history}
    figures = {
        "one": explore.plot_history(result),
        "band": explore.plot_history([record, {**record, "history": other.history}]),
        "lines": explore.plot_history([result, other], labels=["seed 0", "seed 1"]),
        "confusion": explore.plot_confusion(net, data),
        "units": explore.plot_first_layer(net, data, n=8),
        "mistakes": explore.plot_mistakes(net, data, n=6),
    }
    for name, fig in figures.items():
        assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "2 seeds" in figures["band"]._suptitle.get_text() and "1 cycle" in figures["band"]._suptitle.get_text()
    assert [t.get_text() for t in figures["lines"].legends[0].get_texts()][:2] == ["seed 0", "seed 1"]
    confusion = figures["confusion"].axes[0]
    assert "1-layer" not in confusion.get_title() and "2-layer [16] with BN" in confusion.get_title()
    assert len([ax for ax in figures["units"].get_axes() if ax.get_visible() and ax.images]) == 8


def test_plot_helpers_take_a_saved_run_record():
    from dd2424.experiments import run_training

    data = _data()
    record = run_training(TrainConfig(hidden=(16,), n_s=10, cycles=1, batch_size=50), data)
    assert explore.plot_confusion(record, data)._repr_png_()
    units = explore.plot_first_layer(record)
    assert len([ax for ax in units.get_axes() if ax.get_visible() and ax.images]) == 16
    assert explore.plot_mistakes(record, data, n=4)._repr_png_()


def test_plot_history_says_what_is_wrong():
    with pytest.raises(Exception, match="at least one result"):
        explore.plot_history([])
    _, _, _, result = _fitted()
    with pytest.raises(Exception, match="2 results but 1 labels"):
        explore.plot_history([result, result], labels=["a"])


def test_figure_renders_as_png_in_a_fresh_kernel(monkeypatch, tmp_path):
    """No %matplotlib inline and no pyplot: the project's figure ending a cell is an image/png output."""
    from nbclient import NotebookClient

    monkeypatch.delenv("MPLBACKEND", raising=False)  # as a kernel started by JupyterLab sees it
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "from dd2424.plotting import plot_histories\n"
        "history = {'step': [1, 2], 'train_loss': [2, 1], 'val_loss': [2, 1.5], 'train_cost': [2, 1],\n"
        "           'val_cost': [2, 1.5], 'train_accuracy': [.2, .5], 'val_accuracy': [.2, .4]}\n"
        "plot_histories([('', history)], 'a run')"
    )]  # fmt: skip
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["execute_result"]
    assert "image/png" in outputs[0].data


def test_exploration_caches_in_a_scratch_folder_and_is_not_a_chapter():
    from dd2424.study.registry import CHAPTERS

    folder = default_output_dir("explore")
    assert folder != project_root() and folder.parent.name == "build-report"
    ctx = explore.open_exploration({"profile": "smoke", "hidden": "[100, 50]", "seeds": "[3]", "lam": 0.01})
    assert ctx.paths.root == folder.resolve() and ctx.params.hidden == [100, 50] and ctx.profile.seeds == (3,)
    configs = explore.exploration_configs(ctx, hidden=(100, 50), lam=0.01, cycles=None)
    assert [c.seed for c in configs] == [3] and configs[0].n_s == ctx.profile.n_s and configs[0].lam == 0.01
    assert explore.EXPLORE_NOTEBOOK not in [c.notebook for c in CHAPTERS]
    assert (ROOT / "notebooks" / explore.EXPLORE_NOTEBOOK).is_file()


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under the committed output folders: size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for folder in ("results", "figures", "report") if (root / folder).is_dir()
            for p in (root / folder).rglob("*") if p.is_file()}  # fmt: skip


@pytest.mark.slow
@pytest.mark.realdata
def test_explore_notebook_under_papermill_shows_its_figures_and_writes_only_scratch(real_data, tmp_path):
    papermill = pytest.importorskip("papermill")
    before = _snapshot(ROOT)
    out = tmp_path / "00_explore.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / explore.EXPLORE_NOTEBOOK), str(out), kernel_name="python3",
                               parameters={"profile": "smoke", "data": real_data.source, "hidden": "[60, 40]",
                                           "seeds": "[0, 1]"},
                               cwd=str(tmp_path), progress_bar=False)  # fmt: skip
    nb = nbformat.read(out, as_version=4)
    images = [c for c in nb.cells if c.cell_type == "code" and any("image/png" in o.get("data", {}) for o in c.outputs)]
    assert len(images) >= 3
    sources = " ".join(c.source for c in images)
    assert "plot_history" in sources and "plot_confusion" in sources and "plot_first_layer" in sources
    assert _snapshot(ROOT) == before  # nothing under results/, figures/ or report/
    runs = list((default_output_dir("explore") / "results" / "runs").glob("h60-40_bn_s*.json"))
    assert len(runs) >= 2
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "\r" not in text  # record lines, no redrawn bar in the executed copy
