"""Tunable parameters of the feature transforms, with the defaults the catalogue documents.

Every transform takes its parameters explicitly; :class:`FeatureParams` bundles them for the
pipeline.  Defaults are chosen for the situation the source documents describe (see
docs/features.md for the reasoning behind each number).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InterestParams:
    """TF-IDF interest scoring.  score = 1 - exp(-raw / tau)."""

    tau: float = 2.0
    # A self-declared profile tag or bio phrase says more than one word in one post.
    source_weights: tuple[tuple[str, float], ...] = (("bio", 2.0), ("tag", 2.0), ("post", 1.0))
    top_min_score: float = 0.2


@dataclass(frozen=True)
class TraitParams:
    """Life events are looked for in posts of the last ``lookback_days`` days (and the bio)."""

    lookback_days: int = 365


@dataclass(frozen=True)
class ParticipationRule:
    """creator: >= creator_min_30d AND >= creator_min_90d posts+replies; silent: <= silent_max_90d."""

    creator_min_30d: int = 4
    creator_min_90d: int = 12
    silent_max_90d: int = 0


@dataclass(frozen=True)
class EngagementParams:
    """Saturation scales of the engagement axes: axis = 1 - exp(-weighted_count / tau)."""

    tau_involvement: float = 10.0
    tau_interaction: float = 5.0
    store_visit_weight: float = 2.0


@dataclass(frozen=True)
class InfluenceParams:
    """Influence = weighted sum of four 0..1 components (weights add up to 1)."""

    window_days: int = 90
    exposure_days: int = 7
    like_weight: float = 0.1
    tau_actions: float = 50.0
    tau_conversions: float = 3.0
    reach2_ref: float = 10_000.0
    followers_ref: float = 1_000_000.0
    w_actions: float = 0.35
    w_conversions: float = 0.30
    w_reach2: float = 0.20
    w_followers: float = 0.15
    exposure_requires_brand: bool = True


@dataclass(frozen=True)
class KolParams:
    """Follower bands of the KOL tiers, gated by a minimum influence score."""

    micro_min_followers: int = 10_000
    mid_min_followers: int = 100_000
    top_min_followers: int = 1_000_000
    min_influence: float = 0.2


@dataclass(frozen=True)
class AllyParams:
    """Allies: KOLs whose own-brand mentions lean positive; drift: a fall between two 30-day periods."""

    min_mentions_90d: int = 3
    min_positive: float = 0.6
    min_period_mentions: int = 1
    drift_threshold: float = 0.2


@dataclass(frozen=True)
class ValueParams:
    """Lifecycle and RFM windows."""

    new_days: int = 90
    loyal_min_orders: int = 6
    loyal_min_span_days: int = 730
    loyal_max_recency_days: int = 365
    rfm_window_days: int = 365


@dataclass(frozen=True)
class FeatureParams:
    """All parameters of one feature build."""

    timezone: str = "Asia/Shanghai"
    interests: InterestParams = field(default_factory=InterestParams)
    traits: TraitParams = field(default_factory=TraitParams)
    participation: ParticipationRule = field(default_factory=ParticipationRule)
    engagement: EngagementParams = field(default_factory=EngagementParams)
    influence: InfluenceParams = field(default_factory=InfluenceParams)
    kol: KolParams = field(default_factory=KolParams)
    ally: AllyParams = field(default_factory=AllyParams)
    value: ValueParams = field(default_factory=ValueParams)
    sentiment_prefix: str = "sentiment"
