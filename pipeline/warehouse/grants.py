"""PostgreSQL roles for the warehouse: a loader, a national reader, and one reader per site.

    <prefix>loader                owns the pipeline's schemas and everything in them (runs the pipeline)
    <prefix>national_reader       reads the national schema only
    <prefix>site_<ods>_reader     reads its own local_<ods> schema, and national (member of national_reader)

The prefix defaults to the database's name and `_` (database `benefits`: `benefits_loader`,
`benefits_national_reader`, `benefits_site_rf4_reader`); `--prefix` or BENEFITS_ROLE_PREFIX set it.

No reader can use staging, quarantine, landing, measures or meta, nor another site's local mart.
A local mart holds views of the all-sites tables in measures (pipeline/warehouse/site_views.py):
they run with their owner's rights, so a site's reader reads its rows through them and nothing
else of measures.
Marts are rebuilt on every run (drop and create), so privileges on tables that do not exist yet
come from default privileges, set for the loader and for the role that runs `grant` (whichever
of them runs the pipeline). Roles are cluster-wide in PostgreSQL: the prefix keeps the roles of
different warehouses on one server apart, and `grant` reports
roles of its plan that other databases on the server already use (RolePlan.used_elsewhere).

`grant` is idempotent: run it after adding a site, and it brings every role back to this plan.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, replace

import sqlalchemy as sa

from pipeline.config.sites import SiteConfig
from pipeline.warehouse.core import Warehouse
from pipeline.warehouse.ddl import BASE_SCHEMAS, ensure_schema

log = logging.getLogger(__name__)
_PREFIX = re.compile(r"^([a-z_][a-z0-9_]*)?$")
# Relation kinds in pg_class and the ALTER command that changes their owner.
_ALTER = {"r": "table", "p": "table", "f": "foreign table", "v": "view", "m": "materialized view", "S": "sequence"}


class GrantError(RuntimeError):
    """The warehouse cannot hold roles (not PostgreSQL) or the plan is invalid."""


@dataclass(frozen=True)
class RolePlan:
    loader: str
    national_reader: str
    site_readers: dict[str, str]  # ODS code -> role
    site_schemas: dict[str, str]  # ODS code -> local schema
    # role -> other databases on the server where it already owns or may use something: roles are
    # server-wide, so without a prefix two warehouses on one server share them
    used_elsewhere: dict[str, list[str]] = field(default_factory=dict)

    @property
    def roles(self) -> list[str]:
        return [self.loader, self.national_reader, *self.site_readers.values()]

    @property
    def readers(self) -> list[str]:
        return [self.national_reader, *self.site_readers.values()]

    def readable(self) -> dict[str, list[str]]:
        """Role -> the schemas it can read."""
        out = {self.loader: ["all pipeline schemas (owner)"], self.national_reader: ["national"]}
        for ods, role in self.site_readers.items():
            out[role] = [self.site_schemas[ods], "national"]
        return out


def role_prefix(value: str | None = None, database: str | None = None) -> str:
    """The prefix given, else BENEFITS_ROLE_PREFIX, else the database's name and `_`: roles are
    server-wide, so two warehouses on one server get apart roles without anyone choosing."""
    if value is None:
        value = os.environ.get("BENEFITS_ROLE_PREFIX")
    if value is None and database:
        value = re.sub(r"[^a-z0-9_]", "_", database.lower()) + "_"
        value = value if value[0].isalpha() or value[0] == "_" else f"_{value}"
    prefix = (value or "").lower()
    if not _PREFIX.match(prefix):
        raise GrantError(f"role prefix {prefix!r}: use lower-case letters, digits and _ (starting with a letter or _)")
    return prefix


def plan_roles(sites: list[SiteConfig], prefix: str | None = None, database: str | None = None) -> RolePlan:
    p = role_prefix(prefix, database)
    trusts = [s for s in sites if s.role == "trust"]
    return RolePlan(
        loader=f"{p}loader",
        national_reader=f"{p}national_reader",
        site_readers={s.ods_code: f"{p}site_{s.ods_code.lower()}_reader" for s in trusts},
        site_schemas={s.ods_code: s.schema for s in trusts},
    )


def _q(name: str) -> str:
    """Quote an identifier built from config (role or schema names)."""
    if not re.match(r"^[a-z_][a-z0-9_]*$", name):
        raise GrantError(f"not a safe role or schema name: {name!r}")
    return f'"{name}"'


def _quote(name: str) -> str:
    """Quote a name the server gave us (current user, database)."""
    return '"' + name.replace('"', '""') + '"'


def _role_exists(conn: sa.Connection, role: str) -> bool:
    return bool(conn.execute(sa.text("select 1 from pg_roles where rolname = :r"), {"r": role}).scalar())


def grant(wh: Warehouse, sites: list[SiteConfig], *, prefix: str | None = None, login: bool = False) -> RolePlan:
    """Create or update the roles and their privileges; returns the plan that is now in force.

    `login` makes the roles able to log in (authentication is the server's pg_hba business: set
    passwords with ALTER ROLE outside the pipeline); otherwise they are group roles to grant to users.
    """
    if wh.dialect != "postgresql":
        raise GrantError("roles and grants need a PostgreSQL warehouse; an embedded DuckDB file has no access control")
    with wh.connect() as conn:
        database = conn.execute(sa.text("select current_database()")).scalar()
    plan = plan_roles(sites, prefix, database)
    local = list(plan.site_schemas.values())
    ensure_schema(wh, local)
    schemas = [*BASE_SCHEMAS, *local]
    with wh.begin() as conn:
        me = conn.execute(sa.text("select current_user")).scalar()
        superuser = bool(conn.execute(sa.text("select rolsuper from pg_roles where rolname = current_user")).scalar())
        plan = replace(plan, used_elsewhere=_used_elsewhere(conn, plan.roles))
        _create_roles(conn, plan, login, me, superuser)
        _grant_database(conn, plan, database)
        creators = sorted({plan.loader, me})
        for schema in schemas:
            _own_schema(conn, plan, schema, me)
            _grant_schema(conn, plan, schema, creators)
    log.info("roles in force: %s", ", ".join(plan.roles))
    return plan


def _run(conn: sa.Connection, sql: str) -> None:
    conn.execute(sa.text(sql))


def _create_roles(conn: sa.Connection, plan: RolePlan, login: bool, me: str, superuser: bool) -> None:
    """The plan's roles, able to log in or not; each site reader a member of the national reader."""
    for role in plan.roles:
        if not _role_exists(conn, role):
            _run(conn, f"create role {_q(role)}")
            log.info("created role %s", role)
        _run(conn, f"alter role {_q(role)} {'login' if login else 'nologin'}")
    if not superuser:
        # Changing owners to the loader and its default privileges needs membership of it.
        _run(conn, f"grant {_q(plan.loader)} to {_quote(me)}")
    for role in plan.site_readers.values():
        _run(conn, f"grant {_q(plan.national_reader)} to {_q(role)}")


def _grant_database(conn: sa.Connection, plan: RolePlan, database: str) -> None:
    db = _quote(database)
    _run(conn, f"grant connect, create, temporary on database {db} to {_q(plan.loader)}")
    for role in plan.readers:
        _run(conn, f"grant connect on database {db} to {_q(role)}")


def _own_schema(conn: sa.Connection, plan: RolePlan, schema: str, me: str) -> None:
    """The loader owns the schema and everything in it (and what this user creates there later)."""
    s = _q(schema)
    _run(conn, f"alter schema {s} owner to {_q(plan.loader)}")
    _own_relations(conn, schema, plan.loader)
    _run(conn, f"revoke all on schema {s} from public")
    if me != plan.loader:
        _run(conn, f"alter default privileges for role {_quote(me)} in schema {s} "
                   f"grant all on tables to {_q(plan.loader)}")  # fmt: skip


def _grant_schema(conn: sa.Connection, plan: RolePlan, schema: str, creators: list[str]) -> None:
    """Read access to the schema for the readers the plan allows it (national: the national reader;
    a site's schema: its own reader), and none for every other reader."""
    s = _q(schema)
    allowed = {plan.national_reader} if schema == "national" else set()
    allowed |= {r for ods, r in plan.site_readers.items() if plan.site_schemas[ods] == schema}
    for role in plan.readers:
        if role in allowed:
            continue
        # Maintenance: nothing outside the plan, whatever was granted by hand before.
        _run(conn, f"revoke all on all tables in schema {s} from {_q(role)}")
        _run(conn, f"revoke all on schema {s} from {_q(role)}")
        for creator in creators:
            _run(conn, f"alter default privileges for role {_quote(creator)} in schema {s} "
                       f"revoke all on tables from {_q(role)}")  # fmt: skip
    for role in sorted(allowed):
        _run(conn, f"grant usage on schema {s} to {_q(role)}")
        _run(conn, f"grant select on all tables in schema {s} to {_q(role)}")
        for creator in creators:
            _run(conn, f"alter default privileges for role {_quote(creator)} in schema {s} "
                       f"grant select on tables to {_q(role)}")  # fmt: skip


def _used_elsewhere(conn: sa.Connection, roles: list[str]) -> dict[str, list[str]]:
    """Other databases in which these roles own objects or hold privileges (pg_shdepend records
    both, per database; a database-level grant is recorded against the database itself)."""
    rows = conn.execute(
        sa.text(
            "select distinct r.rolname, coalesce(d.datname, granted.datname) as db "
            "from pg_shdepend s join pg_roles r on r.oid = s.refobjid "
            "left join pg_database d on d.oid = s.dbid "
            "left join pg_database granted on s.dbid = 0 and s.classid = 'pg_database'::regclass "
            "and granted.oid = s.objid "
            "where r.rolname = any(:roles) and coalesce(d.datname, granted.datname) <> current_database() "
            "order by 1, 2"
        ),
        {"roles": list(roles)},
    ).fetchall()
    out: dict[str, list[str]] = {}
    for role, db in rows:
        out.setdefault(role, []).append(db)
    return out


def _own_relations(conn: sa.Connection, schema: str, owner: str) -> None:
    rows = conn.execute(
        sa.text(
            "select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = :s and c.relkind in ('r', 'p', 'f', 'v', 'm', 'S') "
            "and pg_get_userbyid(c.relowner) <> :o order by c.relname"
        ),
        {"s": schema, "o": owner},
    ).fetchall()
    for name, kind in rows:
        if re.match(r"^[a-z_][a-z0-9_]*$", name):
            conn.execute(sa.text(f'alter {_ALTER[kind]} {_q(schema)}."{name}" owner to {_q(owner)}'))


def drop_roles(wh: Warehouse, plan: RolePlan) -> None:
    """Remove the plan's roles from this database and the server; what the loader owned goes to the caller.

    A role that still holds privileges in another database of the server cannot be dropped; run
    this in each database that used the prefix.
    """
    with wh.begin() as conn:
        me = conn.execute(sa.text("select current_user")).scalar()
        for role in plan.roles:
            if not _role_exists(conn, role):
                continue
            conn.execute(sa.text(f"reassign owned by {_q(role)} to {_quote(me)}"))
            conn.execute(sa.text(f"drop owned by {_q(role)}"))
        for role in plan.roles:
            if _role_exists(conn, role):
                conn.execute(sa.text(f"drop role {_q(role)}"))
