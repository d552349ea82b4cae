"""The choices a person makes, one registry record each: attention kinds, text normalizers, optimizers and
learning-rate schedules, resampling strategies. Each record carries its what/when/risk texts and builds its
object on demand (Keras, NLTK and imbalanced-learn are imported only then).

Modules: attention, ngrams, normalizers, optimization, resampling, vectors.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "attention": ["ATTENTION_KINDS", "ATTENTION_LAYER"],
    "ngrams": [
        "BAG_OF_WORDS_LAYER", "BLENDS", "BLEND_LAYER", "NGRAM_LAYER", "NGRAM_PATHS", "PRESENCE", "blend_parameters"
    ],
    "normalizers": ["NORMALIZERS"],
    "optimization": ["LR_SCHEDULES", "OPTIMIZERS", "make_optimizer", "schedule_callbacks"],
    "resampling": [
        "ABOUT", "AT_MOST", "EMBEDDING_SPACE", "EXACT", "RESAMPLERS", "ResampledTraining", "Resampler",
        "RowRequest", "UNDERSAMPLE_FLOOR", "balanced_class_weights", "dampened_class_weights", "preview_counts",
        "resample_training"
    ],
    "vectors": ["VECTOR_SETS", "VectorSet"],
})
