"""python -m core: the command line over the same engine (inspect, train, predict, explain, runs, config, study,
sweep, worker).

Modules: arguments, config_commands, data_commands, entry, run_commands, study_commands.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "arguments": ["run_folder"],
    "entry": ["build_parser", "main"],
})
