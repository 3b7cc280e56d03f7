"""Chinese social text: simplified script, words, Weibo entities, brand mentions.

Pure functions; ``enrich_posts`` and ``explode_brand_mentions`` are the Spark entry points.
"""

from transforms.text.enrich import analyse_post, analyse_posts, enrich_posts, explode_brand_mentions
from transforms.text.extract import (
    RepostHop,
    extract_emoticons,
    extract_hashtags,
    extract_mentions,
    extract_urls,
    split_repost,
)
from transforms.text.lexicon import Brand, BrandLexicon, LexiconError, load_brand_lexicon
from transforms.text.segment import cut, get_segmenter, normalize, normalize_many, segment, t2s

__all__ = [
    "Brand",
    "BrandLexicon",
    "LexiconError",
    "RepostHop",
    "analyse_post",
    "analyse_posts",
    "cut",
    "enrich_posts",
    "explode_brand_mentions",
    "extract_emoticons",
    "extract_hashtags",
    "extract_mentions",
    "extract_urls",
    "get_segmenter",
    "load_brand_lexicon",
    "normalize",
    "normalize_many",
    "segment",
    "split_repost",
    "t2s",
]
