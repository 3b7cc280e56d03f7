"""Identity benchmark: quality and speed on generated data, against a plain Splink run.

``identity_benchmark(persons=20000)`` generates landing files (``sample_data.generate``),
maps them to person records exactly as the pipeline does (``to_raw_person_records`` on the
landing entities, then the standardiser), runs

* the SCIM identity engine (:func:`transforms.matching.engine.resolve`), and
* a *plain* Splink DuckDB set-up on the same standardised records (stock comparisons on
  the raw fields, default-style blocking, the same training steps),

and scores both against ``truth/accounts.parquet``. The speed figure is the ratio of the
two wall-clock times measured in the same process. The lead registers it in ``bench/``.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger("scim.identity")

ENTITIES = {"crm": "customers.csv", "weibo": "users.jsonl", "wechat": "followers.jsonl"}


def load_landing_person_records(spark: Any, root: str | Path) -> pd.DataFrame:
    """Raw person records of every landing drop under ``root`` (latest version of each record)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from transforms.person_sources import ID_COLUMNS, to_raw_person_records

    root = Path(root)
    frames = []
    for source, name in ENTITIES.items():
        files = sorted(root.glob(f"landing/{source}/*/{name}"))
        if not files:
            raise ValueError(f"no {source}/{name} under {root}/landing; generate data first")
        if name.endswith(".csv"):
            manifest = json.loads((files[0].parent / "manifest.json").read_text(encoding="utf-8"))
            enc = next((f.get("encoding") for f in manifest["files"] if f["name"] == name), None) or "utf-8"
            # Spark 4's CSV reader knows no GBK: decode on the driver (bench data is small)
            pdf = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False, encoding="gb18030" if enc.lower() in
                                         ("gbk", "gb2312", "gb18030") else enc, encoding_errors="replace",
                                         on_bad_lines="skip", engine="python") for f in files], ignore_index=True)
            df = spark.createDataFrame(pdf.replace("", None).astype(object).where(pdf.notna(), None))
        else:
            df = spark.read.option("mode", "PERMISSIVE").json([str(f) for f in files])
        id_col = ID_COLUMNS[source]
        df = df.where(F.col(id_col).isNotNull() & (F.trim(F.col(id_col).cast("string")) != ""))
        if "updated_at" in df.columns:
            w = Window.partitionBy(id_col).orderBy(F.col("updated_at").desc_nulls_last())
            df = df.withColumn("_rn", F.row_number().over(w)).where("_rn = 1").drop("_rn")
        frames.append(to_raw_person_records(df, source).toPandas())
    return pd.concat(frames, ignore_index=True)


def plain_splink(standardised: pd.DataFrame, seed: int = 42, u_max_pairs: float = 2e6) -> tuple[pd.DataFrame, float]:
    """A straightforward Splink DuckDB model on the standardised fields; returns (clusters, seconds)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.monotonic()
    df = standardised.copy()
    df["unique_id"] = df["source"].astype(str) + ":" + df["record_id"].astype(str)
    cols = ["unique_id", "source", "record_id", "full_name", "nickname", "gender", "birth_year", "birth_month",
            "birth_day", "phone_hash", "email_hash", "city", "province"]
    df = df[cols]
    for c in ("birth_year", "birth_month", "birth_day"):
        df[c] = df[c].astype("float64")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("full_name", [0.9, 0.8]),
            cl.JaroWinklerAtThresholds("nickname", [0.9, 0.8]),
            cl.ExactMatch("gender"), cl.ExactMatch("birth_year"), cl.ExactMatch("birth_month"),
            cl.ExactMatch("birth_day"), cl.ExactMatch("phone_hash"), cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        # full_name alone is not usable: CRM names are mostly a bare surname, so it makes
        # quadratic blocks (74M pairs at 100k persons; DuckDB ran out of 24 GB). A plain
        # set-up checks its pair counts and adds the city, as here.
        blocking_rules_to_generate_predictions=[block_on("phone_hash"), block_on("full_name", "city"),
                                                block_on("nickname"), block_on("city", "birth_month", "gender")],
        additional_columns_to_retain=["source", "record_id"],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings, log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match([block_on("phone_hash"), block_on("email_hash")], recall=0.6)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for rule in (block_on("phone_hash"), block_on("full_name", "city"), block_on("city", "birth_month", "gender")):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except Exception as exc:  # noqa: BLE001 - a plain set-up hits Splink's m = 0.0 refusal
            log.warning("plain splink: EM pass skipped (%s)", str(exc)[:120])
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.99).as_pandas_dataframe()
    seconds = time.monotonic() - started
    out = clusters[["source", "record_id", "cluster_id"]].rename(columns={"cluster_id": "customer_key"})
    return out, seconds


def generated_person_records(root: str | Path, persons: int, settings: Any, spark: Any, *, days: int = 1,
                             seed: int = 7, start: str = "2026-11-01") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Standardised person records and truth of ``persons`` generated people under ``root``.

    Generates the landing files unless ``root`` already holds them, maps them to person
    records as the pipeline does and standardises them. Returns ``(standardised, truth)``.
    """
    from sample_data import generate
    from transforms.person_records import standardise_person_records_pandas

    root = Path(root)
    if not (root / "truth" / "accounts.parquet").exists():
        generate(root, persons, days, start, seed)
    raw = load_landing_person_records(spark, root)
    std = standardise_person_records_pandas(raw, settings.hmac_key_bytes())
    return std, pd.read_parquet(root / "truth" / "accounts.parquet")


def identity_benchmark(persons: int = 20000, days: int = 1, seed: int = 7, workdir: str | None = None,
                       start: str = "2026-11-01", settings: Any = None, spark: Any = None) -> dict[str, Any]:
    """Generate ``persons`` people, run SCIM identity and plain Splink, return quality and speed figures.

    Returns ``{"persons", "records", "scim": {metrics..., "seconds"}, "plain_splink": {...},
    "speed_ratio": scim_seconds / plain_seconds}``. ``workdir`` keeps the generated files.
    """
    from pipelines.config import load_settings
    from transforms.matching.engine import EngineConfig, resolve
    from pipelines.spark import get_spark
    from transforms.matching.metrics import evaluate_clusters

    root = Path(workdir or tempfile.mkdtemp(prefix="scim_identity_bench_"))
    settings = settings or load_settings()
    spark = spark or get_spark(settings)
    std, truth = generated_person_records(root, persons, settings, spark, days=days, seed=seed, start=start)
    config = EngineConfig.from_settings(settings.identity)

    started = time.monotonic()
    result = resolve(std, config=config, run_date=start)
    scim_seconds = time.monotonic() - started
    plain_clusters, plain_seconds = plain_splink(std, seed=config.seed, u_max_pairs=config.u_max_pairs)

    def brief(m: dict) -> dict:
        keep = ("precision", "recall", "f1", "bcubed_precision", "bcubed_recall", "bcubed_f1")
        return {k: m[k] for k in keep}

    scim_m = evaluate_clusters(result.clusters, truth)
    plain_m = evaluate_clusters(plain_clusters, truth)
    figures = {
        "persons": persons, "records": len(std),
        "scim": {**brief(scim_m["overall"]), "by_source_pair": {k: brief(v) for k, v in scim_m["by_source_pair"].items()},
                 "seconds": round(scim_seconds, 1), "stage_seconds": result.summary["seconds"]},
        "plain_splink": {**brief(plain_m["overall"]), "seconds": round(plain_seconds, 1)},
        "speed_ratio": round(scim_seconds / plain_seconds, 2) if plain_seconds else None,
    }
    log.info("identity bench: %s", json.dumps(figures))
    return figures
