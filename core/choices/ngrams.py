"""Bag-of-words help for the LSTM, one registry record per choice: a trained n-gram path beside the sequence ("wide
and deep") and a blend with a fitted TF-IDF + logistic-regression model.

Why: on small and mid-sized data a from-scratch LSTM must learn every word's vector from a few thousand rows, while a
linear model over word and word-pair presence reads them directly; the fair TF-IDF + LR baseline beat the LSTM on
every corpus measured (README, learning quality). A linear path over the same n-grams, trained jointly, can represent
that model (Cheng et al. 2016, "Wide & Deep"; Joulin et al. 2017, fastText), and a probability blend whose weight is
chosen on validation rows is the simplest way to combine the two.

Records describe their layers without Keras (summary rows, parameters) so the Model page's estimate stays exact;
Keras is imported only when a layer is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from core.registry import Registry, Texts

if TYPE_CHECKING:
    from core.config import ModelConfig

NGRAM_LAYER = "ngram_path"
BAG_OF_WORDS_LAYER = "bag_of_words"
BLEND_LAYER = "blend"
PRESENCE = "token_presence"  # 1 per real token: what the n-gram paths weigh tokens by (explanations scale it)
FEATURE_UNITS = 32  # width of the n-gram features concatenated before the head


@dataclass(frozen=True)
class NgramPath:
    """``units(config, classes)``: how many numbers per text the path gives (0: no path); ``added``: they are added to
    the head's logits (otherwise concatenated to the LSTM's features before the head)."""

    key: str
    title: str
    texts: Texts
    units: Callable[["ModelConfig", int], int]
    added: bool = False
    settings: tuple[str, ...] = ()


NGRAM_PATHS: Registry[NgramPath] = Registry("model.ngram_path", "n-gram path")

NGRAM_SETTINGS = ("ngram_speed", "ngram_l2", "ngram_dropout", "ngram_buckets")

NGRAM_PATHS.register(NgramPath(
    key="none", title="None (the LSTM alone)", units=lambda config, classes: 0,
    texts=Texts(
        what="The LSTM reads the text alone; every word's meaning is learned from the training rows.",
        when="Large data, or when word order carries the label.",
        risk="Small data: a TF-IDF + logistic-regression model usually scores higher.",
    ),
))
NGRAM_PATHS.register(NgramPath(
    key="logits", title="Words and word pairs, added to the head's scores", added=True, settings=NGRAM_SETTINGS,
    units=lambda config, classes: classes,
    texts=Texts(
        what="A linear model over the text's words and hashed word pairs, trained together with the LSTM; its class "
             "scores are added to the LSTM head's before the softmax (wide and deep).",
        when="Small and mid-sized data, where single words and pairs decide most labels: it can represent the "
             "bag-of-words baseline while the LSTM adds what word order says.",
        risk="Adds a table of (vocabulary + buckets) x classes weights; without regularisation it memorises rare "
             "pairs. Gradient explanations include it through each token's gate.",
    ),
))
NGRAM_PATHS.register(NgramPath(
    key="features", title="Words and word pairs, joined before the head", settings=NGRAM_SETTINGS,
    units=lambda config, classes: FEATURE_UNITS,
    texts=Texts(
        what=f"The same words and pairs summed into {FEATURE_UNITS} learned features, concatenated to the LSTM's "
             "before the output layer.",
        when="When the n-gram evidence should interact with the LSTM's features in the head.",
        risk="Less like the linear baseline than adding scores; the head must learn to mix both.",
    ),
))


def ngram_parameters(config: "ModelConfig", vocab_size: int, classes: int) -> int:
    """Weights of the n-gram path (0 without one): one row per word and per bucket (+ the empty bucket)."""
    units = NGRAM_PATHS.get(config.ngram_path).units(config, classes)
    return (vocab_size + config.ngram_buckets + 1) * units if units else 0


@dataclass(frozen=True)
class BlendKind:
    key: str
    title: str
    texts: Texts
    blends: bool = False
    settings: tuple[str, ...] = ()


BLENDS: Registry[BlendKind] = Registry("model.blend", "blend")

BLENDS.register(BlendKind(
    key="none", title="None (the LSTM's own probabilities)",
    texts=Texts(
        what="The run's probabilities are the LSTM's (or its ensemble's) alone.",
        when="To see what the LSTM itself learns.",
        risk="On small data it often scores below the bag-of-words baseline.",
    ),
))
BLENDS.register(BlendKind(
    key="validated", title="With TF-IDF + LR, weight chosen on validation", blends=True,
    texts=Texts(
        what="Averages the LSTM's probabilities with those of a TF-IDF + logistic-regression model over the same words "
             "and word pairs (the fair baseline's model, reading every word, also those the LSTM's vocabulary drops); "
             "the weight (0 to 1, in steps of 0.1) is the one that scores best on the validation rows, or out of "
             "fold with k-fold. The bag-of-words model is then refitted on training + validation.",
        when="Whenever the two disagree in useful ways: the blend is usually above both parts.",
        risk="The label says blend: the result is no longer the LSTM alone (Evaluate shows both). The weight is chosen "
             "on the validation rows, so validation scores flatter it; judge it on the test split.",
    ),
))


def blend_parameters(config: "ModelConfig", classes: int, words: int, pairs: int) -> int:
    """Fixed weights of the blend's bag-of-words model in one member (0 without a blend): for each of ``words``
    vocabulary rows a weight per class and an IDF; for each of ``pairs`` word pairs (and the "no pair" row) its key,
    a weight per class and an IDF; and the intercepts."""
    if not BLENDS.get(config.blend).blends:
        return 0
    return words * (classes + 1) + (pairs + 1) * (classes + 2) + classes
