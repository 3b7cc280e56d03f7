"""Identity review: masking, the evidence waterfall, CSV validation, and a decision round trip
(export -> fill in -> import / decide -> the next identity run honours it)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

from pipelines.identity.review import (
    CSV_COLUMNS,
    Pair,
    masked_fields,
    pair_id,
    comparison_labels,
    parse_import,
    waterfall,
)
from transforms.matching.display import mask_frame, mask_value
from transforms.silver import mask_name


def test_masks_names_phones_emails_and_identifiers():
    assert mask_name("王小明") == "王**" and mask_name("zhangwei") == "z*******" and mask_name("王") == "王"
    rec = pd.Series({"full_name": "王小明", "nickname": "小明爱吃辣", "gender": "m", "birth_year": 1990,
                     "birth_month": 5, "birth_day": 12, "phone_prefix3": "138", "phone_last4": "5678",
                     "email_masked": "z***@qq.com", "province": "浙江", "city": "杭州",
                     "address": "西湖区文三路100号", "postcode": "310012", "phone_hash": "ab" * 32})
    shown = masked_fields(rec)
    assert shown["name"] == "王**" and shown["nickname"] == "小****"
    assert shown["phone"] == "138****5678" and shown["email"] == "z***@qq.com"
    assert shown["birth"] == "1990-05-**" and shown["location"] == "浙江 杭州"
    assert shown["address"] == "西湖区*******" and shown["postcode"] == "310***"
    assert "ab" * 32 not in json.dumps(shown, ensure_ascii=False)
    assert mask_value("phone_hash", "ab" * 32) == "●"


def test_mask_frame_refuses_a_column_without_a_rule():
    df = pd.DataFrame({"name_full_l": ["王小明"], "name_full_r": ["王晓明"], "gamma_name": [3]})
    out = mask_frame(df, ["name_full"])
    assert out.loc[0, "name_full_l"] == "王**" and out.loc[0, "gamma_name"] == 3
    with pytest.raises(KeyError, match="no masking rule for column 'favourite_food'"):
        mask_frame(df.assign(favourite_food_l=["辣条"]), ["favourite_food"])


def test_waterfall_from_stored_evidence_adds_up_to_the_match_weight():
    evidence = json.dumps({"blocking_rule": "8", "name": {"gamma": -1, "match_weight": 0.0},
                           "gender": {"gamma": 1, "match_weight": 0.74},
                           "location": {"gamma": 2, "match_weight": 6.27},
                           "handle_name": {"gamma": 1, "match_weight": 4.2}})
    from transforms.matching import splink_model
    from transforms.matching.model_plan import ModelPlan

    # the labels and their order come from the run's saved model (here: an untrained one)
    plan = ModelPlan(["name", "handle_name", "gender", "location"], [], [], [])
    model = splink_model.settings_creator(plan).get_settings("duckdb").as_dict()
    steps, prior, rule = waterfall(evidence, 2.46, comparison_labels(model))
    assert rule is None
    assert [s.comparison for s in steps] == ["handle_name", "gender", "location"]  # model order, nulls left out
    assert {s.comparison: s.level for s in steps}["location"] == "city agrees"
    assert prior + sum(s.weight for s in steps) == pytest.approx(2.46)
    assert waterfall(json.dumps({"rule": "phone"}), None) == ([], None, "phone")
    # without a saved model the levels are numbered, the arithmetic is the same
    bare, bare_prior, _ = waterfall(evidence, 2.46)
    assert {s.level for s in bare} == {"level 1", "level 2"} and bare_prior == pytest.approx(prior)


def test_pair_id_is_stable_and_never_a_number():
    a = pair_id("crm:1", "weibo:2")
    assert a == pair_id("weibo:2", "crm:1") and a.startswith("P") and len(a) == 11


def _csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows([{k: r.get(k, "") for k in CSV_COLUMNS} for r in rows])
    return path


def test_import_validates_every_row_and_names_the_line(tmp_path):
    p1, p2 = Pair("crm", "1", "weibo", "2"), Pair("crm", "3", "wechat", "4")
    known = {p1.id: p1, p2.id: p2}
    existing = {"crm:1", "weibo:2", "crm:3", "wechat:4"}
    path = _csv(tmp_path / "q.csv", [
        {"pair_id": p1.id, "decision": "Match", "reviewer": "李审核", "note": "同一人"},  # line 2: ok
        {"pair_id": p2.id, "decision": "maybe", "reviewer": "x"},                       # line 3
        {"pair_id": "P0000000000", "decision": "match", "reviewer": "x"},               # line 4
        {"pair_id": p1.id, "decision": "no_match", "reviewer": "x"},                    # line 5: contradicts 2
        {"pair_id": p2.id, "decision": "no-match"},                                     # line 6: no reviewer
        {"pair_id": "", "source_l": "crm", "record_id_l": "9", "source_r": "weibo", "record_id_r": "2",
         "decision": "match", "reviewer": "x"},                                        # line 7: crm:9 absent
        {"pair_id": p2.id, "decision": ""},                                             # line 8: undecided
    ])
    rows, errors, undecided, unchanged = parse_import(path, known, existing, default_reviewer=None)
    assert [e.split(": ", 1)[0] for e in errors] == [f"{path} line {n}" for n in (3, 4, 5, 6, 7)]
    assert "decision 'maybe' is not match or no_match" in errors[0]
    assert "no review queue" in errors[1] and "line 2" in errors[2] and "reviewer is empty" in errors[3]
    assert "crm:9" in errors[4]
    assert rows == [{**p1.__dict__, "decision": "match", "reviewer": "李审核", "note": "同一人"}]
    assert undecided == 1 and unchanged == 0
    # with a default reviewer the reviewer-less row is valid; a repeat of the recorded decision is skipped
    rows, errors, _, unchanged = parse_import(path, known, existing, "ops", current={p1.id: "match"})
    assert not any("line 6" in e for e in errors) and unchanged == 1
    assert [r["decision"] for r in rows] == ["no_match"] and rows[0]["reviewer"] == "ops"


# -- round trip on a generated lake ----------------------------------------------------------------

def _clusters(lake, day: str) -> dict[str, str]:
    import datetime as dt

    c = lake.to_arrow("silver/identity_clusters", filter=[("run_date", "=", dt.date.fromisoformat(day))]).to_pandas()
    return {f"{s}:{r}": k for s, r, k in zip(c["source"], c["record_id"], c["customer_key"])}


def test_review_round_trip_is_honoured_by_the_next_run(spark, settings, tmp_path, capsys):
    from lake_io import Lake
    from pipelines.cli import main
    from pipelines.identity.bench import generated_person_records
    from pipelines.identity.pipeline import resolve_identities
    from transforms.person_records import STANDARD_SCHEMA

    std, _truth = generated_person_records(tmp_path / "gen", 150, settings, spark, seed=11)
    lake = Lake(settings, spark)
    rows = std[[f.name for f in STANDARD_SCHEMA.fields]].astype(object)
    lake.write(spark.createDataFrame(rows.where(rows.notna(), None).values.tolist(), schema=STANDARD_SCHEMA),
               "silver/person_records", mode="overwrite")
    first = resolve_identities(settings, spark, lake.read("silver/person_records"), "2026-11-01")
    root = settings.lake_root
    env = ["--lake", root]

    # the run's report: linked from the summary, aggregates only, Splink's pages beside it
    report_dir = Path(root) / "_reports" / "identity" / "2026-11-01"
    assert first["report_uri"] == str(report_dir / "index.html")
    assert {"index.html", "splink_model.json", "comparison_viewer.html"} <= {p.name for p in report_dir.iterdir()}
    names = {n for n in pd.concat([std["full_name"], std["nickname"], std["address"]]).dropna() if len(n) >= 2}
    for page in ("index.html", "comparison_viewer.html"):
        text = (report_dir / page).read_text(encoding="utf-8")
        leaked = [n for n in names if n in text or json.dumps(n)[1:-1] in text]
        assert not leaked, f"{page} shows clear values: {leaked[:3]}"
    assert "Cluster sizes" in (report_dir / "index.html").read_text(encoding="utf-8")

    assert main(["review", "list", *env]) == 0
    listing = capsys.readouterr().out
    assert "review queue of 2026-11-01" in listing
    out = tmp_path / "queue.csv"
    assert main(["review", "export", str(out), *env]) == 0
    assert out.read_bytes()[:3] == b"\xef\xbb\xbf"  # BOM: Excel reads the Chinese correctly
    exported = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(exported) >= 2, "the generated night left fewer than two pairs to review"
    yes, no = exported[0], exported[1]
    assert yes["pair_id"] in listing
    before = _clusters(lake, "2026-11-01")
    uid = lambda r, s: f"{r['source_' + s]}:{r['record_id_' + s]}"  # noqa: E731
    assert before[uid(yes, "l")] != before[uid(yes, "r")]  # an uncertain pair is not merged
    # no clear value in the file a reviewer gets
    body = out.read_text(encoding="utf-8-sig")
    assert not [n for n in names if n in body]

    yes["decision"], yes["reviewer"], yes["note"] = "match", "李审核", "同一手机 13812345678"
    no["decision"] = "no_match"
    filled = _csv(tmp_path / "filled.csv", exported)
    assert main(["review", "import", str(filled), "--reviewer", "ops", *env]) == 0
    assert "recorded 2 decisions" in capsys.readouterr().out

    # a merged pair split by a reviewer through `decide` (records named directly)
    links = lake.to_arrow("silver/identity_links").to_pandas()
    merged = links[links["status"] == "merged"].sort_values(["link_type", "match_probability"])
    assert len(merged), "the generated night merged nothing"
    split = merged.iloc[-1]
    ref = f"{split['source_l']}:{split['record_id_l']},{split['source_r']}:{split['record_id_r']}"
    assert main(["review", "decide", ref, "no_match", "--note", "two people", *env]) == 0

    decisions = lake.to_arrow("silver/identity_decisions").to_pandas()
    assert set(decisions["reviewer"]) >= {"李审核", "ops"}
    notes = list(decisions["note"].dropna())
    assert "同一手机 138****5678" in notes and not any("13812345678" in n for n in notes)  # masked like silver text

    second = resolve_identities(settings, spark, lake.read("silver/person_records"), "2026-11-02")
    assert second["decisions_applied"] >= 2
    after = _clusters(lake, "2026-11-02")
    assert after[uid(yes, "l")] == after[uid(yes, "r")]  # match: one customer now
    assert after[uid(no, "l")] != after[uid(no, "r")]
    assert after[f"{split['source_l']}:{split['record_id_l']}"] != after[f"{split['source_r']}:{split['record_id_r']}"]
    # decided pairs leave the queue
    assert main(["review", "list", "--all", *env]) == 0
    again = capsys.readouterr().out
    assert yes["pair_id"] not in again and no["pair_id"] not in again
