-- The table configuration.postgresql reads (components/local/runtime-config.yaml) and the
-- trigger that announces every change on the `sc_configuration` channel, as the component's
-- subscriptions expect: {"table", "action", "data": {key, value, version, metadata}}, every
-- field a string (the component reads them as strings). A deleted key is announced with an
-- empty value and metadata {"deleted": "true"}: subscribers go back to their default.
-- Idempotent: scripts/stores.sh runs it on every start (the test harness too).
CREATE SEQUENCE IF NOT EXISTS sc_configuration_version;
CREATE TABLE IF NOT EXISTS sc_configuration (
  key text NOT NULL PRIMARY KEY,
  value text NOT NULL,
  version text NOT NULL DEFAULT nextval('sc_configuration_version')::text,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE OR REPLACE FUNCTION sc_configuration_notify() RETURNS trigger AS $$
DECLARE
  data json;
BEGIN
  IF TG_OP = 'DELETE' THEN
    data = json_build_object(
      'key', OLD.key, 'value', '', 'version', nextval('sc_configuration_version')::text,
      'metadata', json_build_object('deleted', 'true'));
  ELSE
    data = row_to_json(NEW);
  END IF;
  PERFORM pg_notify('sc_configuration',
    json_build_object('table', TG_TABLE_NAME, 'action', TG_OP, 'data', data)::text);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER sc_configuration_notify
  AFTER INSERT OR UPDATE OR DELETE ON sc_configuration
  FOR EACH ROW EXECUTE FUNCTION sc_configuration_notify();
