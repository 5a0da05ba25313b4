"""PowerShell's out-of-process framing: PSRP fragments as one XML element per line. Pure (no I/O).

What ``pwsh -s`` (and ``pwsh -sshs`` behind ``ssh -s HOST powershell``) reads on stdin and writes on stdout. Each
packet is one line:

* ``<Data Stream='Default' PSGuid='G'>BASE64</Data>`` - PSRP fragments (``Stream`` is ``Default`` or
  ``PromptResponse``) for the runspace pool (``G`` = the empty GUID) or the pipeline ``G``;
* ``<DataAck PSGuid='G' />`` - the receiver took a ``Data`` packet (the client sends its next one after it);
* ``<Command PSGuid='G' />`` / ``<CommandAck PSGuid='G' />`` - a new pipeline ``G`` (before its ``Data``);
* ``<Signal PSGuid='G' />`` / ``<SignalAck PSGuid='G' />`` - stop pipeline ``G``;
* ``<Close PSGuid='G' />`` / ``<CloseAck PSGuid='G' />`` - close pipeline ``G``, or the pool (empty GUID).

Followed: PowerShell's ``OutOfProcessUtils`` (``CreateDataPacket``, ``CreatePSGuidPacket`` and ``ProcessElement``
in src/System.Management.Automation/engine/remoting/fanin/OutOfProcTransportManager.cs, PowerShell/PowerShell):
the element and attribute names, single-quoted attributes, base64 payloads, one packet per line, and the checks
(a ``Data`` element carries exactly ``Stream`` and ``PSGuid``, the others exactly ``PSGuid``). This module only
turns packets into bytes and bytes into packets; ``_outofproc`` (client) and ``hybridkit.lab.transport._outofproc``
(server) do the talking.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import uuid

__all__ = ["KINDS", "NIL_GUID", "FramingError", "Packet", "PacketReader", "encode", "parse_line"]

NIL_GUID = uuid.UUID(int=0)  # the runspace pool's PSGuid
KINDS = ("Data", "DataAck", "Command", "CommandAck", "Signal", "SignalAck", "Close", "CloseAck")
STREAMS = ("Default", "PromptResponse")
MAX_LINE = 16 * 1024 * 1024  # a line longer than this is not a packet (a runaway or a wrong program on the pipe)

_ATTR = re.compile(r"""\s+([A-Za-z]+)\s*=\s*(?:'([^']*)'|"([^"]*)")""")
_OPEN = re.compile(r"^<([A-Za-z]+)((?:\s+[A-Za-z]+\s*=\s*(?:'[^']*'|\"[^\"]*\"))*)\s*(/?)>")


class FramingError(ValueError):
    """A line that is not an out-of-process packet (the message quotes the start of the line)."""


@dataclasses.dataclass(frozen=True)
class Packet:
    """One out-of-process packet. ``data`` and ``stream`` are for ``Data`` only."""

    kind: str
    guid: uuid.UUID = NIL_GUID
    data: bytes = b""
    stream: str = "Default"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown out-of-process packet kind {self.kind!r}")
        if self.stream not in STREAMS:
            raise ValueError(f"unknown out-of-process stream {self.stream!r}")


def encode(packet: Packet) -> bytes:
    """The packet as one line (UTF-8, ending in ``\\n``), as ``OutOfProcessUtils`` writes it."""
    if packet.kind == "Data":
        body = base64.b64encode(packet.data).decode("ascii")
        return f"<Data Stream='{packet.stream}' PSGuid='{packet.guid}'>{body}</Data>\n".encode("ascii")
    return f"<{packet.kind} PSGuid='{packet.guid}' />\n".encode("ascii")


def _shown(line: str) -> str:
    return line if len(line) <= 80 else line[:77] + "..."


def parse_line(line: str) -> Packet:
    """One line (without its newline) as a packet; ``FramingError`` says what is wrong with it."""
    text = line.strip()
    match = _OPEN.match(text)
    if match is None:
        raise FramingError(f"not an out-of-process packet: {_shown(text)!r}")
    kind, attr_text, self_closing = match.group(1), match.group(2), match.group(3)
    if kind not in KINDS:
        raise FramingError(f"unknown out-of-process element <{kind}> (expected one of {', '.join(KINDS)})")
    attrs = {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(attr_text)}
    expected = {"Stream", "PSGuid"} if kind == "Data" else {"PSGuid"}
    if set(attrs) != expected:
        raise FramingError(f"<{kind}> needs exactly the attribute(s) {', '.join(sorted(expected))} "
                           f"(got {', '.join(sorted(attrs)) or 'none'})")
    try:
        guid = uuid.UUID(attrs["PSGuid"])
    except ValueError:
        raise FramingError(f"<{kind}> has a PSGuid that is not a GUID: {attrs['PSGuid']!r}") from None
    rest = text[match.end():]
    if kind != "Data":
        if not self_closing and rest != f"</{kind}>":
            raise FramingError(f"<{kind}> must be empty: {_shown(text)!r}")
        if self_closing and rest:
            raise FramingError(f"text after <{kind} />: {_shown(rest)!r}")
        return Packet(kind, guid)
    stream = attrs["Stream"]
    if stream not in STREAMS:
        raise FramingError(f"<Data> has an unknown Stream {stream!r} (expected Default or PromptResponse)")
    if self_closing:
        return Packet(kind, guid, b"", stream)
    if not rest.endswith("</Data>"):
        raise FramingError(f"<Data> not closed on its line: {_shown(text)!r}")
    try:
        data = base64.b64decode(rest[: -len("</Data>")], validate=True)
    except (binascii.Error, ValueError):
        raise FramingError(f"<Data> does not hold base64: {_shown(rest)!r}") from None
    return Packet(kind, guid, data, stream)


class PacketReader:
    """Packets from a byte stream fed in arbitrary pieces (a packet may arrive across several reads).

    ``feed(chunk)`` returns the packets completed by ``chunk``; an incomplete last line waits for the next feed.
    Blank lines are skipped. A bad line raises ``FramingError``.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[Packet]:
        self._buffer += chunk
        packets: list[Packet] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE:
                    raise FramingError(f"an out-of-process line longer than {MAX_LINE} bytes")
                return packets
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            try:
                line = raw.decode("utf-8").lstrip("\ufeff")
            except UnicodeDecodeError:
                raise FramingError(f"not UTF-8 text: {raw[:60]!r}") from None
            if line.strip():
                packets.append(parse_line(line))

    @property
    def pending(self) -> bytes:
        """Bytes of an incomplete line still waiting for its end."""
        return bytes(self._buffer)
