"""PowerShell's out-of-process framing (``hybridkit.ps._oopframing``): each element as pwsh writes it, lines split
across reads, and bad input refused with a message that says what is wrong."""

from __future__ import annotations

import uuid

import pytest

from hybridkit.ps._oopframing import NIL_GUID, FramingError, Packet, PacketReader, encode, parse_line

PIPE = uuid.UUID("6c0fd8a3-1a1e-4d0c-9a4b-0f2b4c1e7d11")


def test_data_packets_are_written_as_pwsh_writes_them() -> None:
    assert encode(Packet("Data", NIL_GUID, b"\x00\x01hello")) == (
        b"<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>AAFoZWxsbw==</Data>\n")
    assert encode(Packet("Data", PIPE, b"x", "PromptResponse")).startswith(
        b"<Data Stream='PromptResponse' PSGuid='6c0fd8a3-1a1e-4d0c-9a4b-0f2b4c1e7d11'>")


@pytest.mark.parametrize("kind", ["DataAck", "Command", "CommandAck", "Signal", "SignalAck", "Close", "CloseAck"])
def test_every_guid_only_element_round_trips(kind: str) -> None:
    line = encode(Packet(kind, PIPE))
    assert line == f"<{kind} PSGuid='{PIPE}' />\n".encode()
    assert parse_line(line.decode()) == Packet(kind, PIPE)


def test_data_round_trips_and_double_quotes_and_long_form_are_read() -> None:
    packet = Packet("Data", PIPE, bytes(range(256)))
    assert parse_line(encode(packet).decode()) == packet
    assert parse_line(f'<CloseAck PSGuid="{NIL_GUID}"></CloseAck>') == Packet("CloseAck", NIL_GUID)


def test_a_packet_split_across_reads_waits_for_its_line_end() -> None:
    stream = encode(Packet("Data", NIL_GUID, b"a" * 1000)) + encode(Packet("DataAck", PIPE))
    reader = PacketReader()
    got: list[Packet] = []
    for i in range(0, len(stream), 7):
        got += reader.feed(stream[i : i + 7])
    assert got == [Packet("Data", NIL_GUID, b"a" * 1000), Packet("DataAck", PIPE)]
    assert reader.feed(b"<Signal PSGuid='") == [] and reader.pending == b"<Signal PSGuid='"
    assert reader.feed(f"{PIPE}' />\n\n".encode()) == [Packet("Signal", PIPE)]


@pytest.mark.parametrize(("line", "words"), [
    ("PowerShell 7.4.1", "not an out-of-process packet"),
    ("<Hello PSGuid='00000000-0000-0000-0000-000000000000' />", "unknown out-of-process element <Hello>"),
    ("<Data PSGuid='00000000-0000-0000-0000-000000000000'>AA==</Data>", "exactly the attribute(s) PSGuid, Stream"),
    ("<DataAck PSGuid='nope' />", "PSGuid that is not a GUID: 'nope'"),
    ("<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>***</Data>", "does not hold base64"),
    ("<Data Stream='Default' PSGuid='00000000-0000-0000-0000-000000000000'>AA==", "not closed on its line"),
    ("<Data Stream='Verbose' PSGuid='00000000-0000-0000-0000-000000000000'>AA==</Data>", "unknown Stream 'Verbose'"),
    ("<Close PSGuid='00000000-0000-0000-0000-000000000000' /> junk", "text after <Close />"),
])
def test_bad_lines_are_refused_with_what_is_wrong(line: str, words: str) -> None:
    with pytest.raises(FramingError) as caught:
        PacketReader().feed(line.encode() + b"\n")
    assert words in str(caught.value)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(FramingError, match="not UTF-8"):
        PacketReader().feed(b"\xff\xfe<Data\n")


def test_lines_ending_in_crlf_as_pwsh_on_windows_writes_them_are_read() -> None:
    assert PacketReader().feed(f"<CommandAck PSGuid='{PIPE}' />\r\n".encode()) == [Packet("CommandAck", PIPE)]
