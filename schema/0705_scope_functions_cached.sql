-- The per-row helpers of the policies (0701), as functions PostgreSQL plans once.
--
-- in_units, covers_scope and app_duty were SQL functions with a subquery: they
-- cannot be inlined, and an SQL function that is not inlined plans its body
-- again in every statement that calls it (about a millisecond a statement, then
-- 2-5 µs a row). In PL/pgSQL their plans last the session and a call costs about
-- 1.8 µs. unit_prefix was STRICT with a CASE body, which is not strict, so it
-- was never inlined either; without STRICT it inlines to its CASE (NULL still
-- gives NULL). The answers are the same.

CREATE OR REPLACE FUNCTION in_units(code text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    u text;
BEGIN
    FOREACH u IN ARRAY coalesce(string_to_array(trim(BOTH ',' FROM app_setting('units')), ','), '{}') LOOP
        IF inside(code, u) THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;

CREATE OR REPLACE FUNCTION covers_scope(prefix text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    u text;
BEGIN
    FOREACH u IN ARRAY coalesce(string_to_array(trim(BOTH ',' FROM app_setting('units')), ','), '{}') LOOP
        IF inside(u, prefix) THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;

CREATE OR REPLACE FUNCTION app_duty(category text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    d text;
BEGIN
    FOREACH d IN ARRAY coalesce(string_to_array(trim(BOTH ',' FROM app_setting('duties')), ','), '{}') LOOP
        IF inside(category, d) THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END $$;

CREATE OR REPLACE FUNCTION unit_prefix(code text) RETURNS text
LANGUAGE sql IMMUTABLE CALLED ON NULL INPUT PARALLEL SAFE
RETURN CASE
    WHEN code !~ '^[0-9]{12}$' THEN code
    WHEN substr(code, 7) = '000000' THEN substr(code, 1, 6)
    WHEN substr(code, 10) = '000' THEN substr(code, 1, 9)
    ELSE code
END;
