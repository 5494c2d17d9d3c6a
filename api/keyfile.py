"""Signing keys on disk: a note signer's private key in a file of its own, created once
(mode 0600, fsynced, linked into place) and checked at every start."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from concord.tlog.notes import NoteError, Signer


def load_or_create_signer(path: Path, name: str) -> Signer:
    """The signer kept in `path`, created (mode 0600, with its directories) if missing.
    A key file that group or others may access, or of another name, is refused."""
    try:
        return _load_signer(path, name)
    except FileNotFoundError:
        pass
    signer = Signer.generate(name)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written under a temporary name and linked into place, so that nobody ever reads a
    # half-written key and two first starts at once agree on one key.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(signer.private_key_string() + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return _load_signer(path, name)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    return signer


def _load_signer(path: Path, name: str) -> Signer:
    with open(path, encoding="utf-8") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NoteError(f"the signing key {path} is not a regular file")
        if mode & 0o077:
            raise NoteError(f"the signing key {path} has mode {stat.S_IMODE(mode):04o}: group "
                            f"and others must have no access to it (chmod 600 {path})")
        try:
            content = file.read()
        except UnicodeDecodeError:
            raise NoteError(f"the signing key {path} is not UTF-8 text") from None
    try:
        signer = Signer.parse(content.strip())
    except NoteError as error:
        raise NoteError(f"the signing key {path} is not a note signer key: {error}") from None
    if signer.name != name:
        raise NoteError(f"the signing key {path} is named {signer.name!r}, not {name!r}: use "
                        "the name it was created with, or another key file")
    return signer


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
