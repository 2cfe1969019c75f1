"""Serving the platform: migration check and the production WSGI server (waitress, threaded)."""

from __future__ import annotations

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def serve(*, host: str, port: int, threads: int = 8) -> None:
    from waitress import serve as waitress_serve

    from ippledge.wsgi import application

    waitress_serve(application, host=host, port=port, threads=threads, ident="ippledge",
                   clear_untrusted_proxy_headers=True, channel_timeout=60)
