"""The report's experiments, one module per chapter (notebook), and the parts they share.

Chapters, in the order of :data:`dd2424.study.registry.CHAPTER_MODULES` (each module is named like
its notebook in ``notebooks/``, ``NN_<module>.ipynb``, and declares its contract as ``CHAPTER``):
:mod:`.gradient_check`, :mod:`.training_curves`, :mod:`.lambda_search`, :mod:`.init_sensitivity`,
:mod:`.beyond` (the ablation ladder, climbed by :mod:`.ladder`) and :mod:`.pictures` (what the
classifier learned; no training). :mod:`.discussion` writes the report's Discussion from the summary.

Shared parts, by job: :mod:`.profiles` (what a profile fixes for every chapter, and the base of a
chapter's own settings), :mod:`.paths` (the output folder and its lock), :mod:`.chapter` (the
chapter contract), :mod:`.context` (a notebook's profile, settings, data, runs and outputs),
:mod:`.stats` (statistics over seeds and the prose of comparisons), :mod:`.tables` (table and
number formatting), :mod:`.summary` (``results/summary.json``), :mod:`.registry` (the chapters
the pipeline runs) and :mod:`.notebook` (:func:`open_chapter`, the first cell of every notebook).

Import direction, with no cycles: profiles, paths, tables < chapter, stats < context < ladder <
chapters < registry < summary, notebook.
"""

from .notebook import open_chapter

__all__ = ["open_chapter"]
