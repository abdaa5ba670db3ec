"""The command lines of the label-noise audit: ``lesion-audit`` and ``lesion-folds``.

Conventions of :mod:`lesion_model.cli` (exit 0, 1 with one line on stderr, 2 usage error); torch,
pandas and matplotlib are imported only when a command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from ._common import CONTEXT, epilog, exit_cleanly, require_model_extra, setup_logging

__all__ = ["audit", "folds"]


@click.command(
    "lesion-audit",
    context_settings=CONTEXT,
    epilog=epilog(
        "lesion-audit --checkpoint run/ --data store/ --labels labels.jsonl --bookmarks bookmarks.csv -o audit/",
        "lesion-audit --checkpoint runs/fold_0 --checkpoint runs/fold_1 --checkpoint runs/fold_2 \\",
        "    --data store/ --labels labels.jsonl --bookmarks bookmarks.csv -o audit/   # every lesion held out",
    ),
)
@click.option(
    "--checkpoint",
    "checkpoints",
    required=True,
    multiple=True,
    help="checkpoint.pt or its run folder (repeatable: one per fold); each scores only lesions it did not train on.",
)
@click.option("--data", required=True, help="Patch store to audit (lesion-prepare's, with the mined labels).")
@click.option("--labels", type=click.Path(path_type=Path), help="radminer JSONL the store was prepared from.")
@click.option("--bookmarks", type=click.Path(path_type=Path), help="CSV id,bookmark,lesion_id (as for lesion-prepare).")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--top", type=click.IntRange(min=1), default=50, show_default=True, help="Suspects shown in audit.html.")
@click.option(
    "--min-suspicion",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Pairs listed in audit.csv: probability of the label opposite to the mined one ≥ this.",
)
@click.option(
    "--ranking",
    type=click.Choice(["claim_prior", "evidence", "posterior", "auc_weighted"]),
    default="claim_prior",
    show_default=True,
    help="claim_prior: posterior log-odds of an error, evidence plus the log prior odds of the claim's class "
    "(estimated from the audited claims); evidence: log Bayes factor of the per-label calibrated held-out "
    "score against the mined label; posterior: probability of the opposite label; auc_weighted: that times "
    "2·AUC − 1 (docs/audit.md).",
)
@click.option("--device", default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("-v", "--verbose", is_flag=True)
@exit_cleanly("lesion-audit")
def audit(
    checkpoints: tuple[str, ...],
    data: str,
    labels: Path | None,
    bookmarks: Path | None,
    out: Path,
    top: int,
    min_suspicion: float,
    ranking: str,
    device: str,
    batch_size: int,
    verbose: bool,
) -> None:
    """List the lesions whose mined labels most likely are wrong: OUT/audit.csv and OUT/audit.html."""
    require_model_extra("torch", "torchvision", "pandas", "matplotlib")
    from ..evaluation.audit import audit as run_audit

    setup_logging("lesion-audit", verbose)
    suspects = run_audit(
        checkpoints, data, out, labels=labels, bookmarks=bookmarks, top=top,
        min_suspicion=min_suspicion, ranking=ranking, device=device, batch_size=batch_size,
    )  # fmt: skip
    click.echo(f"{len(suspects)} suspects; wrote {out / 'audit.csv'} and {out / 'audit.html'}", err=True)


@click.command(
    "lesion-folds",
    context_settings=CONTEXT,
    epilog=epilog("lesion-folds store/ -o folds/ -k 5   # then lesion-train --data folds/fold_I --out runs/fold_I"),
)
@click.argument("data")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path), help="Folder of the fold stores.")
@click.option("-k", "k", type=click.IntRange(min=2), default=5, show_default=True, help="Number of folds.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the patient draw.")
@exit_cleanly("lesion-folds")
def folds(data: str, out: Path, k: int, seed: int) -> None:
    """Write K fold stores of DATA (fold I's patients as the test split) for a held-out lesion-audit."""
    require_model_extra("pandas")
    from ..evaluation.audit import write_fold_stores

    setup_logging("lesion-folds")
    for path in write_fold_stores(data, out, k, seed=seed):
        click.echo(str(path))
