"""Site signing keys: owner-only files, a public line that round-trips, rotation that keeps the old
key, and a command that never prints the private key."""

from __future__ import annotations

import base64
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.federation.keys import (
    KeyProblem,
    init_key,
    load_private,
    load_registry,
    parse_public,
    private_path,
    public_text,
    sign,
    verify,
)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_files_are_owner_only_and_public_line_round_trips(tmp_path):
    public = init_key(tmp_path, "RF4")
    path = private_path(tmp_path, "RF4")
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    key = load_private(tmp_path, "RF4")
    assert public_text(key.public_key()) == public
    assert public_text(parse_public(public)) == public
    assert (path.parent / "RF4.pub").read_text().strip() == public


def test_rotate_keeps_the_old_key_and_both_verify_from_the_registry(tmp_path):
    old_public = init_key(tmp_path, "RF4")
    old_key = load_private(tmp_path, "RF4")
    with pytest.raises(KeyProblem, match="--rotate"):
        init_key(tmp_path, "RF4")
    new_public = init_key(tmp_path, "RF4", rotate=True)
    assert new_public != old_public
    kept = list(private_path(tmp_path, "RF4").parent.glob("RF4.key.*"))
    assert len(kept) == 1 and _mode(kept[0]) == 0o600
    kept_key = serialization.load_pem_private_key(kept[0].read_bytes(), password=None)
    assert public_text(kept_key.public_key()) == old_public
    # During rotation the registry holds both lines; a package signed with either verifies.
    registry = tmp_path / "registry.txt"
    registry.write_text(f"# national registry\nRF4 {old_public}\nRF4 {new_public}\n")
    keys = load_registry(registry)["RF4"]
    data = b"manifest"
    assert verify(keys, sign(old_key, data), data)
    assert verify(keys, sign(load_private(tmp_path, "RF4"), data), data)


def test_a_signature_from_another_key_or_of_other_bytes_fails(tmp_path):
    init_key(tmp_path, "RF4")
    init_key(tmp_path, "RRK")
    registry = load_registry(tmp_path / "keys")
    signature = sign(load_private(tmp_path, "RRK"), b"manifest")
    assert not verify(registry["RF4"], signature, b"manifest")
    assert verify(registry["RRK"], signature, b"manifest")
    assert not verify(registry["RRK"], signature, b"manifest!")


def test_a_private_key_others_can_read_is_refused(tmp_path):
    init_key(tmp_path, "RF4")
    private_path(tmp_path, "RF4").chmod(0o644)
    with pytest.raises(KeyProblem, match="chmod 600"):
        load_private(tmp_path, "RF4")


def test_keys_commands_print_the_public_key_never_the_private_one(tmp_path, monkeypatch):
    _register()
    monkeypatch.setenv("BENEFITS_HOME", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["keys", "init", "--site", "rf4"])
    assert result.exit_code == 0, result.output
    pem = private_path(tmp_path, "RF4").read_bytes()
    raw = load_private(tmp_path, "RF4").private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    secret_forms = [pem.decode(), *pem.decode().splitlines()[1:-1], base64.b64encode(raw).decode(), raw.hex()]
    assert not any(s and s in result.output for s in secret_forms)
    public = (tmp_path / "keys" / "RF4.pub").read_text().strip()
    assert f"RF4 {public}" in result.output and str(private_path(tmp_path, "RF4")) in result.output

    shown = runner.invoke(app, ["keys", "show", "--site", "RF4"])
    assert shown.exit_code == 0 and shown.output.strip() == f"RF4 {public}"

    again = runner.invoke(app, ["keys", "init", "--site", "RF4"])
    assert again.exit_code == 2 and "--rotate" in again.output and "Traceback" not in again.output
    assert runner.invoke(app, ["keys", "show", "--site", "ZZZ"]).exit_code == 2
    assert runner.invoke(app, ["keys", "init", "--site", "not-ods"]).exit_code == 2
