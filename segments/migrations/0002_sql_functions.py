"""SQL helpers the filter compiler uses to read JSON values without ever raising.

A malformed attribute ("birthday": "soon") must make one condition false for one
contact, not fail a segment for the whole workspace; so every cast is guarded (CASE
evaluates its branches in order). segments/filters/values.py is the Python twin of these
functions and the property tests hold the two to the same answers.
"""

from django.db import migrations

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION segments_json_text(v jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v)
    WHEN 'string' THEN v #>> '{}'
    WHEN 'number' THEN CASE WHEN v::text ~ '^-?[0-9]+$' THEN v::text END
  END
$$;

CREATE OR REPLACE FUNCTION segments_json_number(v jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE jsonb_typeof(v)
    WHEN 'number' THEN (v #>> '{}')::numeric
    WHEN 'string' THEN CASE WHEN (v #>> '{}') ~ '^-?[0-9]+(\.[0-9]+)?$'
                            THEN (v #>> '{}')::numeric END
  END
$$;

CREATE OR REPLACE FUNCTION segments_safe_date(v text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
    CASE WHEN substr(v, 1, 4) BETWEEN '1000' AND '9998'
              AND substr(v, 6, 2) BETWEEN '01' AND '12' THEN
      CASE WHEN substr(v, 9, 2)::int BETWEEN 1 AND extract(day FROM
                  make_date(substr(v, 1, 4)::int, substr(v, 6, 2)::int, 1)
                  + interval '1 month' - interval '1 day')::int
           THEN v::date END
    END
  END
$$;

CREATE OR REPLACE FUNCTION segments_safe_timestamptz(v text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN m IS NULL OR segments_safe_date(m[1]) IS NULL THEN NULL
    WHEN coalesce(m[2], '00') > '23' OR coalesce(m[3], '00') > '59'
         OR coalesce(m[4], '00') > '59' THEN NULL
    WHEN m[6] IS NOT NULL AND m[6] <> 'Z'
         AND (substr(replace(m[6], ':', ''), 2, 2) > '14'
              OR coalesce(nullif(substr(replace(m[6], ':', ''), 4, 2), ''), '00') > '59') THEN NULL
    ELSE (m[1] || ' ' || coalesce(m[2], '00') || ':' || coalesce(m[3], '00') || ':'
          || coalesce(m[4], '00') || coalesce('.' || m[5], '')
          || CASE WHEN m[6] IS NULL OR m[6] = 'Z' THEN '+00:00'
                  ELSE substr(replace(m[6], ':', ''), 1, 3) || ':'
                       || coalesce(nullif(substr(replace(m[6], ':', ''), 4, 2), ''), '00')
             END)::timestamptz
  END
  FROM (SELECT regexp_match(v,
    '^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$'
  ) AS m) parsed
$$;

CREATE OR REPLACE FUNCTION segments_json_date(v jsonb) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN segments_safe_date(v #>> '{}') END
$$;

CREATE OR REPLACE FUNCTION segments_json_timestamptz(v jsonb) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN segments_safe_timestamptz(v #>> '{}') END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS segments_json_timestamptz(jsonb);
DROP FUNCTION IF EXISTS segments_json_date(jsonb);
DROP FUNCTION IF EXISTS segments_safe_timestamptz(text);
DROP FUNCTION IF EXISTS segments_safe_date(text);
DROP FUNCTION IF EXISTS segments_json_number(jsonb);
DROP FUNCTION IF EXISTS segments_json_text(jsonb);
"""


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial")]

    operations = [migrations.RunSQL(FUNCTIONS, DROP)]
