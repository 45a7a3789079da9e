"""`compute-index methods` and `compute-index config`: what can be set, and what is set."""

from __future__ import annotations

import typer

from index.cli.app import app, guarded
from index.cli.options import ConfigOpt, ExcludeOpt, FrameworkOpt, SetOpt, WeightOpt, resolve_config


@app.command()
@guarded
def methods(
    section: str | None = typer.Argument(
        None,
        help="one section: screen, impute, treat, normalise, weighting, aggregation, outputs or "
        "analysis",
    ),
) -> None:
    """List every method with its parameters and defaults.

    Examples:

      compute-index methods

      compute-index methods normalise
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from index import config as cfgmod
    from index.analysis import helper_catalogue
    from index.errors import InputError, Problem

    rows = cfgmod.catalogue() + cfgmod.outputs()
    settings = cfgmod.settings_catalogue()
    sections = list(dict.fromkeys([*cfgmod.steps(), *(r["section"] for r in settings)]))
    sections += ["outputs", "analysis"]
    if section is not None:
        if section not in sections:
            raise InputError(Problem("methods", None, section, f"choose from {sections}"))
        rows = [r for r in rows if r["section"] == section]
        settings = [r for r in settings if r["section"] == section]
    console = Console(width=160)
    if rows:
        t = Table(title="方法 Methods (--set SECTION=METHOD, --set SECTION.PARAM=VALUE)")
        for col in ("section", "method", "parameters (type = default)", "what"):
            t.add_column(col, overflow="fold")
        for r in rows:
            params = ", ".join(
                f"{k}: {typ}" + ("" if d is ... else f" = {d!r}")
                for k, (typ, d) in r["parameters"].items()
            )
            t.add_row(r["section"], r["method"], params or "—", r["summary"])
        console.print(t)
    if settings:
        t = Table(title="步骤设置 Step settings (--set SECTION.SETTING=VALUE, or [SECTION] in -c)")
        for col in ("section", "setting", "type = default", "what"):
            t.add_column(col, overflow="fold")
        for r in settings:
            t.add_row(r["section"], r["setting"], escape(r["type"]), escape(r["what"]))
        console.print(t)
    if section in (None, "analysis"):
        t = Table(title="分析与导入 Analysis, screening and import")
        for col in ("helper", "COINr / Compind", "reached by", "what"):
            t.add_column(col, overflow="fold")
        for r in helper_catalogue():
            t.add_row(r["name"], r["counterpart"], escape(r["reached"]), escape(r["what"]))
        console.print(t)


@app.command("config")
@guarded
def config_cmd(
    framework: FrameworkOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    weight: WeightOpt = None,
    exclude: ExcludeOpt = None,
) -> None:
    """Print the effective configuration (after -c, the framework's settings, --set, --weight,
    --exclude) as TOML: save it and pass it back with -c to rerun exactly.

    Example: compute-index config --set weighting=entropy --weight compute=2 > mine.toml
    """
    from index import config as cfgmod
    from index.pipeline import resolve_framework

    cfg = resolve_config(config, framework, set_, weight, exclude)
    typer.echo(cfgmod.to_toml(cfg, resolve_framework(cfg).config), nl=False)
