"""`ramp crds`: print the CustomResourceDefinitions, or write one file per CRD (deploy/crds/ via `make crds`).

The YAML comes from `ramp.api.crds`, generated from the models; this module only prints or writes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ramp.api.crds import render_crd_files, render_crds_yaml


def crds(
    write: Annotated[
        Path | None,
        typer.Option(
            "--write",
            help="Write one file per CRD (<plural>.argoproj.io.yaml) into this directory; default: print.",
            file_okay=False,
            dir_okay=True,
        ),
    ] = None,
) -> None:
    """Print the CRDs of Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun and Experiment."""
    if write is None:
        typer.echo(render_crds_yaml(), nl=False)
        return
    write.mkdir(parents=True, exist_ok=True)
    for name, text in render_crd_files().items():
        path = write / name
        path.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {path}")
