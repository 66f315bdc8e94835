"""A canonical description of one database's schema, read from the PostgreSQL catalogs.

Two databases built different ways (migrations vs ``create_all``) are compared by
their snapshots; :func:`diff_snapshots` says what differs, one entry per object:

    column public.projects.name: collation — migrations: (none), models: pg_catalog."C"

A snapshot is every object ``pg_dump --schema-only`` prints for the database's own
schemas (``public`` and any other), each as ``(kind, name) -> {attribute: text}``:
schemas, extensions, tables (persistence, storage options, row-level security, replica
identity, partitioning, inheritance), columns (type, collation, nullability, default,
identity, generated, storage, compression, statistics), column order, constraints,
indexes (and their expression columns' statistics targets), sequences and their options,
views and materialised views, triggers and their enabled state, rules, policies,
functions, procedures and aggregates, enums, domains, range and composite types,
extended statistics, publications, collations, text search configurations and
dictionaries, operators and operator classes, casts, foreign data wrappers and servers,
event triggers, default privileges — with the grants and the comment of each. Objects an
extension created are described by the extension. Definitions come from the server's
own ``pg_get_*def`` functions, so both sides are rendered the same way.
``alembic_version`` and the schema the test machinery keeps in its databases are left
out; what the snapshot does not read (row filters of publications, operator families,
conversions, user mappings, security labels…) the ``pg_dump`` backstop sees.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from pytest_flask_pgdb.reset.isolation import DDL_COUNTER_EVENT_TRIGGER, DDL_COUNTER_SCHEMA

IGNORED_TABLES = ("alembic_version",)
COLUMN_ORDER = "column order"  # its own kind: Alembic's add_column always appends

# How pg_dump words a trigger's, rule's or event trigger's state ('O', enabled: nothing).
_ENABLED = (
    "CASE {} WHEN 'D' THEN 'DISABLED' WHEN 'R' THEN 'ENABLE REPLICA' "
    "WHEN 'A' THEN 'ENABLE ALWAYS' END"
)
# Triggers and rules: objects of a table with a definition, a state and a comment.
_OF_TABLE = """
SELECT '{kind}', rel.name || '.' || quote_ident(o.{name}), json_build_object(
    'definition', {definition}(o.oid, true),
    'enabled', {enabled},
    'comment', obj_description(o.oid, '{catalog}'))
FROM {catalog} o JOIN rel ON rel.oid = o.{table}
WHERE {which}"""
_OBJECTS_OF_TABLES = {  # kind: catalog, name, table, definition, state, which
    # as pg_dump: no internal (foreign key) triggers, no clones on partitions
    "trigger": (
        "pg_trigger", "tgname", "tgrelid", "pg_get_triggerdef", "tgenabled",
        "NOT o.tgisinternal AND o.tgparentid = 0",
    ),
    # a view's own _RETURN rule is the view
    "rule": (
        "pg_rewrite", "rulename", "ev_class", "pg_get_ruledef", "ev_enabled",
        "o.rulename <> '_RETURN'",
    ),
}  # fmt: skip


def _grants(acl: str, kind: str, owner: str) -> str:
    """Grants as pg_dump compares them: an ACL that equals the owner's default (what a
    GRANT then its REVOKE leave behind) is no ACL, whatever the order of its items."""
    return (
        f"CASE WHEN ARRAY(SELECT x::text FROM unnest({acl}) AS x ORDER BY 1) = "
        f"ARRAY(SELECT x::text FROM unnest(acldefault('{kind}', {owner})) AS x ORDER BY 1) "
        f"THEN NULL ELSE {acl}::text END"
    )


_OBJECTS = """
WITH ns AS (
    SELECT oid, nspname, nspacl, nspowner FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', :machinery)
      AND nspname !~ '^pg_(toast_)?temp_'
),
member AS (  -- objects an extension made: described by the extension, as pg_dump does
    SELECT classid, objid FROM pg_depend WHERE deptype = 'e'
),
rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relpersistence, c.reloptions, c.relacl, c.relowner,
           c.relrowsecurity, c.relforcerowsecurity, c.relreplident, c.relam,
           c.reltablespace, c.relispopulated, c.relpartbound,
           format('%I.%I', ns.nspname, c.relname) AS name
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    WHERE NOT (ns.nspname = 'public' AND c.relname = ANY(CAST(:ignored AS text[])))
      AND NOT EXISTS (SELECT 1 FROM member m
                      WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid)
)
SELECT 'schema', quote_ident(nspname), json_build_object(
    'grants', {grants_schema}, 'comment', obj_description(oid, 'pg_namespace'))
FROM ns
UNION ALL
SELECT 'extension', quote_ident(e.extname), json_build_object(
    'version', e.extversion, 'schema', n.nspname::text,
    'comment', obj_description(e.oid, 'pg_extension'))
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
UNION ALL
SELECT 'table', name, json_build_object(
    'kind', CASE relkind WHEN 'p' THEN 'partitioned' WHEN 'f' THEN 'foreign' END,
    'persistence', CASE relpersistence WHEN 'u' THEN 'UNLOGGED' END,
    'options', array_to_string(reloptions, ', '),
    'access method', (SELECT amname FROM pg_am WHERE oid = relam AND amname <> 'heap'),
    'tablespace', (SELECT spcname FROM pg_tablespace WHERE oid = reltablespace),
    'row level security', CASE WHEN relforcerowsecurity THEN 'enabled, forced'
                               WHEN relrowsecurity THEN 'enabled' END,
    'replica identity', CASE relreplident WHEN 'n' THEN 'nothing' WHEN 'f' THEN 'full'
                                          WHEN 'i' THEN 'index' END,
    'partition key', CASE WHEN relkind = 'p' THEN pg_get_partkeydef(oid) END,
    'partition bound', pg_get_expr(relpartbound, oid),
    'inherits', (SELECT string_agg(inhparent::regclass::text, ', ' ORDER BY inhseqno)
                 FROM pg_inherits WHERE inhrelid = rel.oid),
    'grants', {grants_relation}, 'comment', obj_description(oid, 'pg_class'))
FROM rel WHERE relkind IN ('r', 'p', 'f')
UNION ALL
SELECT 'column order', rel.name, json_build_object(
    'columns', string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum))
FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE rel.relkind IN ('r', 'p', 'f')
GROUP BY rel.name
UNION ALL
SELECT 'column', rel.name || '.' || quote_ident(a.attname), json_build_object(
    'type', format_type(a.atttypid, a.atttypmod),
    'nullability', CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL' END,
    'default', CASE WHEN a.attgenerated = '' THEN coalesce(pg_get_expr(d.adbin, d.adrelid),
                                                           'none') END,
    'generated', CASE WHEN a.attgenerated = 's'
                      THEN 'ALWAYS AS (' || pg_get_expr(d.adbin, d.adrelid) || ') STORED' END,
    'identity', CASE a.attidentity WHEN 'a' THEN 'GENERATED ALWAYS'
                                   WHEN 'd' THEN 'GENERATED BY DEFAULT' END,
    'collation', CASE WHEN a.attcollation <> t.typcollation THEN
                      (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_collation co
                       JOIN pg_namespace cn ON cn.oid = co.collnamespace
                       WHERE co.oid = a.attcollation) END,
    'storage', CASE WHEN a.attstorage <> t.typstorage THEN
                    CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL'
                                      WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END END,
    'compression', nullif(a.attcompression::text, ''),
    'statistics', nullif(a.attstattarget, -1)::text,
    -- options named pg_* are the server's own bookkeeping, left out by pg_dump too
    'options', nullif(array_to_string(ARRAY(SELECT o FROM unnest(a.attoptions) AS o
                                            WHERE o !~ '^pg_'), ', '), ''),
    'grants', {grants_column},
    'comment', col_description(rel.oid, a.attnum))
FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE rel.relkind IN ('r', 'p', 'f', 'c')
UNION ALL
SELECT 'constraint', rel.name || '.' || quote_ident(con.conname), json_build_object(
    'definition', pg_get_constraintdef(con.oid, true),
    'comment', obj_description(con.oid, 'pg_constraint'))
FROM pg_constraint con JOIN rel ON rel.oid = con.conrelid
UNION ALL
-- An index that backs a primary key, unique or exclusion constraint is the constraint's.
SELECT 'index', i.name, json_build_object(
    'definition', pg_get_indexdef(x.indexrelid),
    'clustered', CASE WHEN x.indisclustered THEN 'yes' END,
    'replica identity', CASE WHEN x.indisreplident THEN 'yes' END,
    -- statistics targets of expression columns (ALTER INDEX … ALTER COLUMN n SET STATISTICS)
    'statistics', (SELECT string_agg(format('column %s: %s', a.attnum, a.attstattarget), ', '
                                     ORDER BY a.attnum)
                   FROM pg_attribute a WHERE a.attrelid = x.indexrelid
                   AND a.attstattarget >= 0),
    'comment', obj_description(i.oid, 'pg_class'))
FROM pg_index x JOIN rel i ON i.oid = x.indexrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = x.indexrelid
                  AND con.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 'sequence', rel.name, json_build_object(
    'type', format_type(s.seqtypid, NULL), 'start', s.seqstart::text,
    'increment', s.seqincrement::text, 'min', s.seqmin::text, 'max', s.seqmax::text,
    'cache', s.seqcache::text, 'cycle', CASE WHEN s.seqcycle THEN 'yes' ELSE 'no' END,
    'owned by', owner.name,
    -- an owned sequence follows its table's persistence: say it only where it differs
    'persistence', CASE WHEN rel.relpersistence <> coalesce(owner.relpersistence, 'p')
                        THEN CASE rel.relpersistence WHEN 'u' THEN 'UNLOGGED'
                                                     ELSE 'LOGGED' END END,
    'grants', {grants_sequence}, 'comment', obj_description(rel.oid, 'pg_class'))
FROM rel JOIN pg_sequence s ON s.seqrelid = rel.oid
LEFT JOIN LATERAL (
    SELECT format('%I.%I.%I', tn.nspname, t.relname, a.attname) AS name, t.relpersistence
    FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_namespace tn ON tn.oid = t.relnamespace
    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    WHERE d.classid = 'pg_class'::regclass AND d.objid = rel.oid
      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
) owner ON true
UNION ALL
SELECT CASE relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, name,
    json_build_object(
    'definition', pg_get_viewdef(oid, true),
    'options', array_to_string(reloptions, ', '),
    'populated', CASE WHEN relkind = 'm' AND NOT relispopulated THEN 'WITH NO DATA' END,
    'column defaults', (SELECT string_agg(quote_ident(a.attname) || ' '
                                          || pg_get_expr(d.adbin, d.adrelid), ', '
                                          ORDER BY a.attnum)
                        FROM pg_attrdef d JOIN pg_attribute a
                        ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                        WHERE d.adrelid = rel.oid),
    'column comments', (SELECT string_agg(quote_ident(a.attname) || ' '
                                          || quote_literal(col_description(rel.oid, a.attnum)),
                                          ', ' ORDER BY a.attnum)
                        FROM pg_attribute a WHERE a.attrelid = rel.oid AND a.attnum > 0
                        AND col_description(rel.oid, a.attnum) IS NOT NULL),
    'grants', {grants_relation}, 'comment', obj_description(oid, 'pg_class'))
FROM rel WHERE relkind IN ('v', 'm')
UNION ALL
{of_tables}
UNION ALL
SELECT 'policy', rel.name || '.' || quote_ident(p.polname), json_build_object(
    'command', CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                             WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
    'permissive', CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
    'roles', (SELECT string_agg(role, ', ' ORDER BY role)
              FROM (SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE r::regrole::text END AS role
                    FROM unnest(p.polroles) AS u(r)) roles),
    'using', pg_get_expr(p.polqual, p.polrelid),
    'with check', pg_get_expr(p.polwithcheck, p.polrelid),
    'comment', obj_description(p.oid, 'pg_policy'))
FROM pg_policy p JOIN rel ON rel.oid = p.polrelid
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                      ELSE 'function' END,
       format('%I.%I(%s)', ns.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       json_build_object(
    'definition', CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
    'aggregate', (SELECT concat_ws(', ', 'sfunc ' || ag.aggtransfn::text,
                                   'stype ' || format_type(ag.aggtranstype, NULL),
                                   'finalfunc ' || nullif(ag.aggfinalfn::oid, 0)::regproc,
                                   'combinefunc ' || nullif(ag.aggcombinefn::oid, 0)::regproc,
                                   'initcond ' || ag.agginitval)
                  FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid),
    'grants', {grants_function}, 'comment', obj_description(p.oid, 'pg_proc'))
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
WHERE NOT EXISTS (SELECT 1 FROM member m
                  WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid)
UNION ALL
SELECT 'type', format('%I.%I', ns.nspname, t.typname), json_build_object(
    'kind', CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range'
                           WHEN 'c' THEN 'composite' ELSE 'base' END,
    'labels', (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
               FROM pg_enum e WHERE e.enumtypid = t.oid),
    'base type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
    'nullability', CASE WHEN t.typnotnull THEN 'NOT NULL' END,
    'default', t.typdefault,
    'collation', CASE WHEN t.typtype = 'd' AND t.typcollation <>
                           (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype)
                      THEN t.typcollation::regcollation::text END,
    'constraints', (SELECT string_agg(quote_ident(c.conname) || ' '
                                      || pg_get_constraintdef(c.oid, true), ', '
                                      ORDER BY c.conname)
                    FROM pg_constraint c WHERE c.contypid = t.oid),
    'subtype', (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r
                WHERE r.rngtypid = t.oid),
    'grants', {grants_type}, 'comment', obj_description(t.oid, 'pg_type'))
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd', 'r', 'c', 'b')
  AND NOT (t.typelem <> 0 AND t.typlen = -1)  -- arrays come with their element type
  AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
  AND NOT EXISTS (SELECT 1 FROM member m
                  WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid)
UNION ALL
SELECT 'statistics', format('%I.%I', ns.nspname, s.stxname), json_build_object(
    'definition', pg_get_statisticsobjdef(s.oid),
    'comment', obj_description(s.oid, 'pg_statistic_ext'))
FROM pg_statistic_ext s JOIN ns ON ns.oid = s.stxnamespace
UNION ALL
SELECT 'event trigger', quote_ident(evtname), json_build_object(
    'event', evtevent::text, 'tags', array_to_string(evttags, ', '),
    'function', evtfoid::regproc::text,
    'enabled', {enabled_evtenabled},
    'comment', obj_description(oid, 'pg_event_trigger'))
FROM pg_event_trigger WHERE evtname <> :machinery_trigger
UNION ALL
SELECT 'publication', quote_ident(p.pubname), json_build_object(
    'all tables', CASE WHEN p.puballtables THEN 'yes' END,
    'publishes', concat_ws(', ', CASE WHEN p.pubinsert THEN 'insert' END,
                           CASE WHEN p.pubupdate THEN 'update' END,
                           CASE WHEN p.pubdelete THEN 'delete' END,
                           CASE WHEN p.pubtruncate THEN 'truncate' END),
    'via partition root', CASE WHEN p.pubviaroot THEN 'yes' END,
    -- (a column list, PostgreSQL 15 on, through to_jsonb: the same query on every
    -- version; row filters and FOR TABLES IN SCHEMA are left to the pg_dump backstop)
    'tables', (SELECT string_agg(format('%I.%I', tn.nspname, t.relname) || coalesce(
                   ' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                            FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum IN (
                                SELECT n::int2 FROM jsonb_array_elements_text(
                                    CASE jsonb_typeof(to_jsonb(pr) -> 'prattrs')
                                    WHEN 'array' THEN to_jsonb(pr) -> 'prattrs' END) AS n))
                   || ')', ''), ', ' ORDER BY tn.nspname, t.relname)
               FROM pg_publication_rel pr JOIN pg_class t ON t.oid = pr.prrelid
               JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE pr.prpubid = p.oid),
    'comment', obj_description(p.oid, 'pg_publication'))
FROM pg_publication p
UNION ALL
SELECT 'collation', format('%I.%I', ns.nspname, c.collname), json_build_object(
    'provider', CASE c.collprovider WHEN 'i' THEN 'icu' WHEN 'c' THEN 'libc'
                                    ELSE c.collprovider::text END,
    'locale', concat_ws(' / ', c.collcollate, c.collctype, to_jsonb(c) ->> 'colliculocale',
                        to_jsonb(c) ->> 'colllocale'),
    'deterministic', CASE WHEN NOT c.collisdeterministic THEN 'no' END,
    'comment', obj_description(c.oid, 'pg_collation'))
FROM pg_collation c JOIN ns ON ns.oid = c.collnamespace
WHERE NOT EXISTS (SELECT 1 FROM member m
                  WHERE m.classid = 'pg_collation'::regclass AND m.objid = c.oid)
UNION ALL
SELECT 'text search configuration', format('%I.%I', ns.nspname, c.cfgname), json_build_object(
    'parser', (SELECT format('%I.%I', pn.nspname, p.prsname) FROM pg_ts_parser p
               JOIN pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser),
    'mappings', (SELECT string_agg(format('%s %s', k.alias, m.mapdict::regdictionary),
                                   ', ' ORDER BY m.maptokentype, m.mapseqno)
                 FROM pg_ts_config_map m
                 JOIN ts_token_type(c.cfgparser) k ON k.tokid = m.maptokentype
                 WHERE m.mapcfg = c.oid),
    'comment', obj_description(c.oid, 'pg_ts_config'))
FROM pg_ts_config c JOIN ns ON ns.oid = c.cfgnamespace
WHERE NOT EXISTS (SELECT 1 FROM member m
                  WHERE m.classid = 'pg_ts_config'::regclass AND m.objid = c.oid)
UNION ALL
SELECT 'text search dictionary', format('%I.%I', ns.nspname, d.dictname), json_build_object(
    'template', (SELECT format('%I.%I', tn.nspname, t.tmplname) FROM pg_ts_template t
                 JOIN pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate),
    'options', d.dictinitoption,
    'comment', obj_description(d.oid, 'pg_ts_dict'))
FROM pg_ts_dict d JOIN ns ON ns.oid = d.dictnamespace
WHERE NOT EXISTS (SELECT 1 FROM member m
                  WHERE m.classid = 'pg_ts_dict'::regclass AND m.objid = d.oid)
UNION ALL
SELECT 'operator', format('%I.%s(%s, %s)', ns.nspname, o.oprname,
                          coalesce(format_type(nullif(o.oprleft, 0), NULL), 'NONE'),
                          format_type(o.oprright, NULL)), json_build_object(
    'function', o.oprcode::regprocedure::text, 'result', format_type(o.oprresult, NULL),
    'commutator', nullif(o.oprcom, 0)::regoperator::text,
    'negator', nullif(o.oprnegate, 0)::regoperator::text,
    'restrict', nullif(o.oprrest::oid, 0)::regproc::text,
    'join', nullif(o.oprjoin::oid, 0)::regproc::text,
    'hashes', CASE WHEN o.oprcanhash THEN 'yes' END,
    'merges', CASE WHEN o.oprcanmerge THEN 'yes' END,
    'comment', obj_description(o.oid, 'pg_operator'))
FROM pg_operator o JOIN ns ON ns.oid = o.oprnamespace
WHERE NOT EXISTS (SELECT 1 FROM member m
                  WHERE m.classid = 'pg_operator'::regclass AND m.objid = o.oid)
UNION ALL
SELECT 'operator class', format('%I.%I USING %s', ns.nspname, c.opcname, am.amname),
    json_build_object(
    'type', format_type(c.opcintype, NULL), 'default', CASE WHEN c.opcdefault THEN 'yes' END,
    'family', (SELECT format('%I.%I', fn.nspname, f.opfname) FROM pg_opfamily f
               JOIN pg_namespace fn ON fn.oid = f.opfnamespace WHERE f.oid = c.opcfamily),
    'operators', (SELECT string_agg(format('%s %s', o.amopstrategy, o.amopopr::regoperator),
                                    ', ' ORDER BY o.amopstrategy, o.amopopr::regoperator::text)
                  FROM pg_amop o WHERE o.amopfamily = c.opcfamily
                  AND o.amoplefttype = c.opcintype AND o.amoprighttype = c.opcintype),
    'functions', (SELECT string_agg(format('%s %s', p.amprocnum, p.amproc::regprocedure),
                                    ', ' ORDER BY p.amprocnum)
                  FROM pg_amproc p WHERE p.amprocfamily = c.opcfamily
                  AND p.amproclefttype = c.opcintype AND p.amprocrighttype = c.opcintype),
    'comment', obj_description(c.oid, 'pg_opclass'))
FROM pg_opclass c JOIN ns ON ns.oid = c.opcnamespace JOIN pg_am am ON am.oid = c.opcmethod
WHERE NOT EXISTS (SELECT 1 FROM member m
                  WHERE m.classid = 'pg_opclass'::regclass AND m.objid = c.oid)
UNION ALL
-- casts and foreign data wrappers belong to no schema: those made after initdb, by no
-- extension (pg_dump's rule for casts)
SELECT 'cast', format('(%s AS %s)', format_type(c.castsource, NULL),
                      format_type(c.casttarget, NULL)), json_build_object(
    'function', nullif(c.castfunc, 0)::regprocedure::text,
    'context', CASE c.castcontext WHEN 'e' THEN 'explicit' WHEN 'a' THEN 'assignment'
                                  ELSE 'implicit' END,
    'method', CASE c.castmethod WHEN 'b' THEN 'binary' WHEN 'i' THEN 'inout' END,
    'comment', obj_description(c.oid, 'pg_cast'))
FROM pg_cast c
WHERE c.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM member m
                                     WHERE m.classid = 'pg_cast'::regclass AND m.objid = c.oid)
UNION ALL
SELECT 'foreign data wrapper', quote_ident(w.fdwname), json_build_object(
    'handler', nullif(w.fdwhandler, 0)::regproc::text,
    'validator', nullif(w.fdwvalidator, 0)::regproc::text,
    'options', array_to_string(w.fdwoptions, ', '),
    'comment', obj_description(w.oid, 'pg_foreign_data_wrapper'))
FROM pg_foreign_data_wrapper w
WHERE NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_foreign_data_wrapper'::regclass
                  AND m.objid = w.oid)
UNION ALL
SELECT 'foreign server', quote_ident(s.srvname), json_build_object(
    'wrapper', (SELECT quote_ident(fdwname) FROM pg_foreign_data_wrapper WHERE oid = s.srvfdw),
    'type', s.srvtype, 'version', s.srvversion, 'options', array_to_string(s.srvoptions, ', '),
    'comment', obj_description(s.oid, 'pg_foreign_server'))
FROM pg_foreign_server s
UNION ALL
SELECT 'default privileges',
       pg_get_userbyid(d.defaclrole) || coalesce(' in ' || quote_ident(n.nspname), '')
       || ' on ' || d.defaclobjtype::text,
       json_build_object('grants', d.defaclacl::text)
FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
"""
_OBJECTS = _OBJECTS.format(
    of_tables="\nUNION ALL".join(
        _OF_TABLE.format(
            kind=kind,
            catalog=catalog,
            name=name,
            table=table,
            definition=definition,
            enabled=_ENABLED.format(f"o.{state}"),
            which=which,
        )
        for kind, (catalog, name, table, definition, state, which) in _OBJECTS_OF_TABLES.items()
    ),
    enabled_evtenabled=_ENABLED.format("evtenabled"),
    grants_schema=_grants("nspacl", "n", "nspowner"),
    grants_relation=_grants("relacl", "r", "relowner"),
    grants_column=_grants("a.attacl", "c", "rel.relowner"),
    grants_sequence=_grants("rel.relacl", "s", "rel.relowner"),
    grants_function=_grants("p.proacl", "f", "p.proowner"),
    grants_type=_grants("t.typacl", "T", "t.typowner"),
)


@dataclass
class Snapshot:
    """``(kind, name) -> {attribute: text}`` for every object of a database's schemas."""

    objects: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> Snapshot:
        return Snapshot({key: v for key, v in self.objects.items() if key[0] in kinds})

    def without(self, *kinds: str) -> Snapshot:
        return Snapshot({key: v for key, v in self.objects.items() if key[0] not in kinds})

    def names(self, of: str, **attributes: str) -> list[str]:
        """Names of the objects of kind ``of`` whose attributes include ``attributes``."""
        return sorted(
            name
            for (k, name), attrs in self.objects.items()
            if k == of and all(attrs.get(a) == v for a, v in attributes.items())
        )


def take_snapshot(connection: Connection) -> Snapshot:
    """Read the schema of the database ``connection`` is on."""
    rows: Sequence[tuple[str, str, dict[str, str | None]]] = connection.execute(
        text(_OBJECTS),
        {
            "ignored": list(IGNORED_TABLES),
            "machinery": DDL_COUNTER_SCHEMA,
            "machinery_trigger": DDL_COUNTER_EVENT_TRIGGER,
        },
    ).all()
    return Snapshot(
        {
            (kind, name): {key: value for key, value in attributes.items() if value is not None}
            for kind, name, attributes in rows
        }
    )


# What a difference changes, most serious first: the order of a grouped report.
GROUPS = {
    "behaviour": "what the database accepts, stores or returns",
    "performance": "plans and storage only",
    "names only": "the same object, named differently",
    "comments": "documentation only",
    COLUMN_ORDER: "where columns sit (Alembic's add_column appends)",
}
_COMMENTS = {"comment", "column comments"}
_PERFORMANCE = {  # attributes that change plans or storage, not results
    "table": {"options", "persistence", "access method", "tablespace"},
    "column": {"storage", "compression", "statistics", "options"},
    "index": {"definition", "clustered", "statistics"},  # of a plain index
    "sequence": {"cache"},
    "materialized view": {"options"},
}


@dataclass(frozen=True)
class Difference:
    """One object that differs: the report's text and what kind of difference it is."""

    text: str
    group: str  # a key of GROUPS

    def __str__(self) -> str:
        return self.text


def diff_snapshots(
    left: Snapshot, right: Snapshot, labels: tuple[str, str] = ("migrations", "models")
) -> list[str]:
    """Every object that differs, one entry each, in full; empty when the two match."""
    return [difference.text for difference in differences(left, right, labels)]


def differences(
    left: Snapshot, right: Snapshot, labels: tuple[str, str] = ("migrations", "models")
) -> list[Difference]:
    """Every object that differs, one entry each, in full, with its group.

    An object on one side only is shown with all its attributes (a table with its
    columns, constraints, indexes, triggers and owned sequences, as one entry); an
    object on both sides with each attribute that differs, both values in full
    (multi-line definitions as a unified diff). A constraint or index on one side whose
    twin on the other differs only by name is one entry, "names only".
    """
    a, b = labels
    entries: dict[tuple[str, str], Difference] = {}
    one_sided = {
        key: (a, left.objects[key]) if key in left.objects else (b, right.objects[key])
        for key in left.objects.keys() ^ right.objects.keys()
    }
    renamed = _renamed(one_sided, a, b)
    parts: dict[tuple[str, str], list[str]] = {}  # a table on one side takes its objects along
    for key in sorted(left.objects.keys() | right.objects.keys()):
        subject = f"{key[0]} {key[1]}"
        if key in renamed:
            if (pair := renamed[key]) is not None:
                entries[key] = pair
        elif key in one_sided:
            side, attributes = one_sided[key]
            table = ("table", _table_of(key, attributes))
            if key[0] != "table" and one_sided.get(table, ("",))[0] == side:
                parts.setdefault(table, []).append(f"{subject}: {_describe(attributes)}")
                continue
            description = _describe(attributes)
            entries[key] = Difference(
                f"{subject} only in {side}" + (f": {description}" if description else ""),
                _group(key[0], [attributes], None),
            )
        else:
            was, now = left.objects[key], right.objects[key]
            changes = _changes(was, now, labels)
            if changes:
                changed = [k for k in {**was, **now} if was.get(k) != now.get(k)]
                entries[key] = Difference(
                    f"{subject}: " + "; ".join(changes), _group(key[0], [was, now], changed)
                )
    return [
        Difference(entry.text + "\n" + indented("\n".join(parts[key])), entry.group)
        if key in parts
        else entry
        for key, entry in entries.items()
    ]


def _renamed(
    one_sided: Mapping[tuple[str, str], tuple[str, Mapping[str, str]]], a: str, b: str
) -> dict[tuple[str, str], Difference | None]:
    """Constraints and indexes on one side only whose one twin on the other side differs
    by name alone: the first of each pair maps to its entry, the second to None."""
    by_shape: dict[tuple[str, str, str], dict[str, list[tuple[str, str]]]] = {}
    for key, (side, attributes) in one_sided.items():
        kind, name = key
        if kind not in ("constraint", "index"):
            continue
        table = _table_of(key, attributes)
        local = name.rsplit(".", 1)[-1]
        shape = repr(sorted(attributes.items()))
        if kind == "index":  # the index's own name is in its definition
            shape = shape.replace(f" INDEX {local} ON ", " INDEX ON ", 1)
        by_shape.setdefault((kind, table, shape), {}).setdefault(side, []).append(key)
    renamed: dict[tuple[str, str], Difference | None] = {}
    for (kind, table, _shape), sides in by_shape.items():
        if len(sides.get(a, ())) != 1 or len(sides.get(b, ())) != 1:
            continue  # several alike: which is whose twin is a guess
        [mine], [theirs] = sides[a], sides[b]
        attributes = one_sided[mine][1]
        first, second = sorted([mine, theirs])
        renamed[first] = Difference(
            f"{kind} on {table} named {mine[1].rsplit('.', 1)[-1]} in {a}, "
            f"{theirs[1].rsplit('.', 1)[-1]} in {b}: {_describe(attributes)}",
            "names only",
        )
        renamed[second] = None
    return renamed


def _group(kind: str, sides: list[Mapping[str, str]], changed: list[str] | None) -> str:
    """The group of a difference of ``kind``: on one side only (``changed`` None), or
    in the ``changed`` attributes of the object on both ``sides``."""
    if kind == COLUMN_ORDER:
        return COLUMN_ORDER
    plain_index = kind == "index" and not any(
        re.search(r"^CREATE UNIQUE |\) WHERE ", side.get("definition", "")) for side in sides
    )
    if kind == "statistics" or (plain_index and changed is None):
        return "performance"
    if changed is None:
        return "behaviour"
    if set(changed) <= _COMMENTS:
        return "comments"
    performance = _PERFORMANCE.get(kind, set()) - ({"definition"} if not plain_index else set())
    return "performance" if set(changed) - _COMMENTS <= performance else "behaviour"


def _table_of(key: tuple[str, str], attributes: Mapping[str, str]) -> str:
    """The table an object belongs to ('' for none), by its name or definition."""
    kind, name = key
    if kind == COLUMN_ORDER:
        return name
    if kind in ("column", "constraint", "trigger", "rule", "policy"):
        return name.rsplit(".", 1)[0]
    if kind == "index":
        found = re.search(r" ON (?:ONLY )?(\S+) USING ", attributes.get("definition", ""))
        return found.group(1) if found else ""
    if kind == "sequence":
        return attributes.get("owned by", "").rsplit(".", 1)[0]
    return ""


def _describe(attributes: Mapping[str, str]) -> str:
    """``type text; nullability NULL``; a multi-line value (a definition) as a block."""
    short = "; ".join(f"{k} {v}" for k, v in attributes.items() if "\n" not in v)
    blocks = [f"{k}\n{indented(v)}" for k, v in attributes.items() if "\n" in v]
    return "\n".join(filter(None, [short, *blocks]))


def _changes(x: Mapping[str, str], y: Mapping[str, str], labels: tuple[str, str]) -> list[str]:
    a, b = labels
    changes = []
    for attribute in [*x, *(k for k in y if k not in x)]:
        was, now = x.get(attribute, "(none)"), y.get(attribute, "(none)")
        if was == now:
            continue
        if "\n" in was or "\n" in now:
            diff = difflib.unified_diff(was.splitlines(), now.splitlines(), a, b, lineterm="", n=2)
            changes.append(f"{attribute}\n" + indented("\n".join(diff)))
        elif len(was) + len(now) > 100:
            width = max(len(a), len(b)) + 1
            changes.append(f"{attribute}\n    {a + ':':{width}} {was}\n    {b + ':':{width}} {now}")
        else:
            changes.append(f"{attribute} — {a}: {was}, {b}: {now}")
    return changes


def indented(text: str) -> str:
    """Every line of ``text`` indented by four spaces (a block inside a report entry)."""
    return "\n".join("    " + line for line in text.splitlines())
