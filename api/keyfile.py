"""Signing keys on disk: a note signer's private key (the log's) or a witness's cosigning
key, each in a file of its own, created once (mode 0600, fsynced, linked into place) and
checked whenever it is loaded."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from concord.tlog.cosignature import Cosigner
from concord.tlog.notes import NoteError, Signer


def load_or_create_signer(path: Path, name: str) -> Signer:
    """The signer kept in `path`, created (mode 0600, with its directories) if missing.
    A key file that group or others may access, or of another name, is refused."""
    try:
        return _load_signer(path, name)
    except FileNotFoundError:
        pass
    signer = Signer.generate(name)
    if not _create_key_file(path, signer.private_key_string()):
        return _load_signer(path, name)  # another first start linked its key first
    return signer


def create_cosigner(path: Path, name: str) -> Cosigner:
    """A new witness key called `name`, written to `path` (mode 0600, with its directories);
    FileExistsError if `path` exists, which is left as it was."""
    cosigner = Cosigner.generate(name)
    if not _create_key_file(path, cosigner.private_key_string()):
        raise FileExistsError(f"{path} exists: a witness key is never overwritten")
    return cosigner


def load_cosigner(path: Path) -> Cosigner:
    """The witness key kept in `path`; NoteError if the file is not a key or group or others
    may access it."""
    content = _read_key_file(path, "the witness key")
    try:
        return Cosigner.parse(content.strip())
    except NoteError as error:
        raise NoteError(f"the witness key {path} is not a witness key: {error}") from None


def _load_signer(path: Path, name: str) -> Signer:
    content = _read_key_file(path, "the signing key")
    try:
        signer = Signer.parse(content.strip())
    except NoteError as error:
        raise NoteError(f"the signing key {path} is not a note signer key: {error}") from None
    if signer.name != name:
        raise NoteError(f"the signing key {path} is named {signer.name!r}, not {name!r}: use "
                        "the name it was created with, or another key file")
    return signer


def _read_key_file(path: Path, what: str) -> str:
    """The text of the key file `path`, once it is known to be a regular file that only its
    owner may access; NoteError if not (`what` names the key in messages)."""
    with open(path, encoding="utf-8") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NoteError(f"{what} {path} is not a regular file")
        if mode & 0o077:
            raise NoteError(f"{what} {path} has mode {stat.S_IMODE(mode):04o}: group "
                            f"and others must have no access to it (chmod 600 {path})")
        try:
            return file.read()
        except UnicodeDecodeError:
            raise NoteError(f"{what} {path} is not UTF-8 text") from None


def _create_key_file(path: Path, content: str) -> bool:
    """Write `content` and a newline to a new file `path`, mode 0600, with its directories;
    False, writing nothing, if `path` already exists."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Written under a temporary name and linked into place, so that nobody ever reads a
    # half-written key and two first starts at once agree on one key.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(content + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    fsync_directory(path.parent)
    return True


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (its new and renamed files) to disk."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
