"""`vigie people reindex`: rebuild the blind index (after a change of VIGIE_BLIND_INDEX_KEY, a bulk or
raw-SQL write of a registered column, or once on a database that held records before the index)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from vigie.cli import command_errors

people_cli = click.Group("people", help="The index of people (find a person across the system).")


@people_cli.command("reindex")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(min=1), help="rows per batch")
@with_appcontext
@command_errors
def reindex_command(batch: int) -> None:
    """Rebuild the whole index from the records, in one transaction."""
    from vigie.extensions import db
    from vigie.people.index import reindex

    report = reindex(db.session, batch=batch)
    db.session.commit()
    click.echo(
        f"{report.entries} index entries for {report.rows} rows of {report.sources} record types "
        f"({report.seconds:.2f} s)"
    )
