"""Data in: reading CSV files as people's files are (encoding, delimiter, memory), guessing the columns, the
Dataset, the built-in datasets, the stratified seeded split that seals the test rows, and trainability.

Modules: builtin, columns, dataset, encoding, memory, reading, splitting, trainability.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "builtin": ["BUILTIN_DATASETS", "BuiltinDataset", "DEFAULT_DATASET", "load_builtin", "source_title"],
    "columns": ["ColumnGuess", "guess_columns"],
    "dataset": ["Dataset", "build_dataset", "class_order", "data_hash", "load_dataset"],
    "encoding": ["ENCODING_UNCERTAIN_BELOW", "encoding_label"],
    "memory": ["available_memory_bytes", "memory_check", "release_free_memory"],
    "reading": ["Table", "choose_delimiter", "read_csv_bytes", "read_csv_path", "sample_table"],
    "splitting": ["Split", "class_counts", "stratified_folds", "stratified_indices", "stratified_split"],
    "trainability": ["assess"],
})
