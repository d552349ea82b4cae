"""Text to numbers: offline normalization with a per-token cache, the vocabulary from the training split with
post-padding and hashed subwords, and pretrained word vectors for the embedding.

Modules: preprocessing, vectorizing, word_vectors.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "preprocessing": [
        "NEGATIONS", "PreprocessingReport", "TOKEN_PATTERN", "TextPreprocessor", "naive_reference", "preprocess",
        "stopword_list", "strip_markup", "tokenize"
    ],
    "vectorizing": [
        "LengthSuggestion", "OOV_ID", "OOV_TOKEN", "PAD_ID", "SUBWORD_SLOTS", "Vocabulary", "VocabularyPreview",
        "bigram_bucket_ids", "build_vocabulary", "decode_tokens", "encode", "encode_subwords", "oov_rate",
        "preview_vocabulary", "subword_ids", "suggest_max_length", "token_lengths", "word_ids"
    ],
    "word_vectors": [
        "VectorCoverage", "load_word_vectors", "pretrained_words", "vector_dimension", "vector_set",
        "vocabulary_extension"
    ],
})
