"""A streaming ``multipart/form-data`` parser (RFC 7578) for package uploads.

Tornado's own parser needs the whole body in memory and caps the number of parts (100 since
6.5.5), which breaks twine uploads of wheels with many classifiers (shared/pypi-protocol.md §4).
This one is fed the body as it arrives and emits events, so file parts can go straight to disk.
Header blocks and the memory used for buffering are bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from ..errors import InvalidInputError

MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class PartStart:
    name: str
    filename: str | None


@dataclass(frozen=True)
class PartData:
    data: bytes | memoryview
    """A view of the received bytes (no copy; they are immutable)."""


@dataclass(frozen=True)
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd


def boundary_of(content_type: str) -> bytes:
    """Raises InvalidInputError unless ``multipart/form-data`` with a boundary."""
    msg = Message()
    msg["Content-Type"] = content_type
    boundary = msg.get_param("boundary")
    if msg.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise InvalidInputError("Expected a multipart/form-data body with a boundary.")
    if not 1 <= len(boundary) <= 200:
        raise InvalidInputError("Invalid multipart boundary.")
    return boundary.encode("latin-1")


class MultipartParser:
    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._buffer = b"\r\n"  # lets the first boundary match the same delimiter
        self._state = "preamble"

    @property
    def complete(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes | memoryview) -> list[Event]:
        """Consume ``data``; raises InvalidInputError on malformed input."""
        self._buffer += data
        events: list[Event] = []
        while True:
            if self._state == "preamble":
                i = self._buffer.find(self._delimiter)
                if i < 0:
                    self._buffer = self._buffer[-len(self._delimiter) :]
                    return events
                self._buffer = self._buffer[i + len(self._delimiter) :]
                self._state = "after-delimiter"
            elif self._state == "after-delimiter":
                if len(self._buffer) < 2:
                    return events
                if self._buffer.startswith(b"--"):
                    self._state = "done"
                    self._buffer = b""
                    return events
                # transport padding then CRLF
                j = self._buffer.find(b"\r\n")
                if j < 0:
                    if len(self._buffer) > 1024:
                        raise InvalidInputError("Malformed multipart body (boundary line).")
                    return events
                if self._buffer[:j].strip(b" \t"):
                    raise InvalidInputError("Malformed multipart body (text after a boundary).")
                self._buffer = self._buffer[j + 2 :]
                self._state = "headers"
            elif self._state == "headers":
                j = self._buffer.find(b"\r\n\r\n")
                if j < 0:
                    if len(self._buffer) > MAX_HEADER_BYTES:
                        raise InvalidInputError("Multipart part headers are too large.")
                    return events
                events.append(self._part_start(self._buffer[:j]))
                self._buffer = self._buffer[j + 4 :]
                self._state = "body"
            elif self._state == "body":
                i = self._buffer.find(self._delimiter)
                if i < 0:
                    # Keep a tail that might be the start of the delimiter.
                    keep = len(self._delimiter) - 1
                    if len(self._buffer) > keep:
                        events.append(PartData(memoryview(self._buffer)[:-keep]))
                        self._buffer = self._buffer[-keep:]
                    return events
                if i:
                    events.append(PartData(memoryview(self._buffer)[:i]))
                events.append(PartEnd())
                self._buffer = self._buffer[i + len(self._delimiter) :]
                self._state = "after-delimiter"
            else:  # done: ignore the epilogue
                self._buffer = b""
                return events

    @staticmethod
    def _part_start(raw: bytes) -> PartStart:
        msg = Message()
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                msg[name.strip()] = value.strip()
        disposition = msg.get("Content-Disposition")
        if disposition is None:
            raise InvalidInputError("A multipart part lacks Content-Disposition.")
        field = msg.get_param("name", header="content-disposition")
        filename = msg.get_param("filename", header="content-disposition")
        if not isinstance(field, str):
            raise InvalidInputError("A multipart part lacks a field name.")
        return PartStart(field, filename if isinstance(filename, str) else None)
