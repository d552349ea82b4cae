"""What the commands of ``python -m core`` share: the parser, the data arguments and what they load.

- :class:`Parser` turns a usage mistake into a :class:`UsageError`, so that it ends like every other user error:
  one ``error:`` line on stderr and exit status :data:`EXIT_USER_ERROR`.
- :func:`add_data_arguments` adds a CSV or ``--demo``, the columns, ``--config``/``--set``/``--seed``, ``--json``
  and ``--sample``; :func:`load_config` and :func:`load_dataset` read what they name.
- :func:`add_runs_dir_argument` and :func:`runs_dir_from`: the runs folder, with the same default everywhere.

Each command group (``data_commands``, ``run_commands``, ``config_commands``, ``study_commands``) imports this
module; :mod:`core.cli.entry` imports the groups. Nothing here imports a command module.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Optional

EXIT_INTERNAL_ERROR = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

RUNS_DIR_DEFAULT = "(default: runs/ or $LSTM_TEXT_LAB_RUNS)"


class UsageError(Exception):
    """A mistake on the command line itself (an unknown flag, a missing argument)."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``error:`` line, like every other user error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}; run `{self.prog} --help` for usage.")


def quiet_backends() -> None:
    """Keep TensorFlow's start-up chatter off stderr (set before it is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


def load_keras() -> None:
    """Import Keras before anything else does, with TensorFlow's start-up lines kept off stderr."""
    from core.backend import import_keras

    import_keras()


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="?", help="CSV file (comma, semicolon, tab or pipe delimited)")
    parser.add_argument("--demo", action="store_true", help="use the built-in dataset instead of a file")
    parser.add_argument("--dataset", default=None, help="which built-in dataset --demo uses (see `inspect --help`)")
    parser.add_argument("--text-col", dest="text_column", help="column holding the text (default: guessed)")
    parser.add_argument("--label-col", dest="label_column", help="column holding the class (default: guessed)")
    parser.add_argument("--config", dest="config_file", help="experiment config JSON (see `config --defaults`)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                        help="override one config setting, e.g. --set model.lstm_units=32 (repeatable)")
    parser.add_argument("--seed", type=int, help="random seed (split, resampling, weights)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--sample", dest="sample_rows", type=int, default=None, metavar="ROWS",
                        help="read a seeded random sample of at most ROWS rows of the CSV "
                             "(for files too big for memory)")


def add_runs_dir_argument(parser: argparse.ArgumentParser, purpose: str) -> None:
    """``--runs-dir``; ``purpose`` opens its help, e.g. "where runs are saved"."""
    parser.add_argument("--runs-dir", default=None, help=f"{purpose} {RUNS_DIR_DEFAULT}")


def runs_dir_from(argument: Optional[str]) -> Path:
    from core.runs.store import runs_dir

    return runs_dir(argument)


def add_run_argument(parser: argparse.ArgumentParser) -> None:
    """The run a command reads: a run id (looked up in the runs folder) or a run folder; and ``--runs-dir``."""
    parser.add_argument("run", metavar="RUN",
                        help="a run id (as `runs` lists them, e.g. 20261127-101500-ab12cd) or a run folder")
    add_runs_dir_argument(parser, "where a bare run id is looked up")


def run_folder(argument: str, runs_dir_argument: Optional[str] = None) -> Path:
    """The run folder ``argument`` names: a folder that exists as given, else a bare run id inside the runs folder
    (``--runs-dir``, else $LSTM_TEXT_LAB_RUNS, else ``runs/``). A bare id with no such run is a RunError that says
    where it looked; any other path is returned as given, for the run loader to say there is no run there."""
    from core.errors import RunError

    given = Path(argument)
    if given.is_dir():
        return given
    bare = bool(argument) and argument not in (".", "..") and given.name == argument
    if not bare:
        return given
    root = runs_dir_from(runs_dir_argument)
    if (root / argument).is_dir():
        return root / argument
    raise RunError(f"There is no run {argument!r} in the runs folder {str(root)!r}: list the runs there with "
                   f"`python -m core runs`, or name another folder with --runs-dir or $LSTM_TEXT_LAB_RUNS.")


def load_config(args: argparse.Namespace):
    """The experiment config the data arguments name: ``--config`` (or the defaults), then the column, seed and
    epoch flags and every ``--set``."""
    from core.config import ExperimentConfig, apply_overrides
    from core.errors import ConfigError

    config = ExperimentConfig()
    if args.config_file:
        try:
            text = Path(args.config_file).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"There is no config file at {args.config_file!r}; write one with "
                              "`python -m core config --defaults > config.json`.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"The config file {args.config_file!r} cannot be read ({exc.__class__.__name__}); "
                              "save it as UTF-8 JSON.") from None
        config = ExperimentConfig.from_json(text)
    overrides = list(args.overrides)
    if args.text_column:
        overrides.append(f"data.text_column={json.dumps(args.text_column)}")
    if args.label_column:
        overrides.append(f"data.label_column={json.dumps(args.label_column)}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if getattr(args, "epochs", None) is not None:
        overrides.append(f"training.epochs={args.epochs}")
    return apply_overrides(config, overrides) if overrides else config


def load_dataset(args: argparse.Namespace, config):
    """The dataset the data arguments name: the CSV (or its ``--sample``), or a built-in one with ``--demo``."""
    from core.data.builtin import DEFAULT_DATASET, load_builtin
    from core.data.dataset import build_dataset
    from core.data.reading import read_csv_path
    from core.errors import DataError

    if args.demo and args.data:
        raise DataError("Give either a CSV file or --demo, not both.")
    if not args.demo and not args.data:
        raise DataError("No data given: pass a CSV file, or --demo for the built-in dataset.")
    if args.dataset and not args.demo:
        raise DataError("--dataset picks a built-in dataset and needs --demo.")
    sample_rows = getattr(args, "sample_rows", None)
    if sample_rows is not None and sample_rows < 1:
        raise DataError("--sample must be at least 1 row.")
    if args.demo:
        table = load_builtin(args.dataset or DEFAULT_DATASET)
        if sample_rows is not None:
            from core.data.reading import sample_table

            table = sample_table(table, sample_rows, seed=config.seed)
    else:
        table = read_csv_path(args.data, max_rows=sample_rows, seed=config.seed)
    return build_dataset(table, config.data.text_column, config.data.label_column)
