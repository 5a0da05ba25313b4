"""The lab's PowerShell parameter binder against Microsoft's catalogue (pure, no engine)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from hybridkit.lab._types import LabObject, LabSecureString
from hybridkit.lab.exchange import catalogue
from hybridkit.lab.exchange.catalogue import BindingError, bind_command, bind_pipeline_item, lookup

E2019 = "Exchange Server 2019"
E2010 = "Exchange Server 2010"
EXO = "Exchange Online"


def fails(spec: catalogue.CmdletSpec, params: list[tuple[str | None, object]], expects_input: bool = False):
    with pytest.raises(BindingError) as info:
        bind_command(spec, params, expects_input)
    return info.value.error


def test_products_and_cmdlet_availability() -> None:
    assert catalogue.product_for(False, "2016") == "Exchange Server 2016"
    assert catalogue.product_for(True) == EXO
    assert lookup("get-mailbox", E2019).name == "Get-Mailbox"  # case-insensitive
    assert lookup("Get-ExchangeServer", EXO) is None  # on-prem only
    assert lookup("Connect-ExchangeOnline", E2019) is None  # module cmdlet, online only
    assert lookup("Get-RecipientPermission", E2019) is None  # cloud only
    assert lookup("Get-MigrationBatch", E2010) is None  # 2013+
    assert lookup("Get-Nothing", E2019) is None


def test_command_not_found_message() -> None:
    err = catalogue.command_not_found("Get-Foo")
    assert err.message == (
        "The term 'Get-Foo' is not recognized as the name of a cmdlet, function, script file, or operable program. "
        "Check the spelling of the name, or if a path was included, verify that the path is correct and try again."
    )
    assert err.fully_qualified_error_id == "CommandNotFoundException"
    assert err.category == "ObjectNotFound"
    assert err.target == "Get-Foo"


def test_unknown_parameter_names_the_cmdlet_class_onprem_and_the_function_online() -> None:
    err = fails(lookup("Get-Mailbox", E2019), [("Bogus", 1)])
    assert err.message == "A parameter cannot be found that matches parameter name 'Bogus'."
    assert err.fully_qualified_error_id == "NamedParameterNotFound,Microsoft.Exchange.Management.RecipientTasks.GetMailbox"
    assert err.category == "InvalidArgument"
    err = fails(lookup("Get-Mailbox", EXO), [("Bogus", 1)])
    assert err.fully_qualified_error_id == "NamedParameterNotFound,Get-Mailbox"


def test_parameter_availability_follows_the_product() -> None:
    # LitigationHoldDuration is documented for 2013+ only; Arbitration is on-prem only.
    params = [("Identity", "ann"), ("LitigationHoldDuration", 365)]
    err = fails(lookup("Set-Mailbox", E2010), params)
    assert err.message == "A parameter cannot be found that matches parameter name 'LitigationHoldDuration'."
    assert bind_command(lookup("Set-Mailbox", E2019), params, False).params["LitigationHoldDuration"] == 365
    assert fails(lookup("Get-Mailbox", EXO), [("Arbitration", True)]).fully_qualified_error_id.startswith(
        "NamedParameterNotFound")


def test_names_case_aliases_and_prefixes() -> None:
    spec = lookup("Get-Mailbox", E2019)
    bound = bind_command(spec, [("identity", "ann"), ("RESULTS", "unlimited"), ("ea", "Stop")], False)
    assert bound.params == {"Identity": "ann", "ResultSize": "Unlimited", "ErrorAction": "Stop"}
    moves = lookup("Get-MoveRequest", EXO)
    assert bind_command(moves, [("MoveStatus", "synced")], False).params == {"Status": "Synced"}
    err = fails(spec, [("Ar", True)])
    assert err.message == ("Parameter cannot be processed because the parameter name 'Ar' is ambiguous. "
                           "Possible matches include: -Arbitration -Archive.")
    assert err.fully_qualified_error_id.startswith("AmbiguousParameter,")


def test_positional_and_duplicate_parameters() -> None:
    spec = lookup("Get-Mailbox", E2019)
    assert bind_command(spec, [(None, "ann@contoso.com")], False).params == {"Identity": "ann@contoso.com"}
    err = fails(spec, [(None, "a"), (None, "b")])
    assert err.message == "A positional parameter cannot be found that accepts argument 'b'."
    assert err.fully_qualified_error_id.startswith("PositionalParameterNotFound,")
    err = fails(spec, [("Identity", "a"), ("identity", "b")])
    assert err.fully_qualified_error_id.startswith("ParameterAlreadyBound,")
    assert "is specified more than once" in err.message


def test_parameter_set_resolution_and_mandatory() -> None:
    spec = lookup("Get-Mailbox", E2019)
    err = fails(spec, [("Identity", "a"), ("Anr", "b")])
    assert err.message == "Parameter set cannot be resolved using the specified named parameters."
    assert err.fully_qualified_error_id.startswith("AmbiguousParameterSet,")
    assert bind_command(spec, [("Anr", "ann")], False).parameter_set == "AnrSet"
    assert bind_command(spec, [], False).parameter_set == "Identity"
    err = fails(lookup("Set-Mailbox", E2019), [("LitigationHoldEnabled", True)])
    assert err.message == "Cannot process command because of one or more missing mandatory parameters: Identity."
    assert err.fully_qualified_error_id == "MissingMandatoryParameter,Microsoft.Exchange.Management.RecipientTasks.SetMailbox"
    # With input to come, a pipeline-bindable mandatory parameter may arrive later ...
    assert bind_command(lookup("Set-Mailbox", E2019), [("LitigationHoldEnabled", True)], True).pipeline_params
    # ... but one that no input can supply is missing at once.
    err = fails(lookup("New-AcceptedDomain", E2019), [("Name", "x")], expects_input=True)
    assert err.message.endswith("missing mandatory parameters: DomainName.")
    err = fails(lookup("Set-Mailbox", E2019), [("Identity", None)])
    assert err.message == "Cannot bind argument to parameter 'Identity' because it is null."


@pytest.mark.parametrize(
    ("cmdlet", "param", "value", "expected"),
    [
        ("Set-Mailbox", "LitigationHoldEnabled", 1, True),
        ("Set-Mailbox", "LitigationHoldEnabled", False, False),
        ("Get-Mailbox", "ResultSize", "25", 25),
        ("Get-Mailbox", "ResultSize", "UNLIMITED", "Unlimited"),
        ("Set-MoveRequest", "CompleteAfter", "2021-05-06 14:30:00z", dt.datetime(2021, 5, 6, 14, 30, tzinfo=dt.timezone.utc)),
        ("Set-MoveRequest", "CompleteAfter", "7/30/2020 9:00PM -700",
         dt.datetime(2020, 7, 30, 21, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))),
        ("Set-MoveRequest", "CompleteAfter", "2026-11-28T06:00:00", dt.datetime(2026, 11, 28, 6, tzinfo=dt.timezone.utc)),
        ("Get-Mailbox", "RecipientTypeDetails", "sharedmailbox", ["SharedMailbox"]),
        ("Get-Mailbox", "RecipientTypeDetails", ["UserMailbox", "RoomMailbox"], ["UserMailbox", "RoomMailbox"]),
        ("New-AcceptedDomain", "DomainType", "internalrelay", "InternalRelay"),
        ("Set-Mailbox", "EmailAddresses", "smtp:a@contoso.com", ["smtp:a@contoso.com"]),
        ("Set-Mailbox", "EmailAddresses", {"add": "smtp:b@contoso.com", "Remove": ["smtp:c@contoso.com"]},
         {"Add": ["smtp:b@contoso.com"], "Remove": ["smtp:c@contoso.com"]}),
        ("New-MigrationBatch", "CSVData", [69, 10], b"E\n"),
    ],
)
def test_value_conversion(cmdlet: str, param: str, value: object, expected: object) -> None:
    spec = lookup(cmdlet, EXO if cmdlet in ("New-MigrationBatch",) else E2019)
    converted = catalogue._convert(spec, spec.params[param], value)
    assert converted == expected


def test_conversion_errors_use_powershell_wording() -> None:
    spec = lookup("Set-Mailbox", E2019)
    err = fails(spec, [("Identity", "a"), ("LitigationHoldEnabled", "yes")])
    assert err.message == (
        "Cannot process argument transformation on parameter 'LitigationHoldEnabled'. Cannot convert value "
        '"System.String" to type "System.Boolean". Boolean parameters accept only Boolean values and numbers, such '
        "as $True, $False, 1 or 0."
    )
    assert err.fully_qualified_error_id.startswith("ParameterArgumentTransformationError,")
    err = fails(lookup("Get-Mailbox", E2019), [("ResultSize", "lots")])
    assert err.message == ("Cannot bind parameter 'ResultSize'. Cannot convert value \"lots\" to type "
                           "\"Microsoft.Exchange.Data.Unlimited`1[System.UInt32]\". Error: \"Input string was not in "
                           "a correct format.\"")
    assert err.fully_qualified_error_id.startswith("CannotConvertArgumentNoMessage,")
    err = fails(lookup("New-AcceptedDomain", E2019), [("Name", "x"), ("DomainName", "x.com"), ("DomainType", "Relay")])
    assert err.message == (
        "Cannot bind parameter 'DomainType'. Cannot convert value \"Relay\" to type "
        "\"Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType\". Error: \"Unable to match the "
        "identifier name Relay to a valid enumerator name. Specify one of the following enumerator names and try "
        "again:\r\nAuthoritative, ExternalRelay, InternalRelay\""
    )
    err = fails(lookup("Get-Mailbox", E2019), [("RecipientTypeDetails", "Mailbox")])
    assert "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails" in err.message
    assert "UserMailbox, LinkedMailbox, SharedMailbox" in err.message
    err = fails(lookup("Set-MoveRequest", E2019), [("Identity", "a"), ("CompleteAfter", "soon")])
    assert err.message.endswith('to type "System.DateTime". Error: "String was not recognized as a valid DateTime."')
    err = fails(lookup("Get-Mailbox", E2019), [("Identity", ["a", "b"])])
    assert "Cannot convert 'System.Object[]' to the type 'Microsoft.Exchange.Configuration.Tasks.MailboxIdParameter'" \
        in err.message
    err = fails(lookup("Connect-ExchangeOnline", EXO), [("CertificatePassword", "plain")])
    assert "System.Security.SecureString" in err.message
    ok = bind_command(lookup("Connect-ExchangeOnline", EXO), [("CertificatePassword", LabSecureString("p"))], False)
    assert ok.params["CertificatePassword"] == LabSecureString("p")
    err = fails(lookup("Get-Mailbox", E2019), [("Identity", "a"), ("ErrorAction", "Explode")])
    assert "System.Management.Automation.ActionPreference" in err.message


def test_guid_conversion() -> None:
    spec = lookup("Get-MigrationUser", EXO)
    value = str(uuid.uuid4())
    assert bind_command(spec, [("MailboxGuid", value)], False).params["MailboxGuid"] == uuid.UUID(value)
    err = fails(spec, [("MailboxGuid", "not-a-guid")])
    assert err.message.endswith('Error: "Guid should contain 32 digits with 4 dashes '
                                '(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."')


def test_pipeline_binding_by_value_and_by_property_name() -> None:
    get = bind_command(lookup("Get-Mailbox", E2019), [], True)
    assert bind_pipeline_item(get, "ann@contoso.com") == ({"Identity": "ann@contoso.com"}, "Identity")
    mailbox = LabObject(["Microsoft.Exchange.Data.Directory.Management.Mailbox"],
                        {"Identity": "contoso.com/Corp/Sales/Users/Ann Lee", "Database": "DB01"})
    assert bind_pipeline_item(get, mailbox)[0] == {"Identity": "contoso.com/Corp/Sales/Users/Ann Lee"}
    # Set-Mailbox -Identity takes pipeline input by property name only (field notes): strings do not bind.
    put = bind_command(lookup("Set-Mailbox", E2019), [("LitigationHoldEnabled", True)], True)
    with pytest.raises(BindingError) as info:
        bind_pipeline_item(put, "ann@contoso.com")
    assert info.value.error.message == (
        "The input object cannot be bound to any parameters for the command either because the command does not take "
        "pipeline input or the input and its properties do not match any of the parameters that take pipeline input."
    )
    assert info.value.error.fully_qualified_error_id.startswith("InputObjectNotBound,")
    assert info.value.error.target == "ann@contoso.com"
    params, _ = bind_pipeline_item(put, mailbox)
    assert params == {"LitigationHoldEnabled": True, "Identity": "contoso.com/Corp/Sales/Users/Ann Lee"}
    custom = LabObject(["System.Management.Automation.PSCustomObject"], {"identity": "ann"})
    assert bind_pipeline_item(put, custom)[0]["Identity"] == "ann"


def test_common_parameters_and_whatif_are_accepted() -> None:
    spec = lookup("Set-Mailbox", E2019)
    bound = bind_command(spec, [("Identity", "a"), ("WhatIf", True), ("Confirm", False), ("WarningAction", "silentlycontinue"),
                                ("Verbose", True)], False)
    assert bound.params["WarningAction"] == "SilentlyContinue"
    assert bound.params["WhatIf"] is True and bound.params["Confirm"] is False
    # Windows PowerShell 5.1 (on-prem Exchange) has no -ProgressAction; the EXO jump host's PowerShell 7 does.
    assert fails(spec, [("Identity", "a"), ("ProgressAction", "SilentlyContinue")]).message.startswith(
        "A parameter cannot be found")
    assert bind_command(lookup("Set-Mailbox", EXO), [("Identity", "a"), ("ProgressAction", "Ignore")], False)


def test_parameter_sets_follow_the_product() -> None:
    # Sets whose mandatory parameters don't exist on a product don't exist there (derived_applicable) ...
    assert "MigrationRemoteLegacy" not in lookup("New-MoveRequest", EXO).sets
    assert "MigrationRemoteLegacy" in lookup("New-MoveRequest", E2019).sets
    assert "MigrationMRSInstance" not in lookup("Get-MoveRequestStatistics", E2019).sets
    # ... and per-platform twins resolve to this platform's set.
    stats = [("Identity", "ann@contoso.com")]
    assert bind_command(lookup("Get-MoveRequestStatistics", EXO), stats, False).parameter_set == "IdentityCloud"
    assert bind_command(lookup("Get-MoveRequestStatistics", E2019), stats, False).parameter_set == "IdentityOnPremises"
