"""The `evalkit` command group: every command registered, errors turned into one line."""

from __future__ import annotations

import sys

import click

from evalkit import __version__
from evalkit.cli.imports import grade_command, import_command
from evalkit.cli.run import profiles_command, run, tasks_command
from evalkit.cli.runs import inspect, regrade, report
from evalkit.cli.stats import compare, plan
from evalkit.errors import EvalkitError
from evalkit.release.cli import card, gate, leaderboard, publish
from evalkit.training.cli import train
from evalkit.workflow.cli import release

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class EvalkitGroup(click.Group):
    """Turns EvalkitError into one line on stderr and a non-zero exit."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as err:  # a bad option value: one line, not click's block
            where = f" (see `{err.ctx.command_path} --help`)" if err.ctx else ""
            click.echo(f"error: {err.format_message()}{where}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except EvalkitError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt:
            click.echo(
                "interrupted: finished batches are stored; rerun the same command to resume",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=EvalkitGroup)
@click.version_option(__version__, prog_name="evalkit")
def main() -> None:
    """Evaluate, gate and publish small math-reasoning models."""


for command in (run, tasks_command, profiles_command, report, inspect, regrade, compare, plan,
                gate, card, publish, leaderboard, release, train, import_command, grade_command):
    main.add_command(command)
