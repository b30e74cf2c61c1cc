"""The risk engine's commands: a scoring run (and the cases it opens) and training the model."""

from typing import Any

import click

from app.cli.common import fail, handle_errors, load_settings


@click.group()
def risk() -> None:
    """The risk engine."""


@risk.command("run")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), help="default: today")
@handle_errors
def risk_run(as_of: Any) -> None:
    """Score every household now (one run at a time across all processes)."""
    from app.clock import local_today
    from app.db import get_sessionmaker
    from app.risk import scorer

    load_settings()
    try:
        run = scorer.score_all(
            get_sessionmaker(),
            load_settings(),
            as_of=as_of.date() if as_of else local_today(),
            triggered_by="cli",
        )
    except scorer.AlreadyRunning as exc:
        fail(str(exc), 3)
        return
    used = run.champion or "rules alone"
    click.echo(
        f"run {run.id} ({run.mode}: {used}, policy v{run.policy_version}): "
        f"{run.households_scored} households, {run.flagged_high} high, {run.flagged_medium} medium, "
        f"in {run.duration_ms} ms"
    )
    from app.db import get_sessionmaker
    from app.services.cases import cases

    counts = cases.open_for_run(get_sessionmaker(), load_settings(), run.id)
    if counts:
        click.echo("signals: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())))


@risk.command("train")
@handle_errors
def risk_train() -> None:
    """Train the early-warning model on the district's history, judge it with the baselines on
    rolling-origin folds, and install the champion (the best at the alert budget, ties to the simpler)
    unless it scores worse than the champion in use."""
    from app.db import get_sessionmaker
    from app.risk import model, training

    settings = load_settings()
    try:
        outcome = training.train(get_sessionmaker(), settings, triggered_by="cli")
    except model.ColdStart as exc:
        fail(f"not enough history to train; scoring stays on rules alone: {exc}", 4)
        return
    except training.AlreadyTraining as exc:
        fail(str(exc), 3)
        return
    m = outcome.model
    click.echo(
        f"champion {m.id} ({m.champion}): {m.status} — {m.decision}\n"
        f"trained on {m.train_from}..{m.train_to} ({m.examples_train} examples), newest fold {m.test_period} "
        f"({m.examples_test} households, {m.positives_test} below the line within the horizon)\n"
    )
    names = [
        "recall_at_budget",
        "roc_auc",
        "pr_auc",
        "brier",
        "recall_at_5",
        "precision_at_5",
        "recall_at_10",
        "precision_at_10",
    ]
    click.echo("| scorer | " + " | ".join(names) + " |")
    click.echo("|---" * (len(names) + 1) + "|")
    for row in outcome.table:
        cells = [
            "—" if row[n] is None else f"{row[n]['value']:.3f} [{row[n]['low']:.3f}, {row[n]['high']:.3f}]"
            for n in names
        ]
        click.echo(f"| {row['scorer']} | " + " | ".join(cells) + " |")


@risk.command("labels")
@handle_errors
def risk_labels() -> None:
    """Record the labelled examples of cases decided before they were kept (safe to repeat): each
    confirmed or rejected identification, with the features on record when it opened."""
    from app.db import get_sessionmaker, transaction
    from app.risk import labels
    from app.services.platform.access import Actor

    settings = load_settings()
    with transaction(get_sessionmaker()) as session:
        added = labels.backfill(session, settings, Actor.system("cli"))
    click.echo(f"{added} labelled examples added")
