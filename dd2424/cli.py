"""The ``dd2424`` command: argument parsing and clear errors, delegating to the modules.

Bad arguments exit with status 2 and one line on stderr; a data or configuration problem
exits with status 2 too, a diverged training run with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

from . import __version__
from .errors import DD2424Error

EXIT_DIVERGED = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, without the usage block."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 50,50, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive layer sizes such as 50,50, got {text!r}")
    return values


def _init(text: str) -> str | float:
    if text in ("he", "xavier"):
        return text
    try:
        sigma = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected he, xavier or a positive sigma such as 1e-3, got {text!r}") from None
    if not sigma > 0:
        raise argparse.ArgumentTypeError(f"the initial sigma must be positive, got {text!r}")
    return sigma


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


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
    p.add_argument("--reference", choices=("extended", "float64"), default="extended",
                   help="precision of the numerical cost (default extended)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("train", help="train a network on the full split")
    _add_data_option(p)
    p.add_argument("--hidden", type=_int_list, default=(50, 50), help="hidden layer sizes (default 50,50)")
    p.add_argument("--bn", action=argparse.BooleanOptionalAction, default=True, help="batch normalisation (default on)")
    p.add_argument("--lam", type=_non_negative, default=0.005)
    p.add_argument("--eta-min", type=_positive(float), default=1e-5)
    p.add_argument("--eta-max", type=_positive(float), default=1e-1)
    p.add_argument("--n-s", type=_positive(int), default=2250, help="half-cycle length in update steps")
    p.add_argument("--cycles", type=_positive(int), default=2)
    p.add_argument("--batch", type=_positive(int), default=100)
    p.add_argument("--init", type=_init, default="he", help="he, xavier or a fixed sigma")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--threads", type=_positive(int), default=1,
                   help="BLAS threads (default 1: a batch of 100 is too small for a second thread to pay "
                        "reliably, and on a busy 2-core machine it makes every product wait)")  # fmt: skip
    extra = p.add_argument_group("beyond SPEC.md (off by default)")
    extra.add_argument("--bn-position", choices=("before", "after"), default="before", help="BN before or after the ReLU")
    extra.add_argument("--dropout", type=_non_negative, default=0.0, help="probability of dropping a hidden unit")
    extra.add_argument("--flip", action="store_true", help="random horizontal flips of the training images")
    extra.add_argument("--max-shift", type=int, default=0, help="random translations of up to this many pixels")
    extra.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    extra.add_argument("--precise-bn", type=int, default=0, metavar="N",
                       help="recompute the BN statistics on N training samples after training")  # fmt: skip
    extra.add_argument("--precise-bn-per-epoch", type=int, default=0, metavar="K",
                       help="with --precise-bn: also recompute them K times per epoch (for the history)")  # fmt: skip
    extra.add_argument("--test-flips", action="store_true",
                       help="evaluate with the probabilities averaged over each image and its mirror")  # fmt: skip
    extra.add_argument("--history-train-samples", type=int, default=None, metavar="N",
                       help="evaluate the history's training metrics on the first N training samples")  # fmt: skip
    p.add_argument("--progress", action="store_true", help="print a line per history record")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--out", metavar="FILE", help="also write the result (with history) as JSON to FILE")

    p = sub.add_parser("report", help="run every notebook and build the report (PDF, or HTML without LaTeX)")
    _add_data_option(p)
    p.add_argument("--profile", choices=("full", "quick", "smoke"), default="full",
                   help="full: the real experiments; quick: a few minutes; smoke: seconds (default full)")  # fmt: skip
    p.add_argument("--jobs", type=_positive(int), default=1, help="parallel training processes (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the sweeps on this Dask scheduler (tcp://host:port)")
    p.add_argument("--force", action="store_true", help="recompute every run instead of reusing saved results")
    p.add_argument("--output-dir", metavar="DIR", default=None,
                   help="where results/, figures/ and the report go (default: the project folder)")  # fmt: skip

    p = sub.add_parser("bench", help="time training steps, evaluation and data loading (vs PyTorch if installed)")
    _add_data_option(p)
    p.add_argument("--repeats", type=_positive(int), default=200, help="timed steps per case (default 200)")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--no-full-run", action="store_true", help="skip the full 2-cycle training")
    p.add_argument("--threads", type=_positive(int), default=1, help="BLAS (and PyTorch) threads (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dd2424`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DD2424Error as error:
        print(f"dd2424 {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"dd2424 {args.command}: interrupted", file=sys.stderr)
        return 130


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
        seed=args.seed, reference=args.reference,
    )  # fmt: skip
    worst = max_relative_error(entries)
    if args.json:
        print(json.dumps({
            "hidden": list(args.hidden), "batch_norm": args.bn, "lam": args.lam, "inputs": args.inputs,
            "samples": args.samples, "reference": args.reference, "seed": args.seed,
            "max_relative_error": worst, "entries": entries_as_dicts(entries),
        }))  # fmt: skip
    else:
        bn = "with BN" if args.bn else "without BN"
        print(f"{len(args.hidden) + 1}-layer network {list(args.hidden)} {bn}, lambda {args.lam}, "
              f"{args.inputs} inputs, {args.samples} samples, {args.reference} reference")  # fmt: skip
        print(format_table(entries))
        print(f"max relative error: {worst:.3e}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .experiments import run_training
    from .training import TrainConfig

    config = TrainConfig(
        hidden=args.hidden, batch_norm=args.bn, init=args.init, lam=args.lam, eta_min=args.eta_min,
        eta_max=args.eta_max, n_s=args.n_s, cycles=args.cycles, batch_size=args.batch, seed=args.seed,
        dtype=args.dtype, bn_position=args.bn_position, dropout=args.dropout, flip=args.flip,
        max_shift=args.max_shift, optimizer=args.optimizer, precise_bn=args.precise_bn,
        precise_bn_per_epoch=args.precise_bn_per_epoch, test_flips=args.test_flips,
        history_train_samples=args.history_train_samples,
    )  # fmt: skip
    progress = _print_progress if args.progress else None
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
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


def _print_progress(record: dict) -> None:
    print(
        f"step {record['step']:>6}  epoch {record['epoch']:>3}  eta {record['eta']:.2e}  "
        f"train loss {record['train_loss']:.3f} acc {record['train_accuracy']:.3f}  "
        f"val loss {record['val_loss']:.3f} acc {record['val_accuracy']:.3f}",
        flush=True,
    )


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
