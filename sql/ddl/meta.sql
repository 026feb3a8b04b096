-- meta: the warehouse's own bookkeeping. Portable SQL (DuckDB and PostgreSQL).

-- grain: one row per extracted batch; key: batch_id
create table if not exists meta.load_batch (
    batch_id varchar primary key,
    site_code varchar not null,
    dataset varchar not null,
    source_name varchar not null,
    connector varchar not null,
    period_start date,
    period_end date,
    months varchar,
    extracted_at timestamp,
    loaded_at timestamp,
    rows_in bigint not null default 0,
    rows_loaded bigint not null default 0,
    rows_quarantined bigint not null default 0,
    checksum varchar,
    status varchar not null,
    reason varchar,
    flow_run_id varchar,
    superseded_by varchar,
    -- the row-shaping configuration the batch was loaded with (pipeline/ingest/config_hash.py)
    config_hash varchar
);

-- grain: one row per rule evaluated on a batch; key: batch_id, expectation
create table if not exists meta.dq_result (
    batch_id varchar not null,
    site_code varchar not null,
    dataset varchar not null,
    expectation varchar not null,
    expectation_type varchar,
    category varchar not null,
    severity varchar not null,
    observed_value varchar,
    element_count bigint,
    unexpected_count bigint,
    unexpected_percent double precision,
    threshold_percent double precision,
    passed boolean not null,
    validated_at timestamp,
    primary key (batch_id, expectation)
);

-- grain: one row per site source; key: site_code, source_name
create table if not exists meta.watermark (
    site_code varchar not null,
    source_name varchar not null,
    state varchar not null,
    batch_id varchar,
    updated_at timestamp,
    primary key (site_code, source_name)
);

-- grain: one row per local-to-national code mapping in force; key: site_code, dataset, column_name, local_value
create table if not exists meta.code_map (
    site_code varchar not null,
    dataset varchar not null,
    column_name varchar not null,
    local_value varchar not null,
    national_value varchar,
    primary key (site_code, dataset, column_name, local_value)
);

-- grain: one row per pipeline run; key: run_id
create table if not exists meta.pipeline_run (
    run_id varchar primary key,
    started_at timestamp,
    finished_at timestamp,
    status varchar,
    sites varchar,
    failed varchar
);

-- grain: one row per configured site or publisher; key: site_code
create table if not exists meta.site (
    site_code varchar primary key,
    site_name varchar,
    trust_type varchar,
    region varchar,
    role varchar,
    config_path varchar
);

-- grain: one row per version of a site's benefit register; key: site_code, version
create table if not exists meta.register_version (
    site_code varchar not null,
    version varchar not null,
    recorded_at timestamp,
    benefits bigint,
    changes varchar
);

-- grain: one row per register version: the register's entries as JSON, to say what changed; key: site_code, version
create table if not exists meta.register_entries (
    site_code varchar not null,
    version varchar not null,
    entries varchar
);

-- grain: one row per `benefits publish`; key: as_of_month, site_code, published_at
create table if not exists meta.publication (
    as_of_month date not null,
    site_code varchar,
    published_at timestamp,
    local_rows bigint,
    national_rows bigint
);
