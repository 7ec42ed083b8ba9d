"""``journeybot learn``: the model the bot answers with, adapting it, going back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from bot.cli.common import (
    ConfigOption,
    DbOption,
    app,
    fail,
    open_store,
    require_store,
    run,
    settings_for,
    setup_logging,
    with_core,
)

learn_app = typer.Typer(no_args_is_help=True,
                        help="The encoder the bot answers with: status, adapt, roll back.")
app.add_typer(learn_app, name="learn")


@learn_app.command("status")
def status(db: DbOption = None, config: ConfigOption = None,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The current model, its held-out figures, every version before it, and the wrong rate against the target."""
    from learning.models import model_name
    from storage.models import LearningRows

    settings = settings_for(config, db)

    async def go(database: Any) -> dict[str, Any]:
        store = LearningRows(database)
        current = await store.current_model()
        answers, failed = await store.measured()
        records = await store.current_records()  # survival judges each entry's current answer
        return {
            "current": {"version": current, "name": model_name(current)},
            "history": [{"version": m.version, "parent": m.parent, "status": m.status, "at": m.at, **m.body}
                        for m in await store.models()],
            "target_wrong_rate": settings.policy.target_wrong_rate,
            "measured": {"answers": answers, "shown_wrong": failed,
                         "rate": None if answers == 0 else failed / answers},
            "held_back": [r[0] for r in records
                          if r[2] >= settings.learning.survival_min_answers
                          and (r[2] - r[3]) / r[2] < settings.learning.survival_threshold],
        }

    out = open_store(settings, go)
    if as_json:
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    typer.echo(f"answering with {out['current']['name']} (version {out['current']['version']})")
    rate = out["measured"]["rate"]
    typer.echo(f"wrong rate: target {out['target_wrong_rate']:.1%}, measured "
               f"{'n/a' if rate is None else f'{rate:.1%}'} ({out['measured']['shown_wrong']} of "
               f"{out['measured']['answers']} answers shown wrong)")
    if out["held_back"]:
        typer.echo(f"entries held back (survival below {settings.learning.survival_threshold:.0%}): "
                   + ", ".join(out["held_back"]))
    if not out["history"]:
        typer.echo("no adaptation yet")
    for m in out["history"]:
        cur, cand = m.get("current") or {}, m.get("candidate") or {}
        mark = "*" if m["version"] == out["current"]["version"] else " "
        if m.get("kind") == "docs":  # `kb import` of docs: no taught pairs, nothing held out
            typer.echo(f"{mark} v{m['version']} from v{m['parent']} {m['status']:<11} at {m['at']}: "
                       f"adapted to {m.get('sections', 0)} docs sections ({m.get('rows', 0)} rows, {m.get('steps', 0)} "
                       f"steps) trained in {m.get('seconds', 0)} s, before re-embedding")
            continue
        typer.echo(f"{mark} v{m['version']} from v{m['parent']} {m['status']:<11} at {m['at']}: "
                   f"held-out {m.get('held_out', 0)} — right {cur.get('right', 0)} → {cand.get('right', 0)}, "
                   f"wrong {cur.get('wrong', 0)} → {cand.get('wrong', 0)}, unknown answered "
                   f"{cur.get('unknown_answered', 0)} → {cand.get('unknown_answered', 0)}; "
                   f"{m.get('pairs', 0)} pairs, trained in {m.get('train_seconds', 0)} s; {m.get('why', '')}")


@learn_app.command("adapt")
def adapt(db: DbOption = None, config: ConfigOption = None,
          verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Adapt the encoder now to the taught pairs; promote it only if the held-out pairs say so."""
    setup_logging(verbose)
    settings = settings_for(config, db)
    require_store(settings)

    async def body(core: Any) -> Any:
        return await core.learner.adapt(datetime.now(UTC), core.adopt)

    done = with_core(settings, body)
    t = done.trial
    typer.echo(f"candidate v{done.version}: {'promoted' if done.promoted else 'not promoted'} — {t.why}")
    typer.echo(f"held-out {t.held_out}: right {t.current.right} → {t.candidate.right}, wrong "
               f"{t.current.wrong} → {t.candidate.wrong}, unknown answered {t.current.unknown_answered} → "
               f"{t.candidate.unknown_answered}; {t.pairs} pairs, {done.seconds:.1f} s")


@learn_app.command("rollback")
def rollback(to: Annotated[int | None, typer.Option("--to", help="version (default: the one before)")] = None,
             db: DbOption = None, config: ConfigOption = None,
             verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Answer with an earlier model again (every question form is re-embedded with it)."""
    setup_logging(verbose)
    settings = settings_for(config, db)
    require_store(settings)

    async def body(core: Any) -> int:
        learner = core.learner
        target = to
        if target is None:
            record = await learner.store.model(learner.version)
            target = record.parent if record is not None else 0
        if target == learner.version:
            fail(f"already answering with version {target}")
        try:
            await learner.rollback(target, datetime.now(UTC), core.adopt)
        except ValueError as exc:
            fail(str(exc))
        return target

    target = with_core(settings, body)
    typer.echo(f"now answering with version {target}")


__all__ = ["learn_app", "run"]
