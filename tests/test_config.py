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
