"""Training progress and a result's display: the bar counts every update step, changes nothing,
and a result shows as one line; ``TrainConfig``'s docstring documents every field."""

import dataclasses
import io
from types import SimpleNamespace

import numpy as np
import pytest

from dd2424 import progress as progress_module
from dd2424.config import TrainConfig
from dd2424.training import train


def _toy_data(n=400, d=20, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((c, d)) * 2

    def split(m):
        y = rng.integers(0, c, m)
        return SimpleNamespace(X=(centres[y] + rng.standard_normal((m, d))).astype(np.float32), y=y)

    return SimpleNamespace(train=split(n), val=split(100), test=split(100), label_names=tuple("abc"))


CONFIG = TrainConfig(hidden=(16,), n_s=25, cycles=2, batch_size=50, records_per_cycle=3)


def _train(config=CONFIG, **kwargs):
    data = _toy_data()
    net = config.build_network(data.train.X.shape[1], len(data.label_names))
    return net, train(net, data, config, **kwargs)


@pytest.mark.parametrize("where", ["terminal", "notebook"])
def test_bar_counts_every_update_step_and_changes_nothing(monkeypatch, where):
    bars = []

    class Recorded(progress_module.StepBar):
        def __init__(self, total, desc=None, where=None, file=None):
            super().__init__(total, desc, where, file=io.StringIO())
            bars.append(self)

    monkeypatch.setattr(progress_module, "where_shown", lambda: where)
    monkeypatch.setattr(progress_module, "StepBar", Recorded)
    net_bar, shown = _train(progress=True)
    net_plain, plain = _train()
    assert len(bars) == 1
    assert bars[0].n == CONFIG.total_steps == bars[0].bar.total  # moved to the last step, not one per record
    assert bars[0].bar.disable or bars[0].bar.postfix.startswith("train_acc=")
    assert shown.history == plain.history and shown.final == plain.final
    for a, b in zip(net_bar.params.values(), net_plain.params.values()):
        np.testing.assert_array_equal(a, b)


def test_not_interactive_prints_one_line_per_record(monkeypatch, capsys):
    monkeypatch.setattr(progress_module, "where_shown", lambda: None)
    _, result = _train(progress=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(result.history["step"]) > 1
    assert lines[-1].startswith(f"step {CONFIG.total_steps:>6}") and "val loss" in lines[-1]
    assert "\r" not in "".join(lines)  # no redrawn bar in a log


def test_papermill_like_kernel_draws_no_bar(monkeypatch):
    kernel = SimpleNamespace(_allow_stdin=False)  # nbclient (papermill) runs cells without stdin
    monkeypatch.setattr(progress_module, "_ipython", lambda: SimpleNamespace(kernel=kernel))
    assert progress_module.where_shown() is None
    kernel._allow_stdin = True  # JupyterLab
    assert progress_module.where_shown() == "notebook"


def test_callable_progress_still_gets_every_record():
    records = []
    _, result = _train(progress=records.append)
    assert [r["step"] for r in records] == result.history["step"]


def test_bad_progress_is_a_clear_error():
    with pytest.raises(TypeError, match="progress must be True"):
        _train(progress="yes")


def test_result_repr_is_one_short_line_and_html_is_a_table():
    _, result = _train()
    text = repr(result)
    assert "\n" not in text and len(text) < 200, text
    assert f"val {result.final['val']['accuracy']:.4f}" in text
    assert f"{CONFIG.total_steps} steps" in text and "not diverged" in text
    assert "history" not in text
    page = result._repr_html_()
    assert page.count("<tr>") == 4 and f"{result.final['test']['accuracy']:.4f}" in page


def test_diverged_result_says_where():
    config = TrainConfig(hidden=(16,), batch_norm=False, init=30.0, eta_min=1e3, eta_max=1e4, lam=0.0, n_s=10, cycles=1)
    _, result = _train(config)
    assert result.diverged and f"diverged at step {result.diverged_at_step}" in repr(result)


def test_train_config_docstring_lists_every_field_with_default_and_help():
    doc = TrainConfig.__doc__
    for f in dataclasses.fields(TrainConfig):
        assert f"{f.name} : {f.type} = {f.default!r}" in doc, f.name
        assert f.metadata["help"] in doc, f.name
    assert "(--batch)" in doc and "(--bn)" in doc  # the command line's flag names
