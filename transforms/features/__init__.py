"""Numeric features of SCIM: interests, traits, behaviour, value and the wide tables.

Pure DataFrame -> DataFrame functions (no I/O); ``pipelines/features.py`` reads the silver
tables and writes ``silver/features_customer_daily`` and ``silver/features_account``.
Every output column is defined once in ``features.yaml`` (see :mod:`registry`), which also
generates docs/features.md.
"""

from transforms.features.behaviour import (
    allies,
    calibrate_participation,
    engagement_axes,
    influence_scores,
    kol_tier,
    own_brand_mentions,
    participation_segment,
    wechat_activity,
    weibo_post_activity,
)
from transforms.features.interests import post_documents, profile_documents, score_interests, terms_in_text, token_terms
from transforms.features.lexicons import (
    InterestTaxonomy,
    LexiconError,
    TraitLexicon,
    interest_taxonomy_from_dict,
    load_interest_taxonomy,
    load_trait_lexicon,
    trait_lexicon_from_dict,
)
from transforms.features.params import (
    AllyParams,
    EngagementParams,
    FeatureParams,
    InfluenceParams,
    InterestParams,
    KolParams,
    ParticipationRule,
    TraitParams,
    ValueParams,
)
from transforms.features.registry import Registry, apply_consent, conform, load_registry, render_catalogue
from transforms.features.traits import detect_traits
from transforms.features.value import category_shares, crm_profile, customer_value
from transforms.features.wide import build_account_features, build_customer_features, person_actions

__all__ = [
    "AllyParams", "EngagementParams", "FeatureParams", "InfluenceParams", "InterestParams", "InterestTaxonomy",
    "KolParams", "LexiconError", "ParticipationRule", "Registry", "TraitLexicon", "TraitParams", "ValueParams",
    "allies", "apply_consent", "build_account_features", "build_customer_features", "calibrate_participation",
    "category_shares", "conform", "crm_profile", "customer_value", "detect_traits", "engagement_axes",
    "influence_scores", "interest_taxonomy_from_dict", "kol_tier", "load_interest_taxonomy", "load_registry",
    "load_trait_lexicon", "own_brand_mentions", "participation_segment", "person_actions", "post_documents",
    "profile_documents", "render_catalogue", "score_interests", "terms_in_text", "token_terms",
    "trait_lexicon_from_dict", "wechat_activity", "weibo_post_activity",
]
