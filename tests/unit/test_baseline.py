"""The TF-IDF + logistic-regression yardstick: solved in the dual for speed, to the same optimum as the primal."""

import numpy as np

from core.model.baseline import tfidf_pipeline
from support.fakes import generated_texts


def test_the_dual_solver_reaches_the_primal_optimum():
    rows = generated_texts({"sports": 60, "tech": 40, "food": 25, "rare": 8}, seed=3)
    texts = [text for text, _ in rows]
    labels = np.array([label for _, label in rows])
    dual = tfidf_pipeline()
    assert dual[-1].estimator.dual is True
    primal = tfidf_pipeline()
    primal[-1].estimator.set_params(dual=False)
    dual.fit(texts[:100], labels[:100])
    primal.fit(texts[:100], labels[:100])
    np.testing.assert_allclose(dual.predict_proba(texts[100:]), primal.predict_proba(texts[100:]), atol=1e-3)
