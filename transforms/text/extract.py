"""Weibo text anatomy: emoticons, hashtags, mentions, URLs and repost chains.

Pure Python on one string at a time, so that the same code runs on the driver, inside a
pandas UDF on a worker, and in tests.  Every function accepts ``None`` and returns an
empty result for it (a null post text is data, not an error).

A repost on Weibo looks like ``我的评论//@小王:他的评论//@品牌官微:原文``: the author's own
words come first, then one ``//@user:`` segment per earlier hop, newest first.

Every pattern needs a marker character (``[``, ``#``, ``@``, ``//``, ``://`` or ``t.cn/``); the
functions test for it with ``in`` before running the regex, because most posts carry few
entities and the test costs a fraction of a regex scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# [哈哈], [good], [doge], [二哈]: short bracketed names without nested brackets or spaces.
EMOTICON_RE = re.compile(r"\[([^\[\]\s]{1,8})\]")
# #话题# with at least one non-# character; Weibo topics never span a newline.
HASHTAG_RE = re.compile(r"#([^#\n]{1,60})#")
# http(s) links and the scheme-less t.cn short links Weibo inserts.
# '#', '[', ']' and '@' are left out of the body: on Weibo they start a topic, an emoticon or a
# mention glued to the link far more often than they belong to it.
URL_RE = re.compile(r"(?:https?://|\bt\.cn/)[A-Za-z0-9\-._~:/?!$&'()*+,;=%]+")
# Weibo nicknames: CJK, Latin letters, digits, '_' and '-', 2-30 characters.
_NICK = r"[\w\u4e00-\u9fff\-]{1,30}"
MENTION_RE = re.compile(r"@(" + _NICK + r")")
# A repost hop marker: '//@user:' (half- or full-width colon, optional spaces).
REPOST_RE = re.compile(r"//\s*@(" + _NICK + r")\s*[:：]")
# Weibo exports write topics, link and video titles and check-in places as '{%...%}'
# ('{%#话题#%}', '{%某某的秒拍视频%}', '{%上海·碧云社区%}'): text Weibo inserted, not the author's words.
MARKER_RE = re.compile(r"\{%[^{}]{0,200}?%\}")


@dataclass(frozen=True)
class RepostHop:
    """One earlier hop of a repost chain: who wrote it and what they wrote."""

    user: str
    text: str


def extract_emoticons(text: str | None) -> list[str]:
    """Emoticon names in order of appearance, brackets kept: ``'[哈哈][赞]'`` -> ``['[哈哈]', '[赞]']``."""
    if not text or "[" not in text:
        return []
    return [m.group(0) for m in EMOTICON_RE.finditer(text)]


def extract_hashtags(text: str | None) -> list[str]:
    """Topic names without the ``#`` signs, stripped, in order: ``'#新品# 好'`` -> ``['新品']``."""
    if not text or "#" not in text:
        return []
    out = []
    for m in HASHTAG_RE.finditer(text):
        tag = m.group(1).strip()
        if tag:
            out.append(tag)
    return out


def extract_urls(text: str | None) -> list[str]:
    """Links (``http(s)://...`` and ``t.cn/...``) in order of appearance."""
    if not text or not _may_have_url(text):
        return []
    return [m.group(0).rstrip(".,;:!?)") for m in URL_RE.finditer(text)]


def _may_have_url(text: str) -> bool:
    return "://" in text or "t.cn/" in text


def strip_urls(text: str) -> str:
    """The text with every link replaced by a space (links carry no words to segment)."""
    return URL_RE.sub(" ", text) if _may_have_url(text) else text


def split_repost(text: str | None) -> tuple[str, list[RepostHop]]:
    """Split a post into the author's own text and the reposted chain.

    Returns ``(own_text, hops)``: ``own_text`` is everything before the first ``//@user:``
    marker (stripped; may be empty for a bare repost), ``hops`` one :class:`RepostHop` per
    marker in the order they appear (the most recent reposter first).  A post without a
    marker returns ``(text.strip(), [])``.
    """
    if not text:
        return ("", [])
    own_end, hops = split_repost_at(text)
    return (text[:own_end].strip(), hops)


def split_repost_at(text: str) -> tuple[int, list[RepostHop]]:
    """Like :func:`split_repost`, but returns where the author's own text ends (the start of
    the first ``//@user:`` marker, ``len(text)`` without one) instead of the stripped text,
    so that a caller can process ``text[:end]`` and ``text[end:]`` separately."""
    if "//" not in text:
        return (len(text), [])
    matches = list(REPOST_RE.finditer(text))
    if not matches:
        return (len(text), [])
    hops = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        hops.append(RepostHop(user=m.group(1), text=text[m.end() : end].strip()))
    return (matches[0].start(), hops)


def strip_entities(text: str) -> str:
    """The text with links, ``[emoticons]``, ``{%...%}`` topic/link/video markers, ``//@user:``
    markers and ``@mentions`` replaced by spaces: what is left are the author's words
    (``#hashtag#`` words written in the text itself included)."""
    if "{%" in text:
        text = MARKER_RE.sub(" ", text)
    if _may_have_url(text):
        text = URL_RE.sub(" ", text)
    if "[" in text:
        text = EMOTICON_RE.sub(" ", text)
    if "@" in text:
        if "//" in text:
            text = REPOST_RE.sub(" ", text)
        text = MENTION_RE.sub(" ", text)
    return text


def extract_mentions(text: str | None) -> list[str]:
    """``@name`` mentions in the text, excluding the ``//@user:`` repost markers.

    Repost markers name the reposters, not people the author chose to mention; they are
    returned by :func:`split_repost` instead.
    """
    if not text or "@" not in text:
        return []
    without_markers = REPOST_RE.sub(" ", text) if "//" in text else text
    # An e-mail address (name@qq.com) is not a mention: require no word character before '@'.
    return [m.group(1) for m in MENTION_RE.finditer(without_markers) if not _word_before(without_markers, m.start())]


def _word_before(text: str, at: int) -> bool:
    return at > 0 and (text[at - 1].isascii() and text[at - 1].isalnum())
