"""The collector against S3-compatible storage: a moto server on loopback, reached through s3fs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pipeline.federation.collect import collect
from pipeline.federation.keys import load_registry
from pipeline.warehouse.core import Warehouse
from tests.pipeline.federation.collect_support import frames, site_keys, write_package


@pytest.fixture
def s3(monkeypatch):
    """A local S3 server for this test; s3fs finds it through the AWS_* variables, as in production."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server._server.server_port
    for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                 "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir("exchange")
    yield fs
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


def _upload(fs, folder, prefix: str) -> None:
    for f in sorted(folder.iterdir(), key=lambda f: f.name == "manifest.sig"):  # the signature last, as a site does
        fs.pipe_file(f"{prefix}/{folder.name}/{f.name}", f.read_bytes())


def test_collect_from_s3(s3, tmp_path):
    private, path = site_keys(tmp_path / "home", ["RAA", "RBB"])
    local = tmp_path / "outbox"
    good = write_package(local, private["RAA"], "RAA", "2025-04", "2025-06", dt.datetime(2025, 7, 10, 9))
    data = frames("RBB", "2025-04", "2025-06")
    data["benefit_spc"].loc[0, "numerator"] = 2.0
    bad = write_package(local, private["RBB"], "RBB", "2025-04", "2025-06", dt.datetime(2025, 7, 11, 9), data=data)
    incomplete = write_package(local, private["RBB"], "RBB", "2025-07", "2025-07", dt.datetime(2025, 8, 1, 9), signed=False)
    for folder in (good, bad, incomplete):
        _upload(s3, folder, "exchange/national/inbox")
    wh = Warehouse(f"duckdb:///{tmp_path / 'collector.duckdb'}")
    try:
        result = collect("s3://exchange/national", wh, load_registry(path), threshold=7, today=dt.date(2026, 12, 4))
        assert {p.package: p.status for p in result.packages} == {good.name: "accepted", bad.name: "rejected"}
        assert wh.scalar("select count(*) from collected.measures where package = :p", {"p": good.name}) == 6
    finally:
        wh.dispose()
    s3.invalidate_cache()
    files = set(s3.find("exchange/national"))
    assert f"exchange/national/accepted/{good.name}/manifest.sig" in files
    assert f"exchange/national/rejected/{bad.name}/benefit_spc.parquet" in files
    assert not [f for f in files if f"/inbox/{good.name}" in f or f"/inbox/{bad.name}" in f]
    assert {f.rsplit("/", 1)[1] for f in files if f"/inbox/{incomplete.name}/" in f} == {
        "manifest.json", "measures.parquet", "benefits.parquet", "benefit_spc.parquet", "dq_rows.parquet", "dq_rules.parquet",
        "unplanned.parquet"}
    receipt = json.loads(s3.cat_file(f"exchange/national/receipts/{bad.name}.json"))
    assert receipt["status"] == "rejected" and "numerator 2 is from 1 to the threshold 7" in receipt["reasons"][0]
