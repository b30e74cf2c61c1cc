"""The `shouwang` command: the group, and the commands of each domain registered on it. Every subcommand
prints a clear error and exits non-zero on failure (app/cli/common.py); each imports what it needs when it
runs, so `shouwang --help` stays fast.

- service.py: serve, worker, migrate, backup, restore
- demo.py: demo-data (and a demo server's first start)
- registry.py: regions import, households import-monitored
- imports.py: import households (a district's existing records)
- exports.py: export notice/decisions/monthly (the public notice, the national system, the city)
- admin.py: users create/deactivate, keys rewrap, audit verify
- risk.py: risk run/train
- lists.py: lists generate/export
- relief.py: relief keys create/rotate, relief deliveries
"""

import click

from app.cli import admin, demo, exports, imports, lists, registry, relief, risk, service


@click.group()
def main() -> None:
    """Shouwang (守望): return-to-poverty monitoring service."""


for command in (
    service.serve,
    service.worker,
    service.migrate,
    service.backup,
    service.restore,
    demo.demo_data,
    registry.regions,
    registry.households,
    imports.import_group,
    exports.export_group,
    admin.users,
    admin.keys,
    admin.audit,
    risk.risk,
    lists.lists,
    relief.relief,
):
    main.add_command(command)
