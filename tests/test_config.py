from pathlib import Path

import pytest

from pipelines.config import ConfigError, load_settings


def test_defaults_make_the_embedded_run_work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings(environ={})
    assert s.env == "local"
    assert s.lake_root == str(tmp_path / "lake")
    assert s.delta_writer == "deltars"
    assert s.spark.master.startswith("local")
    assert s.identity.backend == "duckdb"


def test_yaml_then_environment_precedence(tmp_path):
    cfg = tmp_path / "scim.yaml"
    cfg.write_text("lake_root: s3://bucket/lake\nspark:\n  master: spark://h:7077\nidentity:\n  backend: spark\n")
    s = load_settings(cfg, environ={"SCIM_SPARK__MASTER": "local[1]", "SCIM_DELTA_WRITER": "delta-spark"})
    assert s.lake_root == "s3://bucket/lake"
    assert s.spark.master == "local[1]"
    assert s.identity.backend == "spark"
    assert s.delta_writer == "delta-spark"
    assert s.lake_path("silver", "orders") == "s3://bucket/lake/silver/orders"


def test_errors_name_the_field_and_variable(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(environ={"SCIM_DELTA_WRITER": "parquet"})
    assert "delta_writer" in str(err.value) and "SCIM_DELTA_WRITER" in str(err.value)
    with pytest.raises(ConfigError, match="review_threshold"):
        load_settings(environ={"SCIM_IDENTITY__REVIEW_THRESHOLD": "0.995"})
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.yaml", environ={})


def test_secret_never_from_yaml(tmp_path):
    cfg = tmp_path / "scim.yaml"
    cfg.write_text("hmac_key: abc\n")
    with pytest.raises(ConfigError, match="SCIM_HMAC_KEY"):
        load_settings(cfg, environ={})


def test_hmac_key_sources(tmp_path):
    s = load_settings(environ={"SCIM_HMAC_KEY": "k" * 20})
    assert s.hmac_key_bytes() == b"k" * 20
    keyfile = tmp_path / "key"
    keyfile.write_text("f" * 32 + "\n")
    assert load_settings(environ={"SCIM_HMAC_KEY_FILE": str(keyfile)}).hmac_key_bytes() == b"f" * 32
    local = load_settings(environ={}, lake_root=str(tmp_path / "lake"))
    first = local.hmac_key_bytes()
    assert len(first) == 64 and local.hmac_key_bytes() == first
    assert oct(Path(tmp_path / "lake" / "_secrets" / "hmac.key").stat().st_mode)[-3:] == "600"
    with pytest.raises(ConfigError, match="production"):
        load_settings(environ={"SCIM_ENV": "production"}, lake_root=str(tmp_path / "p")).hmac_key_bytes()


def test_environment_sets_lists_dicts_and_nulls():
    s = load_settings(environ={
        "SCIM_IDENTITY__EXCLUSIVE_KEYS": "wechat_unionid_hash, qq_hash",
        "SCIM_IDENTITY__EXCLUSIVE_SOURCES": '["wechat"]',
        "SCIM_IDENTITY__ACCOUNT_SHARE": "null",
        "SCIM_SPARK__CONF": "spark.sql.ansi.enabled=true,spark.ui.enabled=false",
        "SCIM_SPARK__REMOTE": "",
    })
    assert s.identity.exclusive_keys == ("wechat_unionid_hash", "qq_hash")
    assert s.identity.exclusive_sources == ("wechat",)
    assert s.identity.account_share is None and s.spark.remote is None
    assert s.spark.conf == {"spark.sql.ansi.enabled": "true", "spark.ui.enabled": "false"}
    assert load_settings(environ={"SCIM_SPARK__CONF": '{"a": "1"}'}).spark.conf == {"a": "1"}
    assert load_settings(environ={"SCIM_IDENTITY__CONFLICT_ATTRIBUTES": ""}).identity.conflict_attributes == ()


def test_environment_value_errors_name_the_variable_and_the_fix():
    with pytest.raises(ConfigError, match=r"SCIM_SPARK__CONF: item 'oops' is not key=value"):
        load_settings(environ={"SCIM_SPARK__CONF": "oops"})
    with pytest.raises(ConfigError, match=r"SCIM_IDENTITY__EXCLUSIVE_KEYS: not valid JSON"):
        load_settings(environ={"SCIM_IDENTITY__EXCLUSIVE_KEYS": "[wechat"})
    with pytest.raises(ConfigError, match="SCIM_IDENTITY__MATCH_THRESHOLD") as err:  # null on a required number
        load_settings(environ={"SCIM_IDENTITY__MATCH_THRESHOLD": "null"})
    assert "optional settings: null" in str(err.value)


def test_unknown_scim_variables_warn_with_the_closest_name(caplog):
    s = load_settings(environ={"SCIM_SPARK__MASTR": "local[1]", "SCIM_WHATEVER": "1", "SCIM_SPARK": "x",
                               "SCIM_CRM_JDBC_URL": "jdbc:postgresql://h/db", "SCIM_CONFIG": ""})
    assert s.spark.master == "local[2]"  # ignored, not applied
    assert "SCIM_SPARK__MASTR" in caplog.text and "did you mean SCIM_SPARK__MASTER" in caplog.text
    assert "SCIM_WHATEVER" in caplog.text and "SCIM_SPARK: no such setting (a section: set its fields" in caplog.text
    assert "SCIM_CRM_JDBC_URL" not in caplog.text  # credentials of the JDBC reader are not settings


def test_a_typo_in_the_yaml_file_stays_an_error(tmp_path):
    cfg = tmp_path / "scim.yaml"
    cfg.write_text("spark:\n  mastr: local[1]\n")
    with pytest.raises(ConfigError, match="spark.mastr"):
        load_settings(cfg, environ={})
