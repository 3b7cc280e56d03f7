"""The `scim` command line: every listed command loads, errors are clear, `scim lake` reads tables."""

import importlib

import pytest

from pipelines import cli


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_module_exists_and_parses_help(name, capsys):
    module, _ = cli.COMMANDS[name]
    importlib.import_module(module)
    with pytest.raises(SystemExit) as exit_:
        cli.main([name, "--help"])
    assert exit_.value.code == 0
    assert "usage: scim" in capsys.readouterr().out


def test_configuration_error_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("SCIM_DELTA_WRITER", "parquet")
    assert cli.main(["lake", "list", "--lake", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "SCIM_DELTA_WRITER" in err and "configuration error" in err


def test_lake_list_and_describe(settings, spark, capsys):
    from lake_io import Lake

    Lake(settings, spark).write(spark.createDataFrame([(1, "宋小姐")], "id long, name string"), "silver/demo",
                                description="demo table")
    assert cli.main(["lake", "list", "--lake", settings.lake_root]) == 0
    out = capsys.readouterr().out
    assert "silver/demo" in out and "rows=1" in out
    assert cli.main(["lake", "describe", "silver/demo", "--lake", settings.lake_root]) == 0
    assert "demo table" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no Delta table"):
        cli.main(["lake", "history", "silver/missing", "--lake", settings.lake_root])


def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"scim {version('scim')}"


@pytest.mark.parametrize("argv", [["--config", "{cfg}", "lake", "list"], ["lake", "list", "--config", "{cfg}"]])
def test_config_before_or_after_the_command(argv, tmp_path, capsys):
    cfg = tmp_path / "scim.yaml"
    cfg.write_text(f"lake_root: {tmp_path / 'from-yaml'}\n")
    with pytest.raises(SystemExit) as exit_:
        cli.main([a.format(cfg=cfg) for a in argv])
    # the YAML's lake is the one looked at, wherever --config stands
    assert str(tmp_path / "from-yaml") in str(exit_.value.code)


def test_lake_list_on_a_missing_or_empty_lake_is_an_error(tmp_path):
    with pytest.raises(SystemExit) as missing:
        cli.main(["lake", "list", "--lake", str(tmp_path / "nowhere")])
    assert "does not exist" in str(missing.value.code) and "--lake" in str(missing.value.code)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as empty:
        cli.main(["lake", "list", "--lake", str(tmp_path / "empty")])
    assert "holds no Delta table" in str(empty.value.code)


def test_run_date_outside_the_partitions_is_one_line(tmp_path):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--date", "2020-01-01", "--lake", str(tmp_path)])
    message = str(exit_.value.code)
    assert message.startswith("scim run: --date: 2020-01-01 is outside the daily partitions")
    assert "\n" not in message and not (tmp_path / "landing").exists()  # nothing generated or written


def test_stray_scim_variable_does_not_stop_commands(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("SCIM_IDENTTY__BACKEND", "spark")  # a typo
    with pytest.raises(SystemExit, match="does not exist"):  # the command itself ran
        cli.main(["lake", "list", "--lake", str(tmp_path / "nowhere")])
    assert "SCIM_IDENTTY__BACKEND" in caplog.text and "did you mean SCIM_IDENTITY__BACKEND" in caplog.text


def test_catalogue_is_not_overwritten_from_a_missing_or_partial_lake(settings, spark, tmp_path):
    from lake_io import Lake
    from pipelines.table_docs import CatalogueError, generate, main

    out = tmp_path / "tables.md"
    out.write_text("# Data dictionary\n\n### `gold/dim_customer`\n\n### `silver/demo`\n", encoding="utf-8")
    good = out.read_text(encoding="utf-8")
    assert main(["--lake", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    Lake(settings, spark).write(spark.createDataFrame([(1,)], "id long"), "silver/demo", description="demo")
    with pytest.raises(CatalogueError, match="lacks 1 table.*gold/dim_customer"):
        generate(settings.lake_root, out)
    assert out.read_text(encoding="utf-8") == good
    generate(settings.lake_root, out, allow_missing=True)
    assert "### `silver/demo`" in out.read_text(encoding="utf-8")
