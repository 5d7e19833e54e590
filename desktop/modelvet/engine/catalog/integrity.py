"""Is the catalog the one that was published? Its sha256 manifest, and Ed25519 signatures.

Every catalog folder carries MANIFEST.sha256 (`sha256sum -c` reads it): the hash of each of its
files. At start-up the active catalog is checked against it; a changed, missing or added file is
named and the app says it runs an altered catalog. A catalog update travels as one archive with
a detached Ed25519 signature (`FILE.sig`) from a key the installation trusts
(`trusted-keys.txt` in the bundled catalog, which the manifest covers, plus the file that
MODELVET_TRUSTED_KEYS names).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from modelvet.engine.errors import ModelVetError

MANIFEST = "MANIFEST.sha256"
TRUSTED_KEYS = "trusted-keys.txt"
UNVERIFIED_MARK = "UNVERIFIED.json"  # written into a catalog imported with --unverified
NOT_COVERED = {MANIFEST, UNVERIFIED_MARK}


def _hash_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def catalog_files(root: Path) -> dict[str, str]:
    """sha256 of every file under `root` (by POSIX relative path), the manifest itself aside."""
    return {
        path.relative_to(root).as_posix(): _hash_file(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name not in NOT_COVERED and "__pycache__" not in path.parts
    }


def manifest_text(root: Path) -> str:
    return "".join(f"{digest}  {name}\n" for name, digest in catalog_files(root).items())


def write_manifest(root: Path) -> Path:
    from modelvet.engine.storage import atomic_write_text

    path = root / MANIFEST
    atomic_write_text(path, manifest_text(root))
    return path


def read_manifest(root: Path) -> dict[str, str] | None:
    path = root / MANIFEST
    if not path.is_file():
        return None
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise ModelVetError(f"line {number} is not `<sha256>  <file>`", str(path))
        entries[name] = digest
    return entries


@dataclass
class Integrity:
    """How the catalog folder differs from its manifest."""

    root: Path
    has_manifest: bool
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.has_manifest and not (self.changed or self.missing or self.added)


def check_manifest(root: Path) -> Integrity:
    expected = read_manifest(root)
    if expected is None:
        return Integrity(root, has_manifest=False)
    actual = catalog_files(root)
    return Integrity(
        root,
        has_manifest=True,
        changed=sorted(n for n in expected if n in actual and actual[n] != expected[n]),
        missing=sorted(n for n in expected if n not in actual),
        added=sorted(n for n in actual if n not in expected),
    )


def start_up_warnings(root: Path, must_have_manifest: bool) -> list[str]:
    """What the app says at start-up about the catalog it runs (nothing when all is well)."""
    warnings = []
    integrity = check_manifest(root)
    if not integrity.has_manifest and must_have_manifest:
        warnings.append(f"running an altered catalog: {root / MANIFEST} is missing")
    elif not integrity.intact and integrity.has_manifest:
        parts = [f"{name} changed" for name in integrity.changed]
        parts += [f"{name} missing" for name in integrity.missing]
        parts += [f"{name} added" for name in integrity.added]
        warnings.append(
            f"running an altered catalog: {', '.join(parts)} since its manifest ({root})"
        )
    mark = root / UNVERIFIED_MARK
    if mark.is_file():
        try:
            record = json.loads(mark.read_text(encoding="utf-8"))
        except ValueError:
            record = {}
        warnings.append(
            "running a catalog imported without a verified signature "
            f"({record.get('file', '?')}, {record.get('imported_at', '?')})"
        )
    return warnings


# --- Ed25519 signatures ------------------------------------------------------------------


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_key_line(public_raw: bytes, comment: str = "") -> str:
    return f"ed25519 {base64.b64encode(public_raw).decode()} {comment}".rstrip()


def trusted_keys(bundled_root: Path) -> dict[str, bytes]:
    """key id -> raw public key, from the bundled list and MODELVET_TRUSTED_KEYS."""
    files = [bundled_root / TRUSTED_KEYS]
    if extra := os.environ.get("MODELVET_TRUSTED_KEYS"):
        files.append(Path(extra))
    keys: dict[str, bytes] = {}
    for path in files:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            kind, _, rest = line.partition(" ")
            try:
                raw = base64.b64decode(rest.split()[0], validate=True)
            except (ValueError, IndexError) as error:
                raise ModelVetError(f"line {number}: not a public key", str(path)) from error
            if kind != "ed25519" or len(raw) != 32:
                raise ModelVetError(
                    f"line {number}: expected `ed25519 <base64 key> [comment]`", str(path)
                )
            keys[key_id(raw)] = raw
    return keys


def sign(payload: bytes, private_pem: bytes) -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ModelVetError("not an Ed25519 private key")
    public_raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {
        "algorithm": "ed25519",
        "key_id": key_id(public_raw),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "signature": base64.b64encode(key.sign(payload)).decode(),
    }


def verify(payload: bytes, signature: dict[str, str], keys: dict[str, bytes]) -> str:
    """The id of the trusted key that signed `payload`; ModelVetError saying why not."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    wanted = signature.get("key_id", "")
    if signature.get("algorithm") != "ed25519":
        raise ModelVetError(f"unsupported signature algorithm {signature.get('algorithm')!r}")
    if wanted not in keys:
        raise ModelVetError(f"signed by key {wanted!r}, which this installation does not trust")
    try:
        raw_signature = base64.b64decode(signature.get("signature", ""), validate=True)
        Ed25519PublicKey.from_public_bytes(keys[wanted]).verify(raw_signature, payload)
    except (InvalidSignature, ValueError) as error:
        raise ModelVetError(f"the signature by key {wanted} does not match the file") from error
    return wanted


def generate_key(private_path: Path) -> str:
    """A new Ed25519 key pair: the private key to `private_path` (0600), the public line back."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    public_raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return public_key_line(public_raw, private_path.stem)


def main(argv: list[str] | None = None) -> int:
    """`python -m modelvet.engine.catalog.integrity [--write] [FOLDER]`: check or rewrite."""
    import sys

    from modelvet.engine.catalog.loader import bundled_catalog_dir

    args = list(sys.argv[1:] if argv is None else argv)
    write = "--write" in args
    folders = [a for a in args if a != "--write"]
    root = Path(folders[0]) if folders else bundled_catalog_dir()
    if write:
        print(f"wrote {write_manifest(root)}")
        return 0
    warnings = start_up_warnings(root, must_have_manifest=True)
    for warning in warnings:
        print(warning, file=sys.stderr)
    return 1 if warnings else 0


if __name__ == "__main__":
    raise SystemExit(main())
