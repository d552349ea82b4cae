"""The classifiers and how they are judged: the Keras LSTM classifier and its ensembles, the TF-IDF +
logistic-regression baseline, classification metrics, and the size and time estimate made without Keras.

Modules: bag_of_words, baseline, classifier, estimate, evaluation, run_estimate.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "bag_of_words": [
        "MAX_TOKENS", "BagOfWordsWeights", "TokenRows", "fit_bag_of_words", "predict_bag_of_words", "word_pair_keys"
    ],
    "baseline": [
        "FITTED_ON_DEVELOPMENT", "baseline_on_split", "baseline_test_predictions", "tfidf_baseline",
        "tfidf_pipeline"
    ],
    "classifier": [
        "ClassifierModels", "EMBEDDING", "NGRAM_LAYER", "PRESENCE", "PROJECTION", "SEQUENCE_SCORES", "TOKEN_INPUT",
        "build_classifier", "build_ensemble", "build_model", "ensemble_members", "explainer", "has_attention",
        "presence_tensor", "set_word_vectors", "token_vector_layer", "token_vector_table"
    ],
    "estimate": ["estimate_epoch", "format_seconds", "model_summary", "parameter_count", "rough_duration"],
    "evaluation": [
        "classification_metrics", "majority_class_metrics", "occlusion_importance", "prediction_records",
        "token_weights"
    ],
    "run_estimate": [
        "PartShape", "RunEstimate", "RunShape", "StudyEstimate", "busy_note", "estimate_run", "estimate_study",
        "random_settings", "run_shape"
    ],
})
