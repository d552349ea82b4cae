"""Training: length-bucketed batches, the fit loop with progress events and a cooperative stop, the whole
experiment path (k-fold, ensembles, the replay), recommended settings, and training jobs in spawned processes.

Modules: batching, blending, experiment, fit, jobs, recommend.
Public names are listed below and imported from their module on first use (see core.lazy.exports).
"""

from core.lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "batching": [
        "COMPILED_SHAPES", "LengthBatches", "batches_per_epoch", "epoch_batches", "length_step", "plan_epoch",
        "predict_trimmed", "sequence_lengths", "tf_length_batches", "trimmed_length"
    ],
    "blending": ["WEIGHTS", "blended_model", "choose_weight"],
    "experiment": ["STATUS_STOPPED", "run_experiment", "split_rows", "vectorize"],
    "fit": ["embedder", "freeze_embedding", "make_optimizer", "seed_everything", "train", "warm_up_embedding"],
    "jobs": [
        "ACTIVE", "FAILED", "FINISHED", "JobScheduler", "JobView", "QUEUED", "QueueEntry", "STOPPED", "TrainingJob",
        "describe", "spec_for", "wait"
    ],
    "recommend": [
        "RECOMMENDED_TAG", "Recommendation", "estimated_cpu_seconds", "recommend", "recommendation_tags",
        "recommended_config", "recommended_for_run", "weightings"
    ],
})
