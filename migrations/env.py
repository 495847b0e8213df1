"""Alembic runs as the owner role. The URL and the application role's name come from
the caller (`kernel.migrate`) through config attributes, never from alembic.ini."""

from alembic import context

from migrations.registry import metadata

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    # procrastinate's schema is applied from its own SQL, not from our models.
    schema = getattr(obj, "schema", None)
    return schema not in ("procrastinate",)


def run() -> None:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_schemas=True,
        include_object=include_object,
        include_name=lambda name, type_, parent: type_ != "schema" or name in (None, "public", "audit", "app"),
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
