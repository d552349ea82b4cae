"""Length-bucketed batches: each batch holds rows of similar length and is trimmed to its own longest row.

An LSTM's cost is linear in steps, and real text lengths vary a lot (the built-in remarks: median 21 tokens, the
95th percentile 72 — the padded length). Post-padding plus ``LengthAwareLSTM`` (which reads each row's last real
step from the mask) make the trim exact: padding after a row's last real token changes nothing the model computes,
so a batch cut to its longest row gives the same outputs as the full-width batch (tested).

Each epoch the rows are shuffled, sorted by length within large pools (so batches still mix rows from all over the
data), cut into batches, and the batches shuffled again: every batch has rows of similar length, and neither the
batch order nor a batch's members repeat from one epoch to the next. Seeded: same seed, same batches.

On TensorFlow training reads the batches from one ``tf.data`` pipeline that spans every epoch and gathers and trims
each batch in TensorFlow ops (:func:`tf_length_batches`): one traced training function serves every length, and no
Python runs between batches. Elsewhere a ``keras.utils.PyDataset`` (:class:`LengthBatches`) serves them; on JAX every
distinct shape compiles once, so there lengths are rounded up to a few sizes.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

# Rows are sorted by length within pools of this many batches: large enough that batches are nearly uniform in length,
# while the pool boundaries still vary from epoch to epoch.
POOL_BATCHES = 50
# Distinct batch lengths allowed on a backend that compiles once per shape (JAX: each costs seconds of compiling
# on this CPU, measured in bench/backends.py).
COMPILED_SHAPES = 6


def sequence_lengths(x: np.ndarray) -> np.ndarray:
    """Each row's length: one past its last non-padding step (a non-zero token ID, or a step of an embedded
    sequence with any non-zero value); at least 1."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"expected a batch of sequences (2 or 3 dimensions), got shape {x.shape}")
    present = x != 0 if x.ndim == 2 else np.any(x.reshape(x.shape[0], x.shape[1], -1) != 0, axis=2)
    steps = x.shape[1]
    if steps == 0:
        return np.zeros(len(x), dtype=np.int64)
    last_from_end = np.argmax(present[:, ::-1], axis=1)
    return np.where(present.any(axis=1), steps - last_from_end, 1).astype(np.int64)


def length_step(max_length: int, backend: Optional[str] = None) -> int:
    """Batch lengths are rounded up to a multiple of this: 1 (exact) where one compiled function serves every
    length, else a step that leaves at most ``COMPILED_SHAPES`` distinct lengths."""
    if backend is None:
        import keras

        backend = keras.backend.backend()
    return 1 if backend in ("tensorflow", "torch") else max(1, math.ceil(max_length / COMPILED_SHAPES))


def trimmed_length(longest: int, step: int, max_length: int) -> int:
    return int(min(max_length, math.ceil(max(1, longest) / step) * step))


def plan_epoch(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, pool_batches: int = POOL_BATCHES
) -> list[np.ndarray]:
    """One epoch's batches (row indices): shuffled, sorted by length within pools, cut, and the batches shuffled."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    order = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    for start in range(0, len(order), pool):
        chunk = order[start:start + pool]
        order[start:start + pool] = chunk[np.argsort(lengths[chunk], kind="stable")]  # stable: ties stay shuffled
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _open_length_dimension(batches: list[np.ndarray], batch_lengths: list[int]) -> None:
    """Keras derives the TensorFlow data signature from the first two batches: if they share a length it fixes
    that length, and a later, different one fails. Bring a batch of another length (if any) to second place."""
    if len(batches) < 2 or batch_lengths[0] != batch_lengths[1]:
        return
    for j in range(2, len(batches)):
        if batch_lengths[j] != batch_lengths[0]:
            batches[1], batches[j] = batches[j], batches[1]
            batch_lengths[1], batch_lengths[j] = batch_lengths[j], batch_lengths[1]
            return


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int, step: int,
                  max_length: int) -> tuple[list[np.ndarray], list[int]]:
    """Epoch ``epoch``'s batches (row indices) and each batch's trimmed length; the same for the same arguments."""
    batches = plan_epoch(lengths, batch_size, np.random.default_rng([seed, epoch]))
    batch_lengths = [trimmed_length(int(lengths[rows].max()), step, max_length) for rows in batches]
    _open_length_dimension(batches, batch_lengths)
    return batches, batch_lengths


# Above this many planned row slots (rows x epochs), plans are made epoch by epoch in Python (LengthBatches) rather
# than all at once for tf_length_batches: 20M int32 indices are 80 MB.
_MAX_PLANNED_ROWS = 20_000_000


def can_plan_ahead(rows: int, epochs: int) -> bool:
    return rows * epochs <= _MAX_PLANNED_ROWS


def tf_length_batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, seed: int, epochs: int):
    """A ``tf.data.Dataset`` of every epoch's length-bucketed, trimmed batches, one after the other (fit it with
    ``steps_per_epoch=batches_per_epoch(...)``): the same batches :class:`LengthBatches` serves, epoch by epoch.

    Why not the PyDataset on TensorFlow: Keras builds a new ``from_generator`` iterator for it every epoch, and
    tearing the old one down while its prefetch thread waits on the Python interpreter stalled 40% of the epochs
    by 0.5-1 s, and the end of a fit by up to 3.6 s (measured on the built-in data, where an epoch takes 0.7 s).
    Here the row indices of every epoch are planned up front (seeded) and each batch is gathered and trimmed by
    TensorFlow ops, so Keras keeps one iterator for the whole fit and no Python runs between batches.
    """
    import tensorflow as tf

    x, y = np.asarray(x), np.asarray(y)
    lengths = sequence_lengths(x)
    rows, bounds, widths = [], [0], []
    for epoch in range(epochs):
        batches, batch_lengths = epoch_batches(lengths, batch_size, seed, epoch, length_step(x.shape[1], "tensorflow"),
                                               x.shape[1])
        for batch, width in zip(batches, batch_lengths):
            rows.append(batch)
            bounds.append(bounds[-1] + len(batch))
            widths.append(width)
    all_rows = tf.constant(np.concatenate(rows).astype(np.int32))
    all_bounds = tf.constant(np.asarray(bounds, dtype=np.int32))
    all_widths = tf.constant(np.asarray(widths, dtype=np.int32))
    features, targets = tf.constant(x), tf.constant(y)

    def batch(index):
        members = all_rows[all_bounds[index]:all_bounds[index + 1]]
        return tf.gather(features, members)[:, :all_widths[index]], tf.gather(targets, members)

    options = tf.data.Options()
    options.autotune.enabled = False
    return tf.data.Dataset.range(len(widths)).map(batch).prefetch(2).with_options(options)


def batches_per_epoch(rows: int, batch_size: int) -> int:
    return max(1, math.ceil(rows / batch_size))


def _py_dataset_base():
    import keras

    return keras.utils.PyDataset


class LengthBatches(_py_dataset_base()):
    """A ``keras.utils.PyDataset`` of length-bucketed, trimmed batches for ``fit`` (pass ``shuffle=False``: the
    batches are reshuffled here after every epoch, seeded).

    With ``y=None`` it serves ``predict``: rows in length order, no shuffling; :func:`predict_trimmed` puts the
    predictions back in the rows' order.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: Optional[np.ndarray],
        batch_size: int,
        *,
        seed: int = 0,
        step: Optional[int] = None,
        shuffle: bool = True,
    ) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        self.x, self.y = np.asarray(x), None if y is None else np.asarray(y)
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"x has {len(self.x)} rows but y has {len(self.y)}")
        self.batch_size, self.seed, self.shuffle = int(batch_size), seed, shuffle
        self.max_length = self.x.shape[1]
        self.step = step if step is not None else length_step(self.max_length)
        self.lengths = sequence_lengths(self.x)
        self.epoch = 0
        self._plan()

    def _plan(self) -> None:
        if self.shuffle:
            self.batches, self.batch_lengths = epoch_batches(
                self.lengths, self.batch_size, self.seed, self.epoch, self.step, self.max_length
            )
            return
        order = np.argsort(self.lengths, kind="stable")
        batches = [order[start:start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        lengths = [trimmed_length(int(self.lengths[rows].max()), self.step, self.max_length) for rows in batches]
        _open_length_dimension(batches, lengths)
        self.batches, self.batch_lengths = batches, lengths

    @property
    def num_batches(self) -> int:
        return len(self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        rows, length = self.batches[index], self.batch_lengths[index]
        x = self.x[rows, :length]
        return (x,) if self.y is None else (x, self.y[rows])

    def order(self) -> np.ndarray:
        """The rows in the order the batches serve them."""
        return np.concatenate(self.batches) if self.batches else np.zeros(0, dtype=np.int64)

    def padded_steps_saved(self) -> float:
        """Share of the full-width steps that trimming skips this epoch (what an LSTM no longer computes)."""
        full = len(self.x) * self.max_length
        used = sum(len(rows) * length for rows, length in zip(self.batches, self.batch_lengths))
        return 1.0 - used / full if full else 0.0

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.epoch += 1
            self._plan()


def _trace_open_length(model, x: np.ndarray) -> None:
    """TensorFlow traces a fresh model's predict function for the first batch's exact shape, then once more for an
    open shape when the length changes (0.4-0.7 s of CPU each here). Trace the open shape first, so the second trace
    never happens: later calls of any length dispatch to it."""
    import keras

    if keras.backend.backend() != "tensorflow" or model.predict_function is not None:
        return
    import tensorflow as tf

    model.make_predict_function()
    try:
        model.predict_function.get_concrete_function([(tf.TensorSpec([None] * x.ndim, tf.as_dtype(x.dtype)),)])
    except Exception:  # a Keras whose predict function takes other arguments: it traces on demand, as usual
        pass


def predict_trimmed(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """``model.predict(x)`` over length-sorted, trimmed batches; the rows come back in their original order.
    Equal to predicting the full-width rows (exact trimming), faster by the padding it skips."""
    x = np.asarray(x)
    if len(x) == 0:
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    _trace_open_length(model, x)
    batches = LengthBatches(x, None, batch_size, shuffle=False)
    # Batch by batch rather than model.predict(batches): predict would build (and tear down) a tf.data iterator
    # for every call, once per epoch for validation, and that teardown stalled up to seconds (see tf_length_batches).
    predicted = np.concatenate([np.asarray(model.predict_on_batch(batches[i][0])) for i in range(len(batches))])
    result = np.empty_like(predicted)
    result[batches.order()] = predicted
    return result
