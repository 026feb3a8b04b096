"""A local S3 server for tests: moto's server mode, in this process, on loopback.

    def test_x(s3_bucket):          # fixture, registered in tests/conftest.py
        url = s3_bucket             # "s3://<bucket>", empty; AWS_* variables point at the server
        fs, root = fsspec.core.url_to_fs(url)

Code under test reaches it exactly as it would reach real object storage: through s3fs and the
standard AWS_* variables (fake credentials, AWS_ENDPOINT_URL), set with monkeypatch, so nothing
outlives the test. For several tests sharing one server, use `moto_s3()` and `aws_env(...)` directly.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest

REGION = "eu-west-2"
FAKE_KEY_ID = "testing"
FAKE_SECRET = "testing"


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1 on a free port; yields its endpoint URL; stops it after."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def aws_env(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Point boto/s3fs at `endpoint` with fake credentials; hide any real AWS configuration."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    _forget_s3fs_instances()


def _forget_s3fs_instances() -> None:
    # fsspec caches one S3FileSystem per set of arguments; the environment is not among them, so an
    # instance made for an earlier server would keep talking to it.
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


def make_bucket(name: str | None = None) -> str:
    """Create a bucket on the server the AWS_* variables point at; returns its s3:// URL."""
    import s3fs

    name = name or f"benefits-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(name, region_name=REGION)
    return f"s3://{name}"


@pytest.fixture
def s3_bucket(monkeypatch) -> Iterator[str]:
    """An empty bucket on a fresh local S3 server, as `s3://<bucket>`; the server stops after the test."""
    with moto_s3() as endpoint:
        aws_env(monkeypatch, endpoint)
        yield make_bucket()
        _forget_s3fs_instances()
