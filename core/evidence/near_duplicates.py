"""Near-duplicate texts, and the test rows whose near-twin sits in training (they inflate the test score).

Similarity is the Jaccard index of the two texts' sets of character 5-grams, taken after folding case,
punctuation and spacing (so "Bird hit, no damage." and "bird hit no damage" are identical: similarity 1).
Character shingles forgive a changed word, a typo or an inflection; 5-grams that run across the space between
two words also keep word order, so a shuffled text is not a duplicate.

Comparing every pair is quadratic (measured here: a chunked sparse product of TF-IDF character n-grams took
~60 s for 20k rows, so ~25 min for 100k). Instead each text gets a 128-value MinHash signature and
locality-sensitive hashing (bands of the signature) proposes candidate pairs; each candidate's similarity is then
computed exactly from its shingle sets, so every reported pair truly meets the threshold. The bands are chosen so
that a pair exactly at the threshold is found with probability ≥ 99 % (higher above it). Texts that are identical
after folding are grouped first and searched once; hash buckets crowded by templated texts are sampled, and the
report says so (``complete``). Measured on 2 shared cores: 20k rows in ~2 s, 100k rows in ~10-15 s, peak ~0.4 GB.

scipy and scikit-learn are imported inside functions (through core.lazy): the dashboard imports this module on its
first page.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

import numpy as np

from core import lazy
from core.records import Record

SHINGLE_CHARS = 5
NUM_PERMUTATIONS = 128
# One changed word in a 5-40-word text keeps a median 0.86 of the 5-grams (lower quartile 0.78); on the FAA remarks
# the non-identical pairs at 0.7 differ by a flight number or a typo. Short texts need a lower threshold.
DEFAULT_THRESHOLD = 0.7
DEFAULT_MAX_PAIRS = 1000
TARGET_RECALL = 0.99  # chance that a pair exactly at the threshold is found (banding and pre-filter together)
_BANDING_RECALL = 0.995  # the banding's share of that chance ...
_PREFILTER_MISS = 0.001  # ... and the chance the signature pre-filter drops a pair exactly at the threshold
_SHINGLES_PER_BLOCK = 1 << 20  # MinHash works on this many shingles at a time (8 MB buffers, reused)
BUCKET_WINDOW = 200  # in a band bucket, each text is compared with this many (random) bucket-mates at most
_DOCS_PER_CHUNK = 20_000  # texts shingled at once: bounds the temporary arrays (~40 bytes per character)
_PAIRS_PER_CHUNK = 50_000  # candidate pairs verified at once (~150 shingles each: ~100 MB of gathered rows)
_WORD = re.compile(r"\w+")
_MASK32 = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True)
class DuplicatePair(Record):
    row_a: int  # row_a < row_b, both indices into the texts searched
    row_b: int
    similarity: float  # 1.0: identical after folding case, punctuation and spacing


@dataclass(frozen=True)
class NearDuplicateReport(Record):
    """Pairs of rows at or above the threshold, most similar first, capped at ``max_pairs``."""

    threshold: float
    rows: int
    pairs: tuple[DuplicatePair, ...]
    pairs_found: int  # every pair found, before the cap
    identical_pairs: int  # of those, pairs identical after folding (similarity 1 by construction)
    rows_with_duplicate: int  # rows with at least one near-duplicate
    method: str
    complete: bool = True  # False: crowded hash buckets were sampled, so the counts are lower bounds (see notes)
    notes: tuple[str, ...] = field(default=())
    seconds: float = 0.0

    @property
    def truncated(self) -> bool:
        return self.pairs_found > len(self.pairs)


@dataclass(frozen=True)
class StraddlingMatch(Record):
    """A test row and the most similar training row (identical ones first)."""

    test_row: int
    train_row: int
    similarity: float


@dataclass(frozen=True)
class StraddlingReport(Record):
    """Test rows that have a near-duplicate among the training rows: one match each, by test row."""

    threshold: float
    train_rows: int
    test_rows: int
    matches: tuple[StraddlingMatch, ...]
    identical: int  # matches with similarity 1 (identical after folding)
    method: str
    complete: bool = True  # False: crowded hash buckets were sampled, so a few leaks may be missed (see notes)
    notes: tuple[str, ...] = field(default=())
    seconds: float = 0.0

    @property
    def leaked_test_rows(self) -> np.ndarray:
        return np.array([match.test_row for match in self.matches], dtype=np.int64)

    @property
    def leaked_fraction(self) -> float:
        return len(self.matches) / self.test_rows if self.test_rows else 0.0


# --------------------------------------------------------------------------------------------- public verbs


def find_near_duplicates(
    texts: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_pairs: int = DEFAULT_MAX_PAIRS,
    seed: int = 0,
) -> NearDuplicateReport:
    """Every pair of rows whose similarity is at least ``threshold``; the ``max_pairs`` most similar are listed."""
    started = time.perf_counter()
    _check_threshold(threshold)
    if max_pairs < 0:
        raise ValueError("max_pairs must be zero or more")
    index = _TextIndex.build(texts)
    multiplicity = np.bincount(index.inverse, minlength=index.size)
    search = _PairSearch(index, threshold, seed)
    a, b, similarity = _distinct_pairs(search.verified_pairs())
    near_row_pairs = int((multiplicity[a] * multiplicity[b]).sum())
    in_near_pair = np.zeros(index.size, dtype=bool)
    in_near_pair[a] = True
    in_near_pair[b] = True
    most_similar = np.lexsort((b, a, -similarity))[:max_pairs]
    near = [(int(a[i]), int(b[i]), float(similarity[i])) for i in most_similar]
    identical_pairs = int((multiplicity * (multiplicity - 1) // 2).sum())
    has_duplicate = (multiplicity >= 2) | in_near_pair
    pairs = _row_pairs(index, near, max_pairs)
    return NearDuplicateReport(
        threshold=threshold,
        rows=len(texts),
        pairs=pairs,
        pairs_found=identical_pairs + near_row_pairs,
        identical_pairs=identical_pairs,
        rows_with_duplicate=int(multiplicity[has_duplicate].sum()),
        method=_method_sentence(threshold, search),
        complete=search.complete,
        notes=search.notes(),
        seconds=round(time.perf_counter() - started, 3),
    )


def straddling_pairs(
    texts: Sequence[str],
    train_rows: np.ndarray,
    test_rows: np.ndarray,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
) -> StraddlingReport:
    """Test rows with a near-duplicate among the training rows, each with its most similar training row."""
    started = time.perf_counter()
    _check_threshold(threshold)
    train_rows = _row_array(train_rows, len(texts), "train_rows")
    test_rows = _row_array(test_rows, len(texts), "test_rows")
    if np.intersect1d(train_rows, test_rows).size:
        raise ValueError("train_rows and test_rows must not share a row")
    rows = np.concatenate([train_rows, test_rows])
    index = _TextIndex.build([texts[row] for row in rows])
    is_test_position = np.arange(len(rows)) >= len(train_rows)
    # For each distinct text: its first training row (or -1) and whether any test row holds it.
    no_row = np.iinfo(np.int64).max
    first_train = np.full(index.size, no_row, dtype=np.int64)
    np.minimum.at(first_train, index.inverse[: len(train_rows)], train_rows)
    has_train = first_train != no_row
    first_train[~has_train] = -1
    has_test = np.zeros(index.size, dtype=bool)
    has_test[index.inverse[is_test_position]] = True

    best_similarity = np.where(has_train & has_test, 1.0, 0.0)  # identical text on both sides
    best_partner = np.where(has_train & has_test, first_train, -1)
    search = _PairSearch(index, threshold, seed, sides=(has_train, has_test))
    for a, b, similarity in search.verified_pairs():
        for test_side, train_side in ((a, b), (b, a)):
            useful = has_test[test_side] & has_train[train_side]
            _keep_best(best_similarity, best_partner, test_side[useful], first_train[train_side[useful]],
                       similarity[useful])

    matches = []
    for position in np.flatnonzero(is_test_position):
        text_id = index.inverse[position]
        if best_partner[text_id] >= 0:
            matches.append(StraddlingMatch(int(rows[position]), int(best_partner[text_id]),
                                           round(float(best_similarity[text_id]), 4)))
    matches.sort(key=lambda match: match.test_row)
    return StraddlingReport(
        threshold=threshold,
        train_rows=len(train_rows),
        test_rows=len(test_rows),
        matches=tuple(matches),
        identical=sum(match.similarity >= 1.0 for match in matches),
        method=_method_sentence(threshold, search),
        complete=search.complete,
        notes=search.notes(),
        seconds=round(time.perf_counter() - started, 3),
    )


def test_inflation(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    test_rows: np.ndarray,
    leaked_test_rows: np.ndarray,
    class_names: Sequence[str],
) -> dict:
    """Accuracy and macro-F1 on all test rows vs on the test rows without a near-duplicate in training.

    ``y_true``/``y_pred`` hold one class id per entry of ``test_rows``. A positive ``difference`` is how much the
    near-duplicates flatter the score. Macro-F1 averages over the classes present in each set of rows, as the
    test metrics do.
    """
    lazy.load("sklearn")
    from core.model.evaluation import classification_metrics

    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    test_rows = np.asarray(test_rows, dtype=np.int64)
    if not (len(y_true) == len(y_pred) == len(test_rows)):
        raise ValueError("y_true, y_pred and test_rows must have one entry per test row")
    leaked = np.isin(test_rows, np.asarray(leaked_test_rows, dtype=np.int64))
    one_hot = np.eye(len(class_names))

    def scores(mask: np.ndarray) -> dict:
        if not mask.any():
            return {"rows": 0, "accuracy": None, "macro_f1": None}
        metrics = classification_metrics(y_true[mask], one_hot[y_pred[mask]], class_names)
        return {"rows": int(mask.sum()), "accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1}

    def rounded(part: dict) -> dict:
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in part.items()}

    everything, unleaked, only_leaked = scores(np.ones(len(test_rows), dtype=bool)), scores(~leaked), scores(leaked)
    difference = {
        key: (
            round(everything[key] - unleaked[key], 4)
            if everything[key] is not None and unleaked[key] is not None
            else None
        )
        for key in ("accuracy", "macro_f1")
    }
    return {
        "all": rounded(everything),
        "without_near_duplicates": rounded(unleaked),
        "near_duplicates_only": rounded(only_leaked),
        "difference": difference,
        "leaked_rows": int(leaked.sum()),
        "leaked_fraction": round(float(leaked.mean()), 4) if len(leaked) else 0.0,
    }


test_inflation.__test__ = False  # a verb named by the brief, not a test: keeps pytest from collecting it


# --------------------------------------------------------------------------------------------- texts and shingles


def normalized(text: str) -> str:
    """Case folded, punctuation dropped, words joined by single spaces: what similarity is measured on."""
    return " ".join(_WORD.findall(str(text).casefold()))


@dataclass(frozen=True)
class _TextIndex:
    """Distinct normalised texts, each row's distinct id, and each distinct text's set of shingle hashes (CSR)."""

    inverse: np.ndarray  # row → distinct id
    indptr: np.ndarray  # distinct id → slice of ``shingles``
    shingles: np.ndarray  # uint32 hashes, sorted and unique within each text

    @property
    def size(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def build(cls, texts: Sequence[str]) -> "_TextIndex":
        ids: dict[str, int] = {}
        inverse = np.fromiter((ids.setdefault(normalized(text), len(ids)) for text in texts), dtype=np.int64,
                              count=len(texts))
        distinct = list(ids)
        parts = [
            _shingle_hashes(distinct[start : start + _DOCS_PER_CHUNK])
            for start in range(0, len(distinct), _DOCS_PER_CHUNK)
        ]
        counts = np.concatenate([count for count, _ in parts]) if parts else np.zeros(0, dtype=np.int64)
        shingles = np.concatenate([hashes for _, hashes in parts]) if parts else np.zeros(0, dtype=np.uint32)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(inverse=inverse, indptr=indptr, shingles=shingles)


def _shingle_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(shingles per text, their 32-bit hashes sorted and unique within each text) for character 5-grams.

    Each text is framed by spaces (so its first and last words make shingles of their own) and padded to at least
    one shingle; windows are hashed with a rolling polynomial over the code points of all texts at once.
    """
    framed = [(" " + text + " ").ljust(SHINGLE_CHARS, "\0") for text in texts]
    lengths = np.fromiter((len(text) for text in framed), dtype=np.int64, count=len(framed))
    codes = np.frombuffer("".join(framed).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    ends = np.cumsum(lengths)
    windows = len(codes) - SHINGLE_CHARS + 1
    hashes = np.zeros(windows, dtype=np.uint64)
    for offset in range(SHINGLE_CHARS):
        hashes = hashes * np.uint64(1_000_003) + codes[offset : offset + windows]
    owner = np.repeat(np.arange(len(framed), dtype=np.uint64), lengths)[:windows]
    # window does not cross into the next text
    inside = np.arange(windows) + SHINGLE_CHARS <= ends[owner.astype(np.int64)]
    keys = (owner[inside] << np.uint64(32)) | (_mix(hashes[inside]) & _MASK32)
    keys.sort()  # np.unique hashes instead of sorting in NumPy 2.4: measured 13x slower on 15M keys
    keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    owners = (keys >> np.uint64(32)).astype(np.int64)
    return np.bincount(owners, minlength=len(framed)), (keys & _MASK32).astype(np.uint32)


def _mix(values: np.ndarray) -> np.ndarray:
    """A 64-bit finaliser (splitmix64) so the low 32 bits depend on every character of the window."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


# --------------------------------------------------------------------------------------------- candidate search


def bands_for(threshold: float, permutations: int = NUM_PERMUTATIONS) -> tuple[int, int]:
    """(bands, rows per band): the most selective banding that still proposes a pair at ``threshold`` ≥ 99.5 %."""
    for rows_per_band in range(permutations, 0, -1):
        bands = permutations // rows_per_band
        if 1 - (1 - threshold**rows_per_band) ** bands >= _BANDING_RECALL:
            return bands, rows_per_band
    return permutations, 1


class _PairSearch:
    """MinHash + LSH over the distinct texts; yields verified (a, b, similarity) arrays with a < b.

    A pair is yielded once, except that a pair found in a crowded bucket (below) may come again in a later band:
    callers that count pairs remove repeats (:func:`_distinct_pairs`).

    A band bucket of at most ``BUCKET_WINDOW + 1`` texts is compared in full. In a crowded bucket (templated texts
    can put thousands in one) each text is compared with ``BUCKET_WINDOW`` random bucket-mates, and only while it
    has no verified near-duplicate yet (straddling: while a test text has no training match), so the work stays
    near ``texts × window × bands`` instead of quadratic. Pairs inside crowded buckets may then be missed:
    ``complete`` says whether that happened.
    """

    def __init__(
        self, index: _TextIndex, threshold: float, seed: int, sides: Optional[tuple[np.ndarray, np.ndarray]] = None
    ):
        self.index = index
        self.threshold = threshold
        self.sides = sides  # (has_train, has_test): only pairs with a training side and a test side count
        self.bands, self.rows_per_band = bands_for(threshold)
        self.rng = np.random.default_rng(seed)
        self.crowded_texts = 0
        self.candidates = 0
        self.satisfied = np.zeros(index.size, dtype=bool)

    @property
    def complete(self) -> bool:
        return self.crowded_texts == 0

    def verified_pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if self.index.size < 2:
            return
        signatures = self._signatures()
        band_keys = self._band_keys(signatures)
        least_agreement = _least_agreement(self.threshold)
        matrix = self._shingle_matrix()
        sizes = np.diff(self.index.indptr)
        # fully_compared[t, j]: text t's bucket in band j was compared in full, so its pairs there were all proposed.
        fully_compared = np.zeros((self.index.size, self.bands), dtype=bool)
        crowded = np.zeros(self.index.size, dtype=bool)
        for band in range(self.bands):
            full_before = fully_compared[:, :band].any(axis=1)  # texts that may have been proposed already
            for a, b in self._bucket_pairs(band_keys[:, band], fully_compared[:, band], crowded):
                for start in range(0, len(a), _PAIRS_PER_CHUNK):
                    stop = start + _PAIRS_PER_CHUNK
                    candidates = self._new_candidates(a[start:stop], b[start:stop], band_keys, fully_compared,
                                                      full_before, band)
                    verified = self._verify(*candidates, signatures, matrix, sizes, least_agreement)
                    if len(verified[0]):
                        self._mark_satisfied(verified[0], verified[1])
                        yield verified
        self.crowded_texts = int(crowded.sum())

    def _verify(self, a, b, signatures, matrix, sizes, least_agreement) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The candidate pairs whose exact similarity meets the threshold, as (smaller id, larger id, similarity)."""
        self.candidates += len(a)
        # Signatures agreeing on too few permutations estimate a similarity far below the threshold.
        agreeing = (signatures[a] == signatures[b]).sum(axis=1) >= least_agreement
        a, b = a[agreeing], b[agreeing]
        if len(a) == 0:
            return a, b, np.zeros(0)
        shared = np.asarray(matrix[a].multiply(matrix[b]).sum(axis=1)).ravel()
        similarity = shared / (sizes[a] + sizes[b] - shared)
        keep = similarity >= self.threshold - 1e-12
        a, b = a[keep], b[keep]
        return np.minimum(a, b), np.maximum(a, b), similarity[keep]

    def notes(self) -> tuple[str, ...]:
        if self.complete:
            return ()
        return (
            f"{self.crowded_texts} text(s) shared a hash bucket with more than {BUCKET_WINDOW} others "
            f"(typical of templated texts); each was compared with {BUCKET_WINDOW} random bucket-mates per band "
            "until it had a match, so pairs among them are undercounted (every count is a lower bound) "
            "and a match shown may not be the closest.",
        )

    def _new_candidates(
        self, a: np.ndarray, b: np.ndarray, band_keys: np.ndarray, fully_compared: np.ndarray,
        full_before: np.ndarray, band: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Drop pairs not worth it in crowded buckets, pairs already proposed in an earlier band's full bucket and,
        when straddling, pairs without a training side and a test side (cheapest filters first)."""
        crowd = ~fully_compared[a, band]
        if crowd.any():
            if self.sides is None:
                needed = ~(self.satisfied[a] & self.satisfied[b])
            else:  # a test side still looking for a training match
                has_train, has_test = self.sides
                needed = ((has_test[a] & has_train[b] & ~self.satisfied[a])
                          | (has_test[b] & has_train[a] & ~self.satisfied[b]))
            keep = ~crowd | needed
            a, b = a[keep], b[keep]
        if self.sides is not None:
            has_train, has_test = self.sides
            straddles = (has_train[a] & has_test[b]) | (has_test[a] & has_train[b])
            a, b = a[straddles], b[straddles]
        check = np.flatnonzero(full_before[a])
        if check.size:
            a_check, b_check = a[check], b[check]
            seen = ((band_keys[a_check, :band] == band_keys[b_check, :band])
                    & fully_compared[a_check, :band]).any(axis=1)
            keep = np.ones(len(a), dtype=bool)
            keep[check[seen]] = False
            a, b = a[keep], b[keep]
        return a, b

    def _mark_satisfied(self, a: np.ndarray, b: np.ndarray) -> None:
        if self.sides is None:
            self.satisfied[a] = True
            self.satisfied[b] = True
            return
        has_train, has_test = self.sides
        self.satisfied[a[has_test[a] & has_train[b]]] = True
        self.satisfied[b[has_test[b] & has_train[a]]] = True

    def _signatures(self) -> np.ndarray:
        """MinHash with multiply-shift hashing: one 32-bit minimum per permutation and text.

        Blocks of whole texts and reused buffers: fresh 100 MB temporaries per permutation cost more than the maths.
        """
        multipliers = self.rng.integers(1, 2**63, NUM_PERMUTATIONS, dtype=np.uint64) | np.uint64(1)
        offsets = self.rng.integers(0, 2**63, NUM_PERMUTATIONS, dtype=np.uint64)
        indptr = self.index.indptr
        signatures = np.empty((self.index.size, NUM_PERMUTATIONS), dtype=np.uint32)
        first_text = 0
        while first_text < self.index.size:
            # at least one text per block, however long it is
            last_text = max(
                first_text + 1,
                int(np.searchsorted(indptr, indptr[first_text] + _SHINGLES_PER_BLOCK, side="right")) - 1,
            )
            last_text = min(last_text, self.index.size)
            shingles = self.index.shingles[indptr[first_text] : indptr[last_text]].astype(np.uint64)
            starts = indptr[first_text:last_text] - indptr[first_text]
            permuted = np.empty_like(shingles)
            for permutation in range(NUM_PERMUTATIONS):
                np.multiply(shingles, multipliers[permutation], out=permuted)
                np.add(permuted, offsets[permutation], out=permuted)
                np.right_shift(permuted, np.uint64(32), out=permuted)
                # every text has ≥ 1 shingle
                signatures[first_text:last_text, permutation] = np.minimum.reduceat(permuted, starts)
            first_text = last_text
        return signatures

    def _band_keys(self, signatures: np.ndarray) -> np.ndarray:
        keys = np.zeros((self.index.size, self.bands), dtype=np.uint64)
        for band in range(self.bands):
            block = signatures[:, band * self.rows_per_band : (band + 1) * self.rows_per_band].astype(np.uint64)
            for column in block.T:
                keys[:, band] = keys[:, band] * np.uint64(0x100000001B3) + column
            keys[:, band] = _mix(keys[:, band])
        return keys

    def _bucket_pairs(
        self, keys: np.ndarray, fully_compared: np.ndarray, crowded: np.ndarray
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Pairs of texts sharing this band's key, one bucket distance at a time (all of a small bucket, a shuffled
        window of a crowded one); the caller verifies each batch before the next, so texts that found a match
        drop out of crowded buckets early."""
        order = np.lexsort((self.rng.random(len(keys)), keys))  # random order within a bucket, new each band
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
        lengths = np.diff(np.concatenate([starts, [len(keys)]]))
        bucket = np.repeat(np.arange(len(starts)), lengths)
        small = lengths[bucket] <= BUCKET_WINDOW + 1
        fully_compared[order[small]] = True
        crowded[order[~small]] = True
        remaining = (starts + lengths)[bucket] - np.arange(len(keys)) - 1  # bucket-mates after this position
        positions = np.flatnonzero(remaining >= 1)
        for distance in range(1, BUCKET_WINDOW + 1):
            positions = positions[remaining[positions] >= distance]
            if not small.all():  # a crowded bucket whose texts all have their match needs no more pairs
                looking = np.bincount(bucket, weights=~self._done()[order], minlength=len(starts)) > 0
                positions = positions[small[positions] | looking[bucket[positions]]]
            if positions.size == 0:
                return
            yield order[positions], order[positions + distance]

    def _done(self) -> np.ndarray:
        """Texts that need no more comparisons in a crowded bucket: matched, or (straddling) not a test text."""
        if self.sides is None:
            return self.satisfied
        return self.satisfied | ~self.sides[1]

    def _shingle_matrix(self):
        lazy.load("sklearn")  # imports scipy.sparse whole, under the lab's one import lock
        from scipy.sparse import csr_matrix

        data = np.ones(len(self.index.shingles), dtype=np.float32)
        columns = self.index.shingles.astype(np.int64)
        return csr_matrix((data, columns, self.index.indptr), shape=(self.index.size, 2**32))


def _least_agreement(threshold: float) -> int:
    """Fewest agreeing MinHash values a pair exactly at ``threshold`` shows with probability ≥ 1 − 0.1 %.

    Agreements of a pair with similarity J are Binomial(NUM_PERMUTATIONS, J); the cut is its lower tail.
    """
    cumulative = 0.0
    for agreements in range(NUM_PERMUTATIONS + 1):
        cumulative += (math.comb(NUM_PERMUTATIONS, agreements) * threshold**agreements
                       * (1 - threshold) ** (NUM_PERMUTATIONS - agreements))
        if cumulative > _PREFILTER_MISS:
            return agreements
    return NUM_PERMUTATIONS


def _keep_best(best_similarity, best_partner, text_ids, partners, similarities) -> None:
    """Per text, the highest similarity seen so far and its partner (ties keep the earlier one)."""
    if text_ids.size == 0:
        return
    order = np.argsort(similarities, kind="stable")  # ascending: the last write for a text is its best here
    text_ids, partners, similarities = text_ids[order], partners[order], similarities[order]
    last = np.unique(text_ids[::-1], return_index=True)[1]
    last = len(text_ids) - 1 - last
    winners, values, who = text_ids[last], similarities[last], partners[last]
    better = values > best_similarity[winners]
    best_similarity[winners[better]] = values[better]
    best_partner[winners[better]] = who[better]


def _distinct_pairs(
    chunks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All verified pairs with repeats removed (sorting: NumPy 2.4's hash-based np.unique is far slower here)."""
    parts = list(chunks)
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    a, b, similarity = (np.concatenate(column) for column in zip(*parts))
    codes = a * (int(max(a.max(), b.max())) + 1) + b
    order = np.argsort(codes, kind="stable")
    first = np.concatenate([[True], codes[order][1:] != codes[order][:-1]])
    keep = order[first]
    return a[keep], b[keep], similarity[keep]


def _row_pairs(index: _TextIndex, near: list[tuple[int, int, float]], limit: int) -> tuple[DuplicatePair, ...]:
    """Expand distinct-text pairs into row pairs: identical rows first, then near pairs, most similar first."""
    rows_of: dict[int, list[int]] = {}
    order = np.argsort(index.inverse, kind="stable")
    boundaries = np.flatnonzero(np.diff(index.inverse[order])) + 1
    for group in np.split(order, boundaries):
        if len(group):
            rows_of[int(index.inverse[group[0]])] = group.tolist()
    pairs: list[DuplicatePair] = []
    for group in sorted((rows for rows in rows_of.values() if len(rows) > 1), key=lambda rows: rows[0]):
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if len(pairs) >= limit:
                    return tuple(pairs)
                pairs.append(DuplicatePair(first, second, 1.0))
    for a, b, similarity in near:
        for first in rows_of[a]:
            for second in rows_of[b]:
                if len(pairs) >= limit:
                    return tuple(pairs)
                pairs.append(DuplicatePair(min(first, second), max(first, second), round(similarity, 4)))
    return tuple(pairs)


# --------------------------------------------------------------------------------------------- small helpers


def _check_threshold(threshold: float) -> None:
    if not (isinstance(threshold, (int, float)) and 0 < threshold <= 1 and not math.isnan(threshold)):
        raise ValueError("threshold must be a similarity above 0 and at most 1")


def _row_array(rows: np.ndarray, num_texts: int, name: str) -> np.ndarray:
    rows = np.asarray(rows)
    if rows.ndim != 1 or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        raise ValueError(f"{name} must be a one-dimensional array of row indices")
    rows = rows.astype(np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= num_texts):
        raise ValueError(f"{name} must be indices into texts")
    if np.unique(rows).size != rows.size:
        raise ValueError(f"{name} must not repeat a row")
    return rows


def _method_sentence(threshold: float, search: _PairSearch) -> str:
    return (
        f"Two texts are near-duplicates when at least {threshold:.0%} of their character {SHINGLE_CHARS}-grams are "
        "shared (Jaccard similarity, after folding case, punctuation and spacing); candidates came from MinHash "
        f"locality-sensitive hashing ({search.bands} bands of {search.rows_per_band}, so a pair at the threshold is "
        f"found with probability ≥ {TARGET_RECALL:.0%}) and every reported similarity was computed exactly."
    )
