"""A files connector whose source is unreachable for its first N extracts (a trust's file share
dropping out), or that hits a bug every time: the flows must retry the first and not the second.

Configured through the environment because each Prefect retry builds a new connector:
BENEFITS_TEST_FLAKY=<counter file>:<transient failures>|bug
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.base import TransientError
from connectors.files import FilesConnector


class FlakyFiles(FilesConnector):
    name = "flaky_files"

    def open_relation(self, con):
        counter, _, mode = os.environ["BENEFITS_TEST_FLAKY"].rpartition(":")
        path = Path(counter)
        calls = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(calls))
        if mode == "bug":
            raise KeyError("a bug in the connector")
        if calls <= int(mode):
            raise TransientError("connection refused by the trust file share")
        return super().open_relation(con)
