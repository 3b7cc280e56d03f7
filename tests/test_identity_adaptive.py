"""The engine that adapts to the records it is given: Latin-script comparisons, the model
chosen from filled columns, training without deterministic links, and the inputs that
used to crash (no pairs, one source, tiny inputs, skipped EM passes)."""

from __future__ import annotations

import logging
import random

import pandas as pd
import pytest

from test_identity_engine import build_records
from test_identity_matching import level_of
from transforms.matching import latin_comparisons as lc
from transforms.matching.engine import EngineConfig, resolve
from transforms.matching.inputs import latin_name_parts, prepare_matching_input, street_parts
from transforms.matching.model_plan import EM_RULES, PlanLimits, Rule, plan_model

CONFIG = EngineConfig(u_max_pairs=2e4)


def person(name=None, ymd=None, address=None, postcode=None, city=None, **extra) -> dict:
    """A standardised Latin-script record as the standardiser gives it (name lower-case tokens)."""
    y, m, d = (int(ymd[:4]), int(ymd[4:6]), int(ymd[6:])) if ymd else (None, None, None)
    return {"full_name": name.replace(" ", "") if name else None, "name_pinyin": name,
            "birth_year": y, "birth_month": m, "birth_day": d, "address": address, "postcode": postcode,
            "city": city, **extra}


def view(*records: dict) -> pd.DataFrame:
    rows = [{"source": "a", "record_id": str(i), **r} for i, r in enumerate(records)]
    return prepare_matching_input(pd.DataFrame(rows))


def pair_level(comparison, left: dict, right: dict) -> str:
    m = view(left, right)
    cols = [c for c in m.columns if c not in ("source", "record_id", "unique_id")]
    row = m[cols].astype(object).where(m[cols].notna(), None).to_dict("records")
    return level_of(comparison, row[0], row[1])


# -- matching view ---------------------------------------------------------------------------

def test_latin_name_and_street_parts():
    assert latin_name_parts("michaelaneumann", "michaela neumann") == ("michaela", "neumann", "michaela neumann")
    assert latin_name_parts("neumannmichaela", "neumann michaela")[2] == "michaela neumann"  # order-free key
    assert latin_name_parts("smithjohn", "smith john", "smith", "john") == ("john", "smith", "john smith")
    assert latin_name_parts("elton", "elton") == ("elton", None, "elton")
    assert latin_name_parts("宋小美", "song xiaomei") == (None, None, None)  # Chinese names keep their own comparison
    assert street_parts("8 stanley street miami") == ("8", "stanley street miami")
    assert street_parts("天河路100号") == (None, None)
    m = view(person("anna lee", "19900512"), person("bo", None))
    assert m["birth_ymd"].tolist() == ["19900512", None]


# -- Latin-script comparisons: which level does a pair land in? ------------------------------

def test_latin_name_levels_any_order_typos_and_single_tokens():
    comp = lc.latin_name_comparison()
    mn = person("michaela neumann")
    assert pair_level(comp, mn, person("neumann michaela")) == "same names, any order"
    assert pair_level(comp, mn, person("michela neumnan")) == "both names within one typo, any order"
    assert pair_level(comp, mn, person("neuman micheala")) == "both names within one typo, any order"  # swapped
    assert pair_level(comp, person("stephens nicholson"), person("stevens nicolsen")) == "both names similar"
    assert pair_level(comp, person("john smith"), person("peter smith")) == "last name agrees, first differs or is missing"
    assert pair_level(comp, person("elton"), person("elton white")) == "first name agrees, last differs or is missing"
    assert pair_level(comp, person("white"), person("thomas white")) == "one name agrees with one of the other's"
    assert pair_level(comp, person("anna lee"), mn) == "else"
    assert pair_level(comp, person(None), mn) == "name missing"


def test_full_birth_date_levels():
    comp = lc.full_birth_date_comparison()
    d = person(ymd="19651013")
    assert pair_level(comp, d, d) == "full date exact"
    assert pair_level(comp, d, person(ymd="19651018")) == "one digit off"
    assert pair_level(comp, d, person(ymd="19561013")) == "one digit off"  # two neighbours swapped
    assert pair_level(comp, person(ymd="19651003"), person(ymd="19650310")) == "day and month swapped"
    assert pair_level(comp, d, person(ymd="19651027")) == "two of year, month, day agree"
    assert pair_level(comp, d, {"birth_year": 1965}) == "partial date, the known parts agree"
    assert pair_level(comp, d, person(ymd="19720304")) == "else"
    assert pair_level(comp, d, {}) == "no common birth part"


def test_street_address_and_postcode_levels():
    comp = lc.street_address_comparison()
    a = person(address="8 stanley street miami")
    assert pair_level(comp, a, a) == "address exact"
    assert pair_level(comp, a, person(address="8 stanley st miami")) == "same house number, similar street"
    assert pair_level(comp, a, person(address="81 stanley street miami")) == "address similar"
    assert pair_level(comp, a, person(address="8 kent road")) == "same house number only"
    assert pair_level(comp, a, person(address="12 kent road")) == "else"
    assert pair_level(comp, a, person(address=None)) == "address missing"
    pc = lc.postcode_comparison()
    assert pair_level(pc, person(postcode="4223"), person(postcode="4223")) == "postcode exact"
    assert pair_level(pc, person(postcode="4223"), person(postcode="4232")) == "one character off"
    assert pair_level(pc, person(postcode="4223"), person(postcode="2600")) == "else"


def test_foreign_postcodes_are_kept_chinese_ones_still_checked():
    import datetime as dt

    from transforms.standardise.record import standardise_person_record

    def std(**raw):
        return standardise_person_record({"source": "a", "record_id": "1", **raw}, b"k" * 32, dt.date(2026, 1, 1))

    assert std(province="nsw", city="dapto", postcode="4566")["postcode"] == "4566"
    assert std(city="London", postcode="sw1a 1aa")["postcode"] == "SW1A1AA"
    assert std(province="北京", city="海淀区", postcode="1000")["postcode"] is None  # Chinese: six digits
    assert std(postcode="2600")["postcode"] is None  # no place given: the Chinese rule


# -- the model chosen from the records ------------------------------------------------------

def latin_people(persons: int = 40, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two sources of Latin-script records; every second person is in both, the copy with a typo."""
    rnd = random.Random(seed)
    given = ["anna", "bruce", "carla", "dmitri", "elena", "farid", "greta", "hiro", "ines", "jonas", "kemal",
             "lucia", "mateo", "nadia", "oskar", "priya", "quentin", "rosa", "sven", "tariq"]
    family = ["adams", "baker", "castro", "dubois", "evans", "fischer", "garcia", "haddad", "ito", "jensen",
              "kowalski", "lopez", "moreau", "nakamura", "okafor", "petrov", "quinn", "rossi", "silva", "tanaka"]
    streets = ["stanley street", "kent road", "oak avenue", "mill lane", "park crescent", "river road"]
    rows, truth = [], []
    for p in range(persons):
        name = f"{given[p % 20]} {family[(p * 7) % 20]}"
        ymd = f"{1940 + p:04d}{1 + p % 12:02d}{1 + (p * 5) % 28:02d}"
        addr = f"{1 + p * 3} {streets[p % 6]}"
        pc = f"{2000 + p * 37}"
        rows.append({"source": "a", "record_id": f"a{p}", **person(name, ymd, addr, pc, city=f"town{p % 9}")})
        truth.append(("a", f"a{p}", p))
        if p % 2 == 0:
            first, last = name.split()
            typo = first[:-1] + rnd.choice("xyz") if p % 4 == 0 else first
            dup_name = f"{last} {typo}" if p % 3 == 0 else f"{typo} {last}"  # order swapped for some
            dup_ymd = ymd if p % 8 else ymd[:7] + str((int(ymd[7]) + 1) % 10)
            rows.append({"source": "b", "record_id": f"b{p}", **person(dup_name, dup_ymd, addr, pc, city=f"town{p % 9}")})
            truth.append(("b", f"b{p}", p))
    return pd.DataFrame(rows), pd.DataFrame(truth, columns=["source", "record_id", "person_id"]).astype(str)


def test_plan_on_latin_records_uses_latin_comparisons_only():
    records, _ = latin_people()
    plan = plan_model(prepare_matching_input(records))
    assert plan.comparisons == ["latin_name", "birth_date", "location", "street_address", "postcode"]
    used = {c for r in plan.prediction_rules for c in r.columns}
    assert {"name_first", "birth_ymd"} <= used and not used & {"phone_p3l4", "nick_key", "surname"}
    # every comparison is free (not blocked on) in at least one EM pass
    free = set().union(*[set(plan.comparisons) - plan.blocked(r) for r in plan.training_rules])
    assert free == set(plan.comparisons)
    assert [r.sql for r in plan.prior_rules] == ["l.latin_name = r.latin_name AND l.birth_ymd = r.birth_ymd"]


def test_plan_on_our_sources_is_the_original_model():
    records, _ = build_records()
    plan = plan_model(prepare_matching_input(records))
    assert plan.comparisons == ["name", "handle", "handle_name", "phone", "birth", "gender", "location"]
    assert plan.training_rules == EM_RULES[:3]  # masked phone; surname + birth month; handle letters
    assert not {c for r in plan.prediction_rules for c in r.columns} & {"name_first", "birth_ymd", "postcode"}
    assert [r.sql for r in plan.prior_rules] == ["l.wechat_openid_hash = r.wechat_openid_hash"]  # the shared key


def test_plan_drops_an_unselective_blocking_rule():
    records, _ = latin_people()
    m = prepare_matching_input(records.assign(postcode="2000", address="1 high street"))  # one for everyone
    plan = plan_model(m, PlanLimits(max_rule_pairs_per_record=5, rule_pairs_floor=0))
    dropped = Rule.same("postcode", "addr_number", needs=("street_address", "postcode"))
    assert dropped.pairs(m) == len(m) * (len(m) - 1) // 2 and dropped not in plan.prediction_rules
    assert any(n.startswith("blocking rule l.postcode = r.postcode AND l.addr_number = r.addr_number not used")
               for n in plan.notes)
    assert Rule.same("name_first", "name_last", needs=("latin_name",)) in plan.prediction_rules


# -- the engine on inputs that crashed ------------------------------------------------------

def test_no_deterministic_link_still_trains_and_links(caplog):
    records, truth = latin_people()
    from transforms.matching.metrics import evaluate_clusters

    with caplog.at_level(logging.INFO, logger="scim.identity"):
        res = resolve(records, config=CONFIG, run_date="2026-01-01")
    assert res.summary["deterministic_links"] == 0
    model = res.summary["model"]
    assert model["em_passes_run"] >= 2 and model["skipped"] is None
    assert 0 < model["prior"] < 0.5
    metrics = evaluate_clusters(res.clusters, truth)["overall"]
    assert metrics["precision"] == 1.0 and metrics["recall"] >= 0.8
    # a stored model predicts the same clusters without training
    again = resolve(records, config=CONFIG, run_date="2026-01-01", model=res.model)
    assert again.summary["model"]["em_passes_run"] == 0
    assert again.clusters["customer_key"].tolist() == res.clusters["customer_key"].tolist()


@pytest.mark.parametrize("records", [
    pd.DataFrame([{"source": "a", "record_id": str(i), **person(n, y, a)} for i, (n, y, a) in enumerate([
        ("anna lee", "19700101", "1 oak road"), ("bruce wu", "19810202", "2 elm road"),
        ("carla diaz", "19920303", "3 ash road"), ("dmitri ivanov", "20030404", "4 fir road")])]),  # no shared value
    pd.DataFrame([{"source": "a", "record_id": "1", **person("anna lee", "19700101")}]),  # one record
    pd.DataFrame([{"source": "a", "record_id": "1", **person("anna lee")}, {"source": "b", "record_id": "2",
                                                                           **person("anna lee")}]),  # two records
    pd.DataFrame({"source": ["a", "a", "a"], "record_id": ["1", "2", "3"]}),  # nothing but ids
], ids=["zero-pairs", "one-record", "two-records", "ids-only"])
def test_inputs_without_pairs_never_crash_and_warn_in_full(records, caplog):
    with caplog.at_level(logging.WARNING, logger="scim.identity"):
        res = resolve(records, config=CONFIG, run_date="2026-01-01")
    assert len(res.clusters) == len(records) and res.clusters["customer_key"].nunique() == len(records)
    assert res.links.empty and res.review.empty
    warning = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "identity probabilistic: skipped, " in warning
    assert warning.rstrip().endswith(("model", "column", "lines)"))  # a whole sentence, never cut off


def test_a_skipped_em_pass_warns_with_the_whole_rule_and_reason(caplog):
    from splink import DuckDBAPI, Linker

    from transforms.matching import splink_model
    from transforms.matching.engine import _em_pass

    records, _ = latin_people(12)
    m = prepare_matching_input(records)
    plan = plan_model(m)
    data = m[[c for c in plan.columns if c in m.columns]].astype(object).where(m.notna(), None)
    linker = Linker(DuckDBAPI().register(data), splink_model.settings_creator(plan), log_level=logging.WARNING)
    before = linker._settings_obj.core_model_settings.copy()
    rule = Rule((("name_first", "postcode"),))  # no record's first name is a postcode: no pairs
    with caplog.at_level(logging.WARNING, logger="scim.identity"):
        assert _em_pass(linker, rule, 0, CONFIG) is False
    msg = caplog.records[-1].getMessage()
    assert "EM pass blocked on l.name_first = r.postcode skipped (0 pairs): " in msg
    assert "l.name_first = r.postcode" in msg.split("skipped", 1)[1]  # Splink's reason, not cut at a dot
    assert msg.endswith("starting values")
    # the model is whole again: every comparison the pass would have dropped is back
    assert [c.output_column_name for c in linker._settings_obj.core_model_settings.comparisons] == \
        [c.output_column_name for c in before.comparisons]


def test_scim_link_on_one_source_without_links(tmp_path, monkeypatch, capsys):
    from pipelines.cli import main

    monkeypatch.setenv("SCIM_HMAC_KEY", "test-key-0123456789abcdef")
    monkeypatch.setenv("SCIM_LAKE_ROOT", str(tmp_path / "lake"))
    pd.DataFrame({"source": ["febrl"] * 3, "record_id": ["rec-1-org", "rec-2-org", "rec-3-org"],
                  "name": ["michaela neumann", "courtney painter", "charles green"],
                  "birth_date": ["1915-11-11", "1916-12-14", "1948-09-30"],
                  "address": ["8 stanley street miami", "12 pinkerton circuit", "38 salkauskas crescent"],
                  "city": ["winston hills", "richlands", "dapto"], "province": ["nsw", "vic", "nsw"],
                  "postcode": ["4223", "4560", "4566"]}).to_csv(tmp_path / "a.csv", index=False)
    out = tmp_path / "out"
    assert main(["link", str(tmp_path / "a.csv"), "--out", str(out)]) == 0
    assert pd.read_parquet(out / "clusters.parquet")["customer_key"].nunique() == 3
    assert pd.read_parquet(out / "links.parquet").empty
    assert "3 records -> 3 customers" in capsys.readouterr().out


def test_em_pass_hit_by_m_zero_is_retried_with_fewer_iterations():
    import dataclasses
    from types import SimpleNamespace

    from splink.internals.settings import TrainingSettings

    from transforms.matching.engine import _em_pass

    calls = []

    @dataclasses.dataclass
    class Model:
        label: str

        def copy(self):
            return Model(self.label)

    class Settings:
        core_model_settings = Model("model before the pass")
        training_settings = TrainingSettings(em_convergence=1e-4, max_iterations=20)

    settings = Settings()

    def em(rule, **kwargs):
        calls.append(settings.training_settings.max_iterations)
        if len(calls) == 1:
            settings.core_model_settings = Model("model with the blocked comparisons removed")
            raise ValueError("m_probability value 0.0 is below the minimum allowed value of 1e-300. Values ...")

    linker = SimpleNamespace(_settings_obj=settings, training=SimpleNamespace(
        estimate_parameters_using_expectation_maximisation=em))
    assert _em_pass(linker, Rule.same("postcode"), 100, CONFIG) is True
    assert calls == [20, 5]  # the retry runs fewer iterations ...
    assert settings.training_settings.max_iterations == 20  # ... and the setting is restored
    assert settings.core_model_settings == Model("model before the pass")
