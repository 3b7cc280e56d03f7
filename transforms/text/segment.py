"""Traditional -> simplified conversion and word segmentation, one engine per process.

The OpenCC converter and the rjieba segmenter are native objects that cannot be pickled, so
they are never shipped to Spark workers: each Python process builds them on first use and
keeps them in a module-level cache keyed by what configures them (the extra words).
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable

_lock = threading.Lock()
_segmenters: dict[tuple[str, ...], object] = {}
_converter = None

# Extra words get a high frequency so the segmenter keeps brand and product names whole.
_EXTRA_WORD_FREQ = 20000


def t2s(text: str | None) -> str | None:
    """Traditional -> simplified Chinese with OpenCC's ``t2s`` table (``None`` stays ``None``)."""
    global _converter
    if text is None:
        return None
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter.convert(text)


def normalize(text: str | None) -> str | None:
    """Simplified script with full-width ASCII folded to half-width (NFKC), so that
    ``ＡＢＣ！`` and ``ABC!`` segment and match alike."""
    if text is None:
        return None
    return unicodedata.normalize("NFKC", t2s(text))


def get_segmenter(extra_words: Iterable[str] = ()):
    """The process-wide ``rjieba.Jieba`` for this set of extra words (built on first use)."""
    key = tuple(sorted(set(w for w in extra_words if w)))
    seg = _segmenters.get(key)
    if seg is None:
        with _lock:
            seg = _segmenters.get(key)
            if seg is None:
                import rjieba

                seg = rjieba.Jieba()
                for word in key:
                    seg.add_word(word, _EXTRA_WORD_FREQ, None)
                _segmenters[key] = seg
    return seg


def is_word(token: str) -> bool:
    """True when a token carries a word (not only whitespace or punctuation)."""
    return any(ch.isalnum() for ch in token)


def segment(text: str | None, extra_words: Iterable[str] = ()) -> list[str]:
    """Words of ``text`` in order (rjieba precise mode), whitespace and punctuation dropped."""
    if not text:
        return []
    return [tok for tok in get_segmenter(extra_words).cut(text) if is_word(tok)]
