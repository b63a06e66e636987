"""An export of 100,000 commitments streams in flat memory, in every format (the assertion is on memory, never
on time). The measurement is bench/exports' own: a process of its own per format, peak RSS growth while the
whole export streams, after a small export of the same format has warmed the process up."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.exports.run import FORMATS, measured, prepare
from shared.db import create_engine
from tests.conftest import PG_URL, REDIS_URL

ROWS = 100_000
# Far below what holding the export would take: the CSV alone is about 55 MB, NDJSON 90 MB, and 100,000 rows as
# Python objects several hundred MB. Measured growth is 5-12 MB (bench/exports/RESULTS.md).
MAX_GROWTH_MB = 32


@pytest.mark.slow
@pytest.mark.postgres_only
async def test_100k_rows_export_in_flat_memory(engine: Any) -> None:
    url = make_url(PG_URL)
    url = url.set(database=f"{url.database}_exports_memory").render_as_string(hide_password=False)
    await prepare(url, ROWS)
    try:
        for fmt in FORMATS:
            result = measured(url, fmt, REDIS_URL)
            assert result["rows"] == ROWS
            if (
                fmt != "xlsx"
            ):  # every row arrived (CSV: and its header); XLSX is a zip, read back in test_exports
                assert result["lines"] == ROWS + (fmt == "csv"), result
            assert result["rss_growth_mb"] < MAX_GROWTH_MB, result
    finally:
        admin = create_engine(PG_URL, pool_size=1)
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        await admin.dispose()
