-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as the
-- superuser: one role per tenant of the server, each owning only its own databases.
--   sso_app   the application (API and worker): the `sso` database, where its migrations run
--   temporal  the Temporal server: `temporal` and `temporal_visibility`
-- Passwords come from the container's environment (SSO_DB_PASSWORD, TEMPORAL_DB_PASSWORD).
\set ON_ERROR_STOP on
\getenv sso_password SSO_DB_PASSWORD
\getenv temporal_password TEMPORAL_DB_PASSWORD

CREATE ROLE sso_app LOGIN PASSWORD :'sso_password';
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';

CREATE DATABASE sso OWNER sso_app;
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;

-- Nobody else connects to another's databases (PUBLIC may connect to any database by default).
REVOKE CONNECT, TEMPORARY ON DATABASE sso FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE temporal FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE temporal_visibility FROM PUBLIC;
