"""Word normalizers (stemmers and lemmatizers), one registry record each.

A record's ``make()`` returns the word → stem/lemma function and a label naming what actually ran (NLTK's WordNet
when its data is installed, simplemma offline otherwise). Nothing here downloads data; NLTK is imported only when
a normalizer is made.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, Optional

from core.registry import Registry, Texts

WordFunction = Callable[[str], str]


@dataclass(frozen=True)
class Normalizer:
    key: str
    title: str
    texts: Texts
    make: Callable[[], tuple[Optional[WordFunction], str]]  # -> (function or None, label of what ran)
    settings: tuple[str, ...] = ()  # preprocessing.* fields this normalizer reads


NORMALIZERS: Registry[Normalizer] = Registry("preprocessing.normalizer", "normalizer")


def _none() -> tuple[None, str]:
    return None, "none"


@functools.lru_cache(maxsize=None)
def _lemmatizer() -> tuple[WordFunction, str]:
    """NLTK's WordNet lemmatizer when WordNet is installed, else simplemma's offline English lemmas."""
    try:
        from nltk.stem import WordNetLemmatizer

        lemmatizer = WordNetLemmatizer()
        lemmatizer.lemmatize("dogs")  # raises LookupError when the WordNet corpus is missing
        return lemmatizer.lemmatize, "WordNet lemmatizer (NLTK data)"
    except Exception:
        import simplemma

        return (
            functools.partial(simplemma.lemmatize, lang="en"),
            "simplemma English lemmatizer (offline; WordNet data not installed)",
        )


def _porter() -> tuple[WordFunction, str]:
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer().stem, "Porter stemmer (NLTK)"


def _snowball() -> tuple[WordFunction, str]:
    from nltk.stem.snowball import SnowballStemmer

    return SnowballStemmer("english").stem, "Snowball English stemmer (NLTK)"


def _lancaster() -> tuple[WordFunction, str]:
    from nltk.stem.lancaster import LancasterStemmer

    return LancasterStemmer().stem, "Lancaster stemmer (NLTK)"


NORMALIZERS.register(Normalizer(
    key="none", title="None", make=_none,
    texts=Texts(
        what="Keeps every word as written (after the other toggles).",
        when="Enough data for the model to learn that 'engine' and 'engines' are related.",
        risk="Word forms split their evidence on small datasets.",
    ),
))
NORMALIZERS.register(Normalizer(
    key="porter", title="Porter stemmer", make=_porter,
    texts=Texts(
        what="Cuts suffixes by rule: 'landing', 'landed' → 'land'.",
        when="Small datasets with many word forms; the classic choice.",
        risk="Stems are not words ('engin') and unrelated words can collide.",
    ),
))
NORMALIZERS.register(Normalizer(
    key="snowball", title="Snowball stemmer", make=_snowball,
    texts=Texts(
        what="Porter's refined successor (Porter2): slightly more careful rules.",
        when="As Porter; usually a little better.",
        risk="As Porter: stems are not words.",
    ),
))
NORMALIZERS.register(Normalizer(
    key="lancaster", title="Lancaster stemmer (aggressive)", make=_lancaster,
    texts=Texts(
        what="Cuts hardest of the three stemmers: the smallest vocabulary.",
        when="Very small datasets where any sharing of evidence helps.",
        risk="Over-stems: different words often collapse into one stem.",
    ),
))
NORMALIZERS.register(Normalizer(
    key="lemmatize", title="Lemmatize", make=_lemmatizer,
    texts=Texts(
        what="Maps each word to its dictionary form: 'struck' → 'strike', 'geese' → 'goose'.",
        when="You want a smaller vocabulary that stays readable in heatmaps.",
        risk="Without part-of-speech tags some words keep their form; slower than stemming.",
    ),
))
