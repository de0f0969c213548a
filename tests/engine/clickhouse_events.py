"""The workflow of the ClickHouse pushdown test and benchmark (`bench/pushdown.py`): a `ch.query` step of an
`events` table read by one relational block, whose rows go to `out.csv`; and the connection to the embedded
engine or to the test server, as a config to fill the table through and as the workflow's resource text."""

from __future__ import annotations

from heddle_engine.modules.fhub import clickhouse
from tests.engine.clickhouse_servers import SERVER_PASSWORD, Server, embedded_folder

Connection = tuple[clickhouse.ConnectionConfig, str]  # to fill the table through; the resource's config text


def events_program(connection: str, query: str, block: str, *, second_reader: bool = False) -> str:
    """The workflow: step `events` runs `query` on `connection`, the relational `block` reads it and its rows
    go to out.csv. `second_reader`: `events` also goes to all.csv (a second reader: nothing is pushed)."""
    other = "\n  events\n    | io.write_csv { path: \"all.csv\" }\n" if second_reader else ""
    return f'''import "std/io" io
import "fhub/clickhouse" ch

resource ch_db = ch.connection {{
{connection}
}}

step events = <connection=ch_db> ch.query {{
  query: "{query}"
}}

workflow W {{
  events
    | (
    {block}
    )
    | io.write_csv {{ path: "out.csv" }}
{other}}}
'''


def embedded_connection(database: str) -> Connection:
    """Database `database` of this process's chdb folder."""
    folder = embedded_folder()
    return (clickhouse.ConnectionConfig(path=str(folder), database=database),
            f'  path: "{folder}"\n  database: "{database}"')


def server_connection(server: Server) -> Connection:
    """The test server over the native protocol as user `heddle`; the resource reads the password from
    `CH_PASSWORD` (the caller sets it to `SERVER_PASSWORD`)."""
    return (clickhouse.ConnectionConfig(host="127.0.0.1", port=server.native_port, protocol="native",
                                        user="heddle", password=SERVER_PASSWORD),
            f'  host: "127.0.0.1"\n  port: {server.native_port}\n  protocol: "native"\n'
            '  user: "heddle"\n  password: "env:CH_PASSWORD"')
