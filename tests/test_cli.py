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
