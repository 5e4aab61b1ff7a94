"""`ramp install-manifests`: write deploy/install.yaml, deploy/namespace-install.yaml, deploy/dashboard-install.yaml
and the Helm chart's generated parts (charts/ramp/Chart.yaml, crds/, files/) from deploy/rbac.yaml (`make manifests`).

The rendering is `ramp.api.install` (pure); this module reads deploy/rbac.yaml from the checkout and writes the
files, or with `--check` names the ones that differ from what would be written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ramp import __version__
from ramp.api.install import RbacSourceError, render_install_files


def install_manifests(
    root: Annotated[
        Path,
        typer.Option(
            "--root", help="The checkout holding deploy/rbac.yaml; files are written under it.", file_okay=False
        ),
    ] = Path(),
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 naming the files that are out of date.")
    ] = False,
) -> None:
    """Generate the install manifests and the Helm chart's CRDs and RBAC rules from deploy/rbac.yaml."""
    source = root / "deploy" / "rbac.yaml"
    if not source.is_file():
        typer.echo(f"error: {source} not found; run from the checkout or pass --root", err=True)
        raise typer.Exit(2)
    try:
        files = render_install_files(source.read_text(encoding="utf-8"), __version__)
    except RbacSourceError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    stale = []
    for name, text in files.items():
        path = root / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            typer.echo(f"wrote {path}")
    if check and stale:
        typer.echo(f"out of date: {', '.join(stale)}; run `make manifests`", err=True)
        raise typer.Exit(1)
