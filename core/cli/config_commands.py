"""``python -m core config --defaults | --schema``: the experiment config that ``--config`` reads, and every
setting's help, default, choices and limits."""

from __future__ import annotations

import argparse
import json


def add_commands(subparsers) -> None:
    """Add ``config`` to ``python -m core``'s subparsers."""
    config = subparsers.add_parser("config", help="print the default experiment config, or every setting's schema",
                                    epilog=_choices_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    shown = config.add_mutually_exclusive_group(required=True)
    shown.add_argument("--defaults", action="store_true", help="print the defaults as JSON")
    shown.add_argument("--schema", action="store_true",
                       help="print every setting with its help, default, choices and limits as JSON")


def _choices_epilog() -> str:
    """The settings that take a choice, each choice with its title (read from the registries at call time)."""
    from core.config import config_schema

    lines = ["settings with choices (--set SECTION.FIELD=CHOICE):"]
    for entry in config_schema():
        if entry.get("choices"):
            titles = entry.get("titles", {})
            choices = ", ".join(f"{key} ({titles[key]})" if key in titles else key for key in entry["choices"])
            lines.append(f"  {entry['setting']}: {choices}")
        elif entry.get("builtin"):
            titles = entry.get("titles", {})
            named = ", ".join(f"{key} ({titles.get(key, key)})" for key in entry["builtin"])
            lines.append(f"  {entry['setting']}: {named}, or a path to a file")
    return "\n".join(lines)


def cmd_config(args: argparse.Namespace) -> int:
    from core.config import ExperimentConfig, config_schema

    if args.schema:
        print(json.dumps(config_schema(), ensure_ascii=False, indent=1))
    else:
        print(ExperimentConfig().to_json())
    return 0


COMMANDS = {"config": cmd_config}
