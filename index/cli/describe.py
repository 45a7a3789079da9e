"""`compute-index methods` and `compute-index config`: what can be set, and what is set."""

from __future__ import annotations

import typer

from index.cli.app import app, guarded
from index.cli.options import ConfigOpt, ExcludeOpt, FrameworkOpt, SetOpt, WeightOpt, resolve_config


@app.command()
@guarded
def methods(
    section: str | None = typer.Argument(
        None, help="one section: impute, treat, normalise, weighting, aggregation or outputs"
    ),
) -> None:
    """List every method with its parameters and defaults.

    Examples:

      compute-index methods

      compute-index methods normalise
    """
    from rich.console import Console
    from rich.table import Table

    from index import config as cfgmod
    from index.errors import InputError, Problem

    rows = cfgmod.catalogue() + cfgmod.outputs()
    sections = [*cfgmod.steps(), "outputs"]
    if section is not None:
        if section not in sections:
            raise InputError(Problem("methods", None, section, f"choose from {sections}"))
        rows = [r for r in rows if r["section"] == section]
    t = Table(title="方法 Methods (--set SECTION=METHOD, --set SECTION.PARAM=VALUE)")
    for col in ("section", "method", "parameters (type = default)", "what"):
        t.add_column(col, overflow="fold")
    for r in rows:
        params = ", ".join(
            f"{k}: {typ}" + ("" if d is ... else f" = {d!r}")
            for k, (typ, d) in r["parameters"].items()
        )
        t.add_row(r["section"], r["method"], params or "—", r["summary"])
    Console(width=160).print(t)


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

    cfg = resolve_config(config, framework, set_, weight, exclude)
    typer.echo(cfgmod.to_toml(cfg), nl=False)
