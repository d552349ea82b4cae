"""``python -m core``: the experiment engine, headless.

  inspect DATA.csv | --demo     triage report
  train   DATA.csv | --demo     train, evaluate and save a run (with --json, the last stdout line is JSON)
  predict RUN_DIR TEXT...       label, probabilities and per-token explanations (--explain METHOD)
  explain RUN_DIR               how faithful each explanation method is for the run (--json)
  runs                          list saved runs
  study   DATA.csv | --demo     lever study: each lever against the reference, same seeds, Δ validation macro-F1
  sweep   DATA.csv | --demo     search the settings (Optuna TPE) within a trial or time budget
  worker  --study NAME          add this machine's trials to a study shared through --storage
  config  --defaults            the default experiment config (the schema --config reads)

Mistakes a user can make end with exit status 2 and one stderr line starting with ``error:``.
Progress goes to stderr so that stdout stays machine-readable.

Each command group is a module with ``add_commands(subparsers)`` and a ``COMMANDS`` table: ``data_commands``
(inspect, train), ``run_commands`` (predict, explain, runs), ``config_commands`` and ``study_commands`` (study,
sweep, worker); what they share is in ``arguments``. This module builds the parser from the groups and turns
each error into its exit status; only ``core/__main__.py`` (and tests) import it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from core.cli import config_commands, data_commands, run_commands, study_commands
from core.cli.arguments import (
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    Parser,
    UsageError,
    quiet_backends,
)

# Each group adds its commands to the parser (in this order in ``--help``) and maps their names to functions.
GROUPS = (data_commands, run_commands, config_commands, study_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m core", description="LSTM Text Lab: multi-class text classification experiments.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in GROUPS:
        group.add_commands(commands)
    return parser


def _commands() -> dict:
    return {name: command for group in GROUPS for name, command in group.COMMANDS.items()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    quiet_backends()
    from core.errors import UserError

    try:
        args = build_parser().parse_args(argv)
        return _commands()[args.command](args)
    except (UserError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted; nothing was saved for the unfinished run.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`... | head`): not an error worth a line
        sys.stdout = open(os.devnull, "w")
        return 0
    except MemoryError:
        print("error: out of memory; use a smaller file, a shorter vectorizing.max_length or a smaller model.",
              file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # a bug, not the user's doing: one line unless debugging is asked for
        if os.environ.get("LSTM_TEXT_LAB_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); "
              "rerun with LSTM_TEXT_LAB_DEBUG=1 for details and report it.", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
