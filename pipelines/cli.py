"""The ``scim`` command line.

Each sub-command lives in the module that owns its work and exposes
``add_arguments(parser)`` and ``run(args) -> int``; this file only lists them, so that
``scim --help`` starts fast (modules are imported when their command runs).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time

# name -> (module, one-line help).  The module provides add_arguments(parser) and run(args).
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("pipelines.run", "run the whole pipeline for one day or a date range (the main job)"),
    "generate": ("sample_data.cli", "write generated Weibo/WeChat/CRM landing files and their truth"),
    "ingest": ("pipelines.ingest", "load landing files into bronze and silver Delta tables"),
    "features": ("pipelines.features", "build the customer and account feature tables for one day"),
    "publish": ("pipelines.publish", "build the gold BI tables for one day"),
    "link": ("pipelines.identity.cli", "run the identity engine on person-record files"),
    "evaluate-identity": ("pipelines.identity.evaluate", "score clusters against a truth file"),
    "train-sentiment": ("pipelines.sentiment_cli", "rebuild the sentiment model from packaged corpora"),
    "sentiment": ("pipelines.sentiment_cli", "print a positive probability per input line"),
    "erase": ("pipelines.erase", "erase one person from every table (PIPL)"),
    "lake": ("pipelines.lake_cli", "inspect lake tables: list, history, describe, vacuum"),
    "sql": ("pipelines.bi.catalog", "query the gold (and silver) tables with SQL: the DuckDB BI catalog"),
    "review": ("pipelines.identity.review", "identity review: list, show, decide, export, import uncertain pairs"),
}


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


def _load(name: str):
    module_name, _ = COMMANDS[name]
    module = importlib.import_module(module_name)
    hook = getattr(module, "add_arguments_" + name.replace("-", "_"), None)
    runner = getattr(module, "run_" + name.replace("-", "_"), None)
    return module, hook or module.add_arguments, runner or module.run


def version() -> str:
    """The installed distribution's version (``scim --version``)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("scim")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown (not installed: run `make install`)"


def _common_options(parser: argparse.ArgumentParser, default: object) -> None:
    # The same options before or after the sub-command; after it they override.
    parser.add_argument("--config", default=default, help="YAML settings file (or set SCIM_CONFIG)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="debug logging")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scim",
        description="SCIM: Social Customer Insight Management, a nightly Spark/Delta ETL.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"scim {version()}")
    _common_options(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text, formatter_class=_Formatter)
        _common_options(sp, argparse.SUPPRESS)
        if name == command:
            _, add_arguments, _ = _load(name)
            add_arguments(sp)
    return parser


def _command_of(argv: list[str]) -> str | None:
    return next((a for a in argv if a in COMMANDS), None)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("py4j", "urllib3", "matplotlib", "splink", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not args.command:
        parser.print_help()
        return 2
    from pipelines.config import ConfigError

    _, _, runner = _load(args.command)
    started = time.monotonic()
    try:
        code = runner(args)
    except ConfigError as exc:
        print(f"scim {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `scim ... | head` closed the pipe: not an error of the command
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    logging.getLogger("scim").debug("%s finished in %.1fs", args.command, time.monotonic() - started)
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
