"""The sans-I/O WSMan layer: request parsing, envelopes and faults as pypsrp reads them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from pypsrp.wsman import NAMESPACES, OptionSet, SelectorSet, WSMan

from hybridkit.lab._types import LabCommand, LabSecureString
from hybridkit.lab.transport._audit import redact_parameters
from hybridkit.lab.transport._faults import FaultKind, FaultPlan, quota_fault
from hybridkit.lab.transport._wsman import Action, WSManFault, fault_envelope, parse_request, receive_response


def _client_request(action: str, body: ET.Element | None = None, timeout: int | None = None) -> bytes:
    wsman = WSMan("127.0.0.1", port=1, username="u", password="p", ssl=False, auth="basic", encryption="never",
                  max_envelope_size=51200)
    selectors = SelectorSet()
    selectors.add_option("ShellId", "3F2504E0-4F89-11D3-9A0C-0305E82C3301")
    options = OptionSet()
    options.add_option("WSMAN_CMDSHELL_OPTION_KEEPALIVE", "True")
    _, header = wsman._create_header(action, "http://schemas.microsoft.com/powershell/Microsoft.Exchange", options,
                                     selectors, timeout)
    envelope = ET.Element("{%s}Envelope" % NAMESPACES["s"])
    envelope.append(header)
    ET.SubElement(envelope, "{%s}Body" % NAMESPACES["s"]).extend([body] if body is not None else [])
    return ET.tostring(envelope)


def test_parse_request_reads_what_pypsrp_sends() -> None:
    receive = ET.Element("{%s}Receive" % NAMESPACES["rsp"])
    ET.SubElement(receive, "{%s}DesiredStream" % NAMESPACES["rsp"], CommandId="ABC").text = "stdout"
    request = parse_request(_client_request(Action.RECEIVE, receive, timeout=3))
    assert request.action == Action.RECEIVE
    assert request.resource_uri.endswith("/Microsoft.Exchange")
    assert request.shell_id == "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
    assert request.max_envelope_size == 51200
    assert request.operation_timeout == 3.0
    assert request.options == {"WSMAN_CMDSHELL_OPTION_KEEPALIVE": "True"}
    assert request.find("rsp:Receive/rsp:DesiredStream").get("CommandId") == "ABC"
    response = ET.fromstring(receive_response(request, "ABC", [b"\x00\x01"], done=True))
    state = response.find("s:Body/rsp:ReceiveResponse/rsp:CommandState", NAMESPACES)
    assert state.get("State").endswith("/Done")
    assert response.find("s:Header/wsa:RelatesTo", NAMESPACES).text == request.message_id


def test_faults_parse_as_pypsrp_wsman_fault_errors() -> None:
    for fault in (WSManFault.timed_out(), quota_fault(3), WSManFault.shell_not_found("X")):
        parsed = WSMan._parse_wsman_fault(fault_envelope(fault, "uuid:1").decode())
        assert parsed.code == fault.code
        assert parsed.reason == (fault.message or fault.reason)  # pypsrp prefers WSManFault/Message
    assert WSManFault.timed_out().code == 2150858793  # what pypsrp's poll_invoke re-polls on


def test_the_shell_quota_fault_is_winrms() -> None:
    # As WinRM answers (a WinRM client's test stub of a real fault): code 2150859173, s:Sender / w:QuotaLimit, a
    # general Reason and a Message naming the limit.
    envelope = ET.fromstring(fault_envelope(quota_fault(5), "uuid:1"))
    fault = envelope.find("s:Body/s:Fault", NAMESPACES)
    assert fault.find("s:Code/s:Value", NAMESPACES).text == "s:Sender"
    assert fault.find("s:Code/s:Subcode/s:Value", NAMESPACES).text == "w:QuotaLimit"
    assert fault.find("s:Reason/s:Text", NAMESPACES).text == (
        "The WS-Management service cannot process the request. The maximum number of concurrent shells for this user "
        "has been exceeded. Close existing shells or raise the quota for this user.")
    parsed = WSMan._parse_wsman_fault(ET.tostring(envelope).decode())
    assert parsed.code == 2150859173
    assert parsed.reason == ("The WS-Management service cannot process the request. This user is allowed a maximum "
                             "number of 5 concurrent shells, which has been exceeded. Close existing shells or raise "
                             "the quota for this user.")


@pytest.mark.parametrize(("data", "reason"), [
    (b"not xml", "The request is not well-formed XML: syntax error: line 1, column 0"),
    (b"<a/>", "The SOAP envelope has no Header or Body."),
])
def test_malformed_requests_are_faults_not_crashes(data: bytes, reason: str) -> None:
    with pytest.raises(WSManFault) as info:
        parse_request(data)
    fault = info.value
    assert (fault.soap_code, fault.subcode, fault.code, fault.http_status) == (
        "s:Sender", "wsman:InvalidParameter", 2150858817, 500)
    assert fault.reason == f"The WS-Management service cannot process the request. {reason}"


def test_fault_plan_never_faults_delete_or_receive_and_respects_kinds() -> None:
    plan = FaultPlan(fault_rate=1.0, kinds=(FaultKind.QUOTA,), seed=1)
    assert plan.decide(Action.DELETE).fault is None
    assert plan.decide(Action.RECEIVE).fault is None
    assert plan.decide(Action.COMMAND).fault is None  # quota only applies to Create
    assert plan.decide(Action.CREATE).fault is FaultKind.QUOTA
    assert FaultPlan(latency_ms=25).decide(Action.SEND).delay == 0.025


def test_lost_replies_are_opt_in_and_the_fault_cap_holds() -> None:
    assert FaultKind.LOST_REPLY not in FaultPlan().kinds  # not among the defaults
    assert not FaultPlan(fault_rate=1.0).lose_reply()
    plan = FaultPlan(fault_rate=1.0, kinds=(FaultKind.LOST_REPLY,), max_faults=1)
    assert plan.decide(Action.COMMAND).fault is None  # only ever a completing Receive, through lose_reply
    assert plan.lose_reply() and not plan.lose_reply()  # one fault in all


def test_redaction_hides_secret_names_and_secure_strings() -> None:
    command = LabCommand("Set-Thing", [("Identity", "a"), ("Password", "p"), ("Other", LabSecureString("s")),
                                       ("Options", {"ApiToken": "t", "Keep": 1}), (None, "positional")])
    assert redact_parameters(command) == [
        ["Identity", "a"], ["Password", "****"], ["Other", "****"], ["Options", {"ApiToken": "****", "Keep": 1}],
        [None, "positional"],
    ]
