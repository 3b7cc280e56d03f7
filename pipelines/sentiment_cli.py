"""``scim train-sentiment`` and ``scim sentiment``.

``train-sentiment`` rebuilds the versioned model artefact from the corpora and lexicons that
ship inside PyPI packages (deterministic for a given seed) and writes a readable metadata
file beside it; with ``--evaluate-lake`` it also scores generated Weibo posts against their
true labels.  ``sentiment`` prints one positive probability per input line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger("scim.sentiment")


# -- scim train-sentiment ----------------------------------------------------------------------
def add_arguments_train_sentiment(parser: argparse.ArgumentParser) -> None:
    from transforms.sentiment.model import CURRENT_VERSION, MODEL_DIR
    from transforms.sentiment.train import TrainConfig

    defaults = TrainConfig()
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed of the stratified split")
    parser.add_argument("--model-version", default=CURRENT_VERSION, help="version written into the artefact name")
    parser.add_argument("--output-dir", default=str(MODEL_DIR), help="where the artefact and its metadata go")
    parser.add_argument(
        "--limit-per-class", type=int, default=None, help="train on at most this many texts per label (quick runs)"
    )
    parser.add_argument(
        "--evaluate-lake",
        default=None,
        help="a generated lake root: also score its Weibo posts against truth/post_labels",
    )


def run_train_sentiment(args: argparse.Namespace) -> int:
    from transforms.sentiment.model import model_path
    from transforms.sentiment.train import TrainConfig, TrainingDataError, evaluate, train_model

    config = TrainConfig(seed=args.seed, limit_per_class=args.limit_per_class, version=args.model_version)
    started = time.monotonic()
    try:
        model = train_model(config)
    except TrainingDataError as exc:
        print(f"scim train-sentiment: {exc}", file=sys.stderr)
        return 2
    if args.evaluate_lake:
        texts, labels = load_labelled_posts(args.evaluate_lake)
        model.metadata["metrics"]["generated_posts"] = evaluate(model, texts, labels)
    path = model.save(model_path(config.version, args.output_dir))
    meta_path = path.with_name(f"sentiment-{config.version}.meta.json")
    meta_path.write_text(json.dumps(model.metadata, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    metrics = model.metadata["metrics"]
    print(f"model     {path}")
    print(f"metadata  {meta_path}")
    print(f"held-out accuracy {metrics['heldout_accuracy']:.4f} on {metrics['heldout_n']} texts "
          f"(lexicon rule alone {metrics['heldout_lexicon_rule_accuracy']:.4f})")
    if "generated_posts" in metrics:
        g = metrics["generated_posts"]
        print(f"generated posts: pos/neg accuracy {g['binary_accuracy']:.4f} on {g['binary_n']}, "
              f"3-class accuracy {g['three_class_accuracy']:.4f} on {g['n']}")
    log.info("train-sentiment finished in %.1fs", time.monotonic() - started)
    return 0


def load_labelled_posts(lake_root: str | Path) -> tuple[list[str], list[str]]:
    """Texts and true labels of a generated lake: every ``landing/weibo/*/posts.jsonl`` joined
    with ``truth/post_labels`` on ``mid`` (posts without a label are skipped and counted).

    The text returned is the author's own words (before the first ``//@user:`` marker): a
    repost's label is its author's comment, not the reposted chain, and that is also the
    text the pipeline scores.
    """
    import pandas as pd

    from transforms.text.extract import split_repost

    root = Path(lake_root)
    truth_path = root / "truth" / "post_labels.parquet"
    if not truth_path.exists():
        truth_path = root / "truth" / "post_labels"
    if not truth_path.exists():
        raise FileNotFoundError(f"{root}: no truth/post_labels(.parquet); generate sample data with `scim generate` first")
    labels = pd.read_parquet(truth_path, columns=["mid", "sentiment"])
    label_of = dict(zip(labels["mid"].astype(str), labels["sentiment"].astype(str)))
    texts, out = [], []
    unlabelled = 0
    for posts in sorted(root.glob("landing/weibo/*/posts.jsonl")):
        with open(posts, encoding="utf-8") as fh:
            for line in fh:
                try:
                    post = json.loads(line)
                except json.JSONDecodeError:
                    continue  # dirty lines are part of generated data; ingestion quarantines them
                if not isinstance(post, dict):
                    continue
                mid = str(post.get("mid"))
                if mid in label_of and isinstance(post.get("text"), str):
                    texts.append(split_repost(post["text"])[0])
                    out.append(label_of.pop(mid))
                else:
                    unlabelled += 1
    log.info("evaluation posts: %d labelled, %d without label or text", len(texts), unlabelled)
    return texts, out


# -- scim sentiment ------------------------------------------------------------------------
def add_arguments_sentiment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", default=None, help="UTF-8 text file, one text per line (stdin if omitted)")
    parser.add_argument("--model", default=None, help="model artefact (the packaged current model by default)")
    parser.add_argument(
        "--details", action="store_true", help="print probability, confidence and label, tab-separated"
    )


def run_sentiment(args: argparse.Namespace) -> int:
    from transforms.sentiment.model import ModelError, load_model

    try:
        model = load_model(args.model)
    except ModelError as exc:
        print(f"scim sentiment: {exc}", file=sys.stderr)
        return 2
    if args.file:
        try:
            stream = open(args.file, encoding="utf-8", newline=None)
        except OSError as exc:
            print(f"scim sentiment: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        stream = sys.stdin
    name = args.file or "<stdin>"
    out = sys.stdout
    n = 0
    try:
        with stream:
            for n, line in enumerate(stream, start=1):
                p, c, _ = model.score_one(line.rstrip("\r\n"))
                if args.details:
                    out.write(f"{p:.4f}\t{c:.4f}\t{model.label(p)}\n")
                else:
                    out.write(f"{p:.4f}\n")
    except UnicodeDecodeError as exc:
        print(f"scim sentiment: {name}, line {n + 1}: not UTF-8 ({exc.reason}); convert the file to UTF-8", file=sys.stderr)
        return 2
    out.flush()
    log.debug("sentiment: %d lines scored", n)
    return 0
