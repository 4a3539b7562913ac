"""Scoring: features, the ensemble, the decision band and the explanation (no I/O)."""

from apps.contracts.fraud import Contribution, Decision, FraudContext, FraudScore
from apps.contracts.runtime_config import FraudBands
from apps.fraud.features import features
from apps.fraud.model import FraudModel


def band(probability: float, review: float, reject: float) -> Decision:
    if probability >= reject:
        return Decision.REJECT
    if probability >= review:
        return Decision.REVIEW
    return Decision.APPROVE


class FraudScorer:
    def __init__(self, model: FraudModel, review: float, reject: float, top: int) -> None:
        self.model = model
        self.review = review
        self.reject = reject
        self.top = top

    def set_bands(self, bands: FraudBands) -> None:
        """New thresholds, applied from the next score on (runtime setting `fraud.bands`)."""
        self.review, self.reject = bands.review, bands.reject

    def score(self, ctx: FraudContext) -> FraudScore:
        probability, drivers = self.model.explain(features(ctx), self.top)
        return FraudScore(
            probability=round(probability, 6),
            decision=band(probability, self.review, self.reject),
            model_version=self.model.version,
            top_features=[
                Contribution(feature=name, value=round(value, 4), contribution=round(drop, 6))
                for name, value, drop in drivers
            ],
        )
