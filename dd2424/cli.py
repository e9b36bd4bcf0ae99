"""The ``dd2424`` command: argument parsing and clear errors, delegating to the modules.

Bad arguments exit with status 2 and one line on stderr; a data or configuration problem
exits with status 2 too, a diverged training run with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import ConfigError, DD2424Error

EXIT_DIVERGED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_list(text: str) -> tuple[int, ...]:
    fields = text.split(",")
    if any(not v.strip() for v in fields):  # 50,,50 or 50, : a size was left out, never guessed
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes such as 50,50, got {text!r} "
                                         "(an empty field)")
    try:
        values = tuple(int(v) for v in fields)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 50,50, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive layer sizes such as 50,50, got {text!r}")
    return values


def _init(text: str) -> str | float:
    if text in ("he", "xavier"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected he, xavier or a positive sigma such as 1e-3, got {text!r}") from None


def _non_negative(text: str) -> float:
    value = _number(text)
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse


def _add_data_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        metavar="PATH",
        help="a cifar-10-python.tar.gz or an extracted cifar-10-batches-py folder "
        "(default: $DD2424_CIFAR10, else the official archive, downloaded once)",
    )


#: how a command-line string becomes the value of a TrainConfig field, by the field's annotation
_PARSE_BY_TYPE = {
    "int": _integer, "int | None": _integer, "float": _number, "str": str,
    "tuple[int, ...]": _int_list, "str | float": _init,
}  # fmt: skip


def _add_config_options(p: argparse.ArgumentParser) -> None:
    """One flag per :class:`~dd2424.training.TrainConfig` field, with its default and help from the field."""
    from .training import TrainConfig

    groups = {False: p, True: p.add_argument_group("beyond the assignment (off by default)")}
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        flag = "--" + (meta["flag"] or f.name).replace("_", "-")
        extra = {"dest": f.name, "default": f.default, "help": f"{meta['help']} (default {_shown_default(f.default)})"}
        if f.type == "bool":
            groups[meta["beyond"]].add_argument(flag, action=argparse.BooleanOptionalAction, **extra)
        else:
            groups[meta["beyond"]].add_argument(
                flag, type=_PARSE_BY_TYPE[f.type], choices=meta["choices"], metavar=meta["metavar"], **extra
            )


def _shown_default(value: object) -> str:
    if value is None:
        return "all"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def _config_from_args(args: argparse.Namespace):
    """The :class:`~dd2424.training.TrainConfig` the flags describe (validated by the config itself)."""
    from .training import TrainConfig

    return TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)})


def build_parser() -> argparse.ArgumentParser:
    """The ``dd2424`` argument parser with its sub-commands."""
    parser = _Parser(prog="dd2424", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"dd2424 {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("data", help="fetch or verify the dataset and print its provenance")
    _add_data_option(p)

    p = sub.add_parser("gradcheck", help="relative errors of analytic vs numerical gradients")
    p.add_argument("--hidden", type=_int_list, default=(50, 50), help="hidden layer sizes (default 50,50)")
    p.add_argument("--bn", action=argparse.BooleanOptionalAction, default=True, help="batch normalisation (default on)")
    p.add_argument("--lam", type=_non_negative, default=0.0, help="L2 regularisation lambda (default 0)")
    p.add_argument("--inputs", type=_positive(int), default=15, help="input dimensions used (default 15)")
    p.add_argument("--samples", type=_positive(int), default=20, help="mini-batch size (default 20)")
    p.add_argument("--reference", choices=("complex", "extended", "float64"), default="complex",
                   help="numerical reference: the complex step in extended precision (default), or centred "
                        "differences in extended precision or float64")  # fmt: skip
    p.add_argument("--skip", action=argparse.BooleanOptionalAction, default=False,
                   help="skip connections over hidden layers 2-3, 4-5, ... (default off)")
    p.add_argument("--seed", type=int, default=0, help="seed of the network's initialisation and the random batch (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("train", help="train a network on the full split")
    _add_data_option(p)
    p.add_argument("--threads", type=_positive(int), default=1,
                   help="BLAS threads (default 1: a batch of 100 is too small for a second thread to pay "
                        "reliably, and on a busy 2-core machine it makes every product wait)")  # fmt: skip
    _add_config_options(p)
    p.add_argument("--progress", action="store_true", help="print a line per history record")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", metavar="FILE",
                   help="also write the result (with history) as JSON to FILE; its folder must exist")  # fmt: skip

    p = sub.add_parser("report", help="run every notebook and build the report (PDF, or HTML without LaTeX)")
    _add_data_option(p)
    p.add_argument("--profile", choices=("full", "quick", "smoke"), default="full",
                   help="full: the real experiments; quick: about 12 minutes on two cores; smoke: seconds (default full)")  # fmt: skip
    p.add_argument("--jobs", type=_positive(int), default=1, help="parallel training processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the sweeps on this Dask scheduler (tcp://host:port)")
    p.add_argument("--force", action="store_true", help="recompute every run instead of reusing saved results")
    p.add_argument("--prune-stale", action="store_true",
                   help="after the notebooks succeed, delete saved runs of an older code version (never reused)")  # fmt: skip
    p.add_argument("--output-dir", metavar="DIR", default=None,
                   help="where results/, figures/ and the report go (default: the project folder for full, "
                        "build-report/<profile> beneath it for quick and smoke)")  # fmt: skip

    p = sub.add_parser("bench", help="time training steps, evaluation and data loading (vs PyTorch if installed)")
    _add_data_option(p)
    p.add_argument("--repeats", type=_positive(int), default=200, help="timed steps per case (default 200)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--no-full-run", action="store_true", help="skip the full 2-cycle training")
    p.add_argument("--threads", type=_positive(int), default=1, help="threads for BLAS and PyTorch (default 1; the compiled loops use one)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    parser.commands = sub.choices  # name -> sub-parser, for the errors that only the top level sees
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; an unknown flag is reported by its sub-command, with a near match when there is one."""
    import difflib

    args, extra = parser.parse_known_args(argv)
    if extra:
        command = parser.commands[args.command]
        flags = [flag for action in command._actions for flag in action.option_strings]
        first = extra[0].split("=")[0]
        near = difflib.get_close_matches(first, flags, n=1, cutoff=0.7) if first.startswith("-") else []
        hint = f"; did you mean {near[0]}?" if near else ""
        command.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dd2424`` console script."""
    import warnings

    def one_line(message, category, *rest, **kw):  # this package's warnings: no source line
        if category.__module__.split(".")[0] == "dd2424":
            return f"warning: {message}\n"
        return one_line.plain(message, category, *rest, **kw)

    one_line.plain = getattr(warnings.formatwarning, "plain", warnings.formatwarning)
    warnings.formatwarning = one_line
    args = _parse(build_parser(), argv)
    try:
        return COMMANDS[args.command](args)
    except DD2424Error as error:
        print(f"dd2424 {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"dd2424 {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `dd2424 train --progress | head -1`: the reader has gone
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        print(f"dd2424 {args.command}: stopped: its output pipe was closed", file=sys.stderr)
        return EXIT_USAGE


def _cmd_data(args: argparse.Namespace) -> int:
    from .data import load_cifar10

    tic = time.perf_counter()
    data = load_cifar10(args.data)
    print(f"source:     {data.source}")
    print(f"provenance: {data.provenance}")
    print(f"splits:     train {data.train.n}, validation {data.val.n}, test {data.test.n}")
    print(f"loaded in   {time.perf_counter() - tic:.2f} s")
    return 0


def _cmd_gradcheck(args: argparse.Namespace) -> int:
    from .gradcheck import entries_as_dicts, format_table, gradcheck_network, max_relative_error

    entries = gradcheck_network(
        args.hidden, batch_norm=args.bn, lam=args.lam, n_inputs=args.inputs, n_samples=args.samples,
        seed=args.seed, reference=args.reference, skip=args.skip,
    )  # fmt: skip
    worst = max_relative_error(entries)
    if args.json:
        print(json.dumps({
            "hidden": list(args.hidden), "batch_norm": args.bn, "lam": args.lam, "inputs": args.inputs,
            "samples": args.samples, "reference": args.reference, "seed": args.seed, "skip": args.skip,
            "max_relative_error": worst, "entries": entries_as_dicts(entries),
        }))  # fmt: skip
    else:
        bn = ("with BN" if args.bn else "without BN") + (" and skip connections" if args.skip else "")
        print(f"{len(args.hidden) + 1}-layer network {list(args.hidden)} {bn}, lambda {args.lam}, "
              f"{args.inputs} inputs, {args.samples} samples, {args.reference} reference")  # fmt: skip
        print(format_table(entries))
        print(f"max relative error: {worst:.3e}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .experiments import run_training
    from .progress import print_record

    config = _config_from_args(args)
    config.build_network(3072, 10)  # the network's own checks (e.g. the initial sigma) before any data is read
    if args.out:
        check_output_file(args.out)
    progress = print_record if args.progress else None
    from .kernels import compute_threads

    with compute_threads(args.threads):
        record = run_training(config, data_source=args.data, progress=progress)
    if args.out:
        from .experiments import write_json_atomic

        write_json_atomic(args.out, record)
    if args.json:
        summary = {k: v for k, v in record.items() if k != "history"}
        print(json.dumps(summary))
    elif record["diverged"]:
        print(f"dd2424 train: {record['message']}", file=sys.stderr)
    else:
        print(f"validation accuracy {record['val_accuracy']:.4f}, test accuracy {record['test_accuracy']:.4f}")
        print(f"training {record['train_seconds']:.1f} s (+ {record['eval_seconds']:.1f} s of history evaluation)")
        print(f"data: {record['data']['provenance']}")
    return EXIT_DIVERGED if record["diverged"] else 0


def check_output_file(path: str) -> None:
    """Refuse, before any work, an output path that could not be written: a folder, a missing or
    unwritable folder, a path under a file. The folder is not created: a typo should not make one."""
    target = Path(path)
    if target.is_dir():
        raise ConfigError(f"--out {path} is a folder; give a file name such as {target / 'run.json'}")
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigError(f"--out {path}: {folder} {what}; create the folder first (mkdir -p) or choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=folder)
    except OSError as exc:
        raise ConfigError(f"--out {path}: cannot write in {folder} ({exc.strerror}); choose a writable folder") from None
    os.close(fd)
    os.unlink(probe)


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import run_report

    return run_report(args)


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench

    return run_bench(args)


COMMANDS = {
    "data": _cmd_data,
    "gradcheck": _cmd_gradcheck,
    "train": _cmd_train,
    "report": _cmd_report,
    "bench": _cmd_bench,
}

if __name__ == "__main__":
    sys.exit(main())
