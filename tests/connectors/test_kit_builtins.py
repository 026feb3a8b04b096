"""Every built-in connector passes the standard kit, one line each (connectors/testing.py)."""

from connectors.testing import connector_tests
from tests.connectors.sources import FhirSource, FilesSource, NhsStatisticsSource, OdsSource, RestSource, SqlSource

TestFiles = connector_tests(FilesSource())
TestSqlPostgres = connector_tests(SqlSource("pg_url"))
TestSqlMariaDB = connector_tests(SqlSource("mariadb_url"))
TestRest = connector_tests(RestSource())
TestFhir = connector_tests(FhirSource())
TestNhsStatistics = connector_tests(NhsStatisticsSource())
TestOds = connector_tests(OdsSource())
