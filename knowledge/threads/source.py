"""An export on disk: a folder or a .zip, read the same way, and which kind it is.

A Slack export is a folder (or the .zip Slack hands out) with
``channels.json`` and ``users.json`` beside a folder of daily files per
channel. A DiscordChatExporter export is a JSON file per channel or thread
(``guild``, ``channel``, ``messages``), or a folder of them. A zip is read
in place, member by member, never extracted; its declared sizes are
checked first (a zip bomb is refused, and zipfile never inflates a member
beyond its declared size).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

MAX_EXPORT_BYTES = 8 << 30  # uncompressed; a community's whole history fits well within
MAX_FILE_BYTES = 2 << 30


class ExportError(ValueError):
    """The export cannot be imported; the message names the file and where in it."""


class ExportFiles:
    """The files of an export, by their path relative to its top (``a/b.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        self._names: dict[str, int] = {}
        self._single: Path | None = None
        if path.is_dir():
            for file in path.rglob("*"):
                if file.is_file():
                    self._names[file.relative_to(path).as_posix()] = file.stat().st_size
        elif path.suffix.lower() != ".zip":  # one exported file
            if not path.is_file():
                raise ExportError(f"{path}: no such file or folder")
            self._single = path
            self._names[path.name] = path.stat().st_size
        else:
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise ExportError(f"{path.name}: not a readable .zip file ({exc})") from exc
            infos = [i for i in self._zip.infolist() if not i.is_dir()]
            total = sum(i.file_size for i in infos)
            big = next((i for i in infos if i.file_size > MAX_FILE_BYTES), None)
            if total > MAX_EXPORT_BYTES or big is not None:
                raise ExportError(f"{path.name}: too large once unpacked ({total:,} bytes"
                                  f"{'; ' + big.filename + ' alone is ' + format(big.file_size, ',') if big else ''}"
                                  "): is it really an export?")
            self._names = {i.filename: i.file_size for i in infos}
            # A zip of the export's folder puts everything under one top folder.
            tops = {n.split("/", 1)[0] for n in self._names if "/" in n}
            if len(tops) == 1 and not any("/" not in n for n in self._names):
                self._prefix = tops.pop() + "/"
            self._names = {n[len(self._prefix):]: size for n, size in self._names.items()}

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ExportFiles:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exists(self, name: str) -> bool:
        return name in self._names

    def size(self, name: str) -> int:
        return self._names.get(name, 0)

    def names(self) -> list[str]:
        return sorted(self._names)

    def folder(self, folder: str) -> list[str]:
        """The files directly inside ``folder``, sorted."""
        prefix = folder.rstrip("/") + "/"
        return sorted(n for n in self._names if n.startswith(prefix) and "/" not in n[len(prefix):])

    def open(self, name: str) -> IO[str]:
        if name not in self._names:
            raise ExportError(f"{self.name}: {name} is missing")
        try:
            if self._zip is not None:
                raw: IO[bytes] = self._zip.open(self._prefix + name)
            elif self._single is not None:
                raw = self._single.open("rb")
            else:
                raw = (self.path / PurePosixPath(name)).open("rb")
        except (OSError, zipfile.BadZipFile) as exc:
            raise ExportError(f"{self.name}: cannot read {name} ({exc})") from exc
        return io.TextIOWrapper(raw, encoding="utf-8-sig")


def export_kind(path: Path) -> str | None:
    """``slack``, ``discord`` or ``None`` (not an export: a knowledge file, say)."""
    if path.is_dir():
        if (path / "channels.json").is_file() or (path / "users.json").is_file():
            return "slack"
        if any(_is_discord_json(f) for f in sorted(path.glob("*.json"))[:20]):
            return "discord"
        return None
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                names = {n.rsplit("/", 1)[-1] for n in archive.namelist() if n.count("/") <= 1}
        except (zipfile.BadZipFile, OSError):
            return "slack"  # let the Slack reader say what is wrong with it
        if {"channels.json", "users.json", "org_users.json"} & names:
            return "slack"
        return None
    if path.suffix.lower() == ".json" and _is_discord_json(path):
        return "discord"
    return None


def _is_discord_json(path: Path) -> bool:
    """DiscordChatExporter writes ``{"guild": …`` first; a knowledge file is a list."""
    try:
        with path.open(encoding="utf-8-sig") as stream:
            head = stream.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return head.lstrip().startswith("{") and '"guild"' in head and '"channel"' in head
