"""Ed25519 signing keys: one private key per site, kept by the site; public keys registered nationally.

The private key lives at `$BENEFITS_HOME/keys/<ODS>.key` (PKCS#8 PEM, mode 0600 in a 0700 folder)
and is never printed or logged. A public key is one line, `ed25519 <base64 of the 32 raw bytes>`,
short enough to send by email and check by eye. The national registry is a file of
`<ODS> ed25519 <base64>` lines (`#` comments) or a folder of `<ODS>.pub` files; a site may have
more than one key registered while it rotates.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_SITE = re.compile(r"^[A-Z0-9]{3,5}$")


class KeyProblem(ValueError):
    """A key or registry that cannot be used; the message names the file and line."""


def _check_site(site: str) -> str:
    if not _SITE.match(site):
        raise KeyProblem(f"site {site!r} is not an ODS code (3-5 capital letters or digits)")
    return site


def key_dir(home: Path) -> Path:
    return home / "keys"


def private_path(home: Path, site: str) -> Path:
    return key_dir(home) / f"{_check_site(site)}.key"


def public_text(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519 " + base64.b64encode(raw).decode("ascii")


def parse_public(text: str, where: str = "public key") -> Ed25519PublicKey:
    parts = text.split()
    if len(parts) != 2 or parts[0] != "ed25519":
        raise KeyProblem(f"{where}: expected 'ed25519 <base64>'")
    try:
        raw = base64.b64decode(parts[1], validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise KeyProblem(f"{where}: not a 32-byte Ed25519 public key in base64 ({exc})") from None


def init_key(home: Path, site: str, *, rotate: bool = False) -> str:
    """Make the site's key; returns its public key line. An existing key is kept unless `rotate`,
    which moves it aside (`<ODS>.key.<UTC time>`) so packages signed with it stay verifiable."""
    path = private_path(home, site)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    if path.exists():
        if not rotate:
            raise KeyProblem(f"{path} exists; use --rotate to make a new key (the old one is kept beside it)")
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        path.rename(path.with_name(f"{path.name}.{stamp}"))
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Created 0600 from the start: no moment when another user could read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public = public_text(key.public_key())
    (folder / f"{site}.pub").write_text(public + "\n", encoding="ascii")
    return public


def load_private(home: Path, site: str) -> Ed25519PrivateKey:
    path = private_path(home, site)
    if not path.exists():
        raise KeyProblem(f"no signing key for {site} at {path}: run `benefits keys init --site {site}`")
    if path.stat().st_mode & 0o077:
        raise KeyProblem(f"{path} is readable by others (mode {path.stat().st_mode & 0o777:o}); chmod 600 it")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise KeyProblem(f"{path}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"{path}: not an Ed25519 key")
    return key


def load_registry(path: Path) -> dict[str, list[Ed25519PublicKey]]:
    """Registered public keys by site, from a registry file or a folder of `<ODS>.pub` files."""
    path = Path(path)
    out: dict[str, list[Ed25519PublicKey]] = {}
    if path.is_dir():
        for f in sorted(path.glob("*.pub")):
            site = _check_site(f.stem)
            for n, line in enumerate(f.read_text(encoding="ascii").splitlines(), start=1):
                if line.strip() and not line.lstrip().startswith("#"):
                    out.setdefault(site, []).append(parse_public(line, f"{f} line {n}"))
    elif path.is_file():
        for n, line in enumerate(path.read_text(encoding="ascii").splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            site, _, rest = line.partition(" ")
            where = f"{path} line {n}"
            if not _SITE.match(site):
                raise KeyProblem(f"{where}: {site!r} is not an ODS code")
            out.setdefault(site, []).append(parse_public(rest.strip(), where))
    else:
        raise KeyProblem(f"key registry {path} does not exist")
    return out


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    return key.sign(data)


def verify(keys: list[Ed25519PublicKey], signature: bytes, data: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, data)
            return True
        except InvalidSignature:
            continue
    return False
