"""How changes beyond rows are named (no database: listings as the catalog gives them)."""

from pytest_flask_pgdb.reset.isolation import describe_changes

TABLE = {
    'table public."user"': "",
    'column public."user".id': "integer not null default nextval('user_id_seq'::regclass)",
    'column public."user".email': "character varying(120)",
    'constraint public."user".user_pkey': "PRIMARY KEY (id)",
    "index public.ix_user_email": (
        'CREATE UNIQUE INDEX ix_user_email ON public."user" USING btree (email)'
    ),
    "sequence public.user_id_seq": "integer start 1 increment 1 min 1 max 2147483647 cache 1",
    'trigger "RI_FKey_noaction_del" of post_user_id_fkey on public."user"': "enabled",
    "type public._user": "array",
}
OTHER = {
    "table public.post": "",
    "column public.post.id": "integer not null default nextval('post_id_seq'::regclass)",
    "sequence public.user_stats_seq": "bigint start 1 increment 1 min 1 max 9 cache 1",
}


def test_a_dropped_table_is_one_phrase_and_a_count():
    before = {**TABLE, **OTHER}
    after = dict(OTHER)
    assert describe_changes(before, after) == [
        'table public."user" dropped',
        "7 more change(s) to the objects of those tables",
    ]


def test_objects_of_tables_that_stay_are_still_named():
    before = {**TABLE, **OTHER}
    after = {k: v for k, v in before.items() if k not in {"sequence public.user_stats_seq"}}
    after["index public.ix_post_body"] = (
        "CREATE INDEX ix_post_body ON public.post USING btree (body)"
    )
    assert describe_changes(before, after) == [
        "index public.ix_post_body created",
        "sequence public.user_stats_seq dropped",
    ]


def test_a_created_table_too():
    assert describe_changes(OTHER, {**OTHER, **TABLE}) == [
        'table public."user" created',
        "7 more change(s) to the objects of those tables",
    ]
