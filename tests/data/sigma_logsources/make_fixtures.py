#!/usr/bin/env python3
"""Writes the Windows event log records whose Sigma logsource comes from channel and event
id beyond Sysmon, in the three shapes of tests/data/windows (its make_shapes.py writes
them; this script only feeds it other records):

  Windows PowerShell 400, 600, 800   ps_classic_start / _provider_start / _script
                                     (unnamed data items, the last or middle one the
                                     Key=Value details rules read as Data)
  PowerShell/Operational 4103, 4104  ps_module / ps_script
  Firewall With Advanced Security    service firewall-as (2004: rule added)
  Security 4688 (two)                process_creation with Sigma's names (Image, ...)
  NTLM/Operational 8001              service ntlm (an outgoing NTLM to a TERMSRV target)
  AppXDeploymentServer 854           service appxdeployment-server (a package URI queued)
  Sysmon 16                          category sysmon_status (configuration state changed)

Unnamed data items take each shape's forms: Winlogbeat's param1..param3; flat records
param1..param3 (NXLog style) or a Data array (export style); evtx_dump's
"Data": {"#text": [...]} and, for one record, the plain array countersign's own .evtx
reader writes. The records and rules/ are the project's own (invented hosts, users and
paths), written after real records; no value holds a double quote (PowerShell quotes
parameter values: left out, as tests/processor/hostile_input_test.cpp rewrites every
value of the .ndjson fixtures up to its next quote). Rerun after editing:
    python3 tests/data/sigma_logsources/make_fixtures.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # nothing written beside make_shapes.py
sys.path.insert(0, os.path.join(HERE, "..", "windows"))
import make_shapes  # noqa: E402  (the shape writers)

CLASSIC = ("Windows PowerShell", "PowerShell", None)  # a classic event source: no provider GUID
POWERSHELL = make_shapes.POWERSHELL
SECURITY = make_shapes.SECURITY
SYSMON = make_shapes.SYSMON
NTLM = ("Microsoft-Windows-NTLM/Operational", "Microsoft-Windows-NTLM", "AC43300D-5FCC-4800-8E99-1BD3F85F0320")
APPX = ("Microsoft-Windows-AppXDeploymentServer/Operational", "Microsoft-Windows-AppXDeployment-Server",
        "3F471139-ACB7-4A01-B7A7-FF5DA4BA2D43")
FIREWALL = ("Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
            "Microsoft-Windows-Windows Firewall With Advanced Security", "D1BC9AFF-2ABF-4D71-9146-ECB2A986EB85")


def details(pairs):
    # PowerShell's details item: tab-indented Key=Value lines, CRLF, blank lines between groups.
    return "".join("\r\n" if k is None else f"\t{k}={v}\r\n" for k, v in pairs).rstrip("\r\n")


HOST_V2 = details([
    ("NewEngineState", "Available"), ("PreviousEngineState", "None"), (None, None),
    ("SequenceNumber", "13"), (None, None),
    ("HostName", "ConsoleHost"), ("HostVersion", "5.1.19041.4291"), ("HostId", "5d6a1b2c-3e4f-4a5b-8c7d-9e0f1a2b3c4d"),
    ("HostApplication", "powershell.exe -Version 2 -NoProfile -ExecutionPolicy Bypass -File C:\\Users\\oda\\Downloads\\inv.ps1"),
    ("EngineVersion", "2.0"), ("RunspaceId", "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"), ("PipelineId", ""),
    ("CommandName", ""), ("CommandType", ""), ("ScriptName", ""), ("CommandPath", ""), ("CommandLine", ""),
])
PROVIDER = details([
    ("ProviderName", "Registry"), ("NewProviderState", "Started"), (None, None),
    ("SequenceNumber", "1"), (None, None),
    ("HostName", "ConsoleHost"), ("HostVersion", "5.1.19041.4291"), ("HostId", "0b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d3e"),
    ("HostApplication", "powershell.exe -w hidden -c Set-MpPreference -DisableRealtimeMonitoring $true"),
    ("EngineVersion", ""), ("RunspaceId", ""), ("PipelineId", ""), ("CommandName", ""), ("CommandType", ""),
    ("ScriptName", ""), ("CommandPath", ""), ("CommandLine", ""),
])
PIPELINE = details([
    ("DetailSequence", "1"), ("DetailTotal", "1"), (None, None), ("SequenceNumber", "21"), (None, None),
    ("UserId", "CORP\\oda"), ("HostName", "ConsoleHost"), ("HostVersion", "5.1.19041.4291"),
    ("HostId", "5d6a1b2c-3e4f-4a5b-8c7d-9e0f1a2b3c4d"), ("HostApplication", "powershell.exe"),
    ("EngineVersion", "5.1.19041.4291"), ("RunspaceId", "7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d"), ("PipelineId", "3"),
    ("ScriptName", ""), ("CommandLine", "Get-Process lsass | Format-List *"),
])

# (record id, channel, event id, system time, computer, activity id, data, user data,
#  unnamed data items or None, evtx form of unnamed items: "text" or "array")
RECORDS = [
    (70201, CLASSIC, 400, "2026-11-03T08:15:02.118Z", "WKS-NAV-04.corp.example", None, None, None,
     ["Available", "None", HOST_V2], "text"),
    (70202, CLASSIC, 600, "2026-11-03T08:15:02.530Z", "WKS-NAV-04.corp.example", None, None, None,
     ["Registry", "Started", PROVIDER], "array"),
    (70203, CLASSIC, 800, "2026-11-03T08:16:40.004Z", "WKS-NAV-04.corp.example", None, None, None,
     ["Get-Process lsass | Format-List *", PIPELINE,
      "CommandInvocation(Get-Process): Get-Process\r\nParameterBinding(Get-Process): name=Name; value=lsass"], "text"),
    (70204, POWERSHELL, 4103, "2026-11-03T08:17:11.870Z", "WKS-NAV-04.corp.example", "3C4D5E6F-7A8B-0003-9C0D-1E2F3A4B5C6D", {
        "ContextInfo": "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n        Host Application = powershell.exe\r\n        Command Name = Get-Clipboard\r\n        Command Type = Cmdlet\r\n        User = CORP\\oda\r\n",
        "UserData": "",
        "Payload": "CommandInvocation(Get-Clipboard): Get-Clipboard\r\nParameterBinding(Get-Clipboard): name=Raw; value=True"},
     None, None, None),
    (70205, POWERSHELL, 4104, "2026-11-03T08:18:30.442Z", "WKS-NAV-04.corp.example", "3C4D5E6F-7A8B-0003-9C0D-1E2F3A4B5C6D", {
        "MessageNumber": "1", "MessageTotal": "1",
        "ScriptBlockText": "$u=[Ref].Assembly.GetType('System.Management.Automation.'+'AmsiUtils'); $u.GetField('amsiInitFailed','NonPublic,Static').SetValue($null,$true)",
        "ScriptBlockId": "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3", "Path": ""}, None, None, None),
    (70206, FIREWALL, 2004, "2026-11-03T08:21:05.000Z", "WKS-NAV-04.corp.example", None, {
        "RuleId": "{9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e}", "RuleName": "Lumen Sync", "Origin": "1",
        "ApplicationPath": "C:\\Users\\nav\\AppData\\Local\\Temp\\lumsync\\lumsync.exe", "ServiceName": "",
        "Direction": "1", "Protocol": "6", "LocalPorts": "*", "RemotePorts": "*", "Action": "3", "Profiles": "7",
        "LocalAddresses": "*", "RemoteAddresses": "*", "Flags": "1", "Active": "1", "EdgeTraversal": "0",
        "ModifyingUser": "S-1-5-21-1111111111-2222222222-3333333333-1107",
        "ModifyingApplication": "C:\\Windows\\System32\\netsh.exe", "SchemaVersion": "542", "RuleStatus": "65536"},
     None, None, None),
    # A shell started by a service: the creator is SYSTEM, no Target account.
    (70207, SECURITY, 4688, "2026-11-03T08:25:44.310Z", "SRV-NAV-01.corp.example", None, {
        "SubjectUserSid": "S-1-5-18", "SubjectUserName": "SRV-NAV-01$", "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
        "NewProcessId": "0x1f44", "NewProcessName": "C:\\Windows\\System32\\cmd.exe", "TokenElevationType": "%%1936",
        "ProcessId": "0x2b8", "CommandLine": "cmd.exe /c whoami /priv > C:\\Windows\\Temp\\w.txt", "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-", "TargetDomainName": "-", "TargetLogonId": "0x0",
        "ParentProcessName": "C:\\Windows\\System32\\services.exe", "MandatoryLabel": "S-1-16-16384"}, None, None, None),
    # A user's vssadmin, started with other credentials (Target set).
    (70208, SECURITY, 4688, "2026-11-03T08:27:10.950Z", "SRV-NAV-01.corp.example", None, {
        "SubjectUserSid": "S-1-5-21-1111111111-2222222222-3333333333-1107", "SubjectUserName": "nav",
        "SubjectDomainName": "CORP", "SubjectLogonId": "0x5a1f2e",
        "NewProcessId": "0x2c10", "NewProcessName": "C:\\Windows\\System32\\vssadmin.exe", "TokenElevationType": "%%1937",
        "ProcessId": "0x1e0c", "CommandLine": "vssadmin.exe delete shadows /all /quiet",
        "TargetUserSid": "S-1-5-21-1111111111-2222222222-3333333333-500", "TargetUserName": "adm-nav",
        "TargetDomainName": "CORP", "TargetLogonId": "0x7c3d10",
        "ParentProcessName": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "MandatoryLabel": "S-1-16-12288"}, None, None, None),
    # Remote Desktop to an address with NTLM (no Kerberos name for it).
    (70209, NTLM, 8001, "2026-11-03T08:31:02.640Z", "WKS-NAV-04.corp.example", None, {
        "TargetName": "TERMSRV/10.20.30.41", "ProcessId": "0x1a2c",
        "ProcessName": "C:\\Windows\\System32\\mstsc.exe", "ClientUserName": "nav",
        "ClientDomainName": "CORP", "ClientLockoutState": "false"}, None, None, None),
    # An app package queued for download from a file-sharing host.
    (70210, APPX, 854, "2026-11-03T08:33:47.101Z", "WKS-NAV-04.corp.example", "4D5E6F7A-8B9C-0004-AD1E-2F3A4B5C6D7E", {
        "Path": "https://files.filedrop.example/s/8Kq2/LumenTools_1.4.0.0_x64.msixbundle"}, None, None, None),
    # Sysmon's configuration replaced from a temporary folder.
    (70211, SYSMON, 16, "2026-11-03T08:36:12.009Z", "WKS-NAV-04.corp.example", None, {
        "UtcTime": "2026-11-03 08:36:12.009", "Configuration": "C:\\Users\\nav\\AppData\\Local\\Temp\\sc.xml",
        "ConfigurationFileHash": "SHA256=0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C4B5A69788796A5B4C3D2E1F0"},
     None, None, None),
]


def shape_record(rec, shape, index):
    # make_shapes' record tuple, with the unnamed items in this shape's form.
    rid, channel, eid, t, computer, activity, data, user, items, evtx_form = rec
    if items is not None:
        if shape == "winlogbeat" or (shape == "flat" and index % 2 == 0):
            data = {f"param{i + 1}": v for i, v in enumerate(items)}
        elif shape == "flat":
            data = {"Data": items}
        else:
            data = {"Data": {"#text": items}} if evtx_form == "text" else {"Data": items}
    return (rid, (channel[0], channel[1], channel[2] or ""), eid, t, computer, activity, data, user)


def without_guid(doc, rec):
    if rec[1][2] is not None:
        return doc
    if "winlog" in doc:
        doc["winlog"].pop("provider_guid", None)
    elif "Event" in doc:
        doc["Event"]["System"]["Provider"]["#attributes"].pop("Guid", None)
    else:
        doc.pop("ProviderGuid", None)
    return doc


def main():
    with open(os.path.join(HERE, "winlogbeat.ndjson"), "w") as f:
        for i, rec in enumerate(RECORDS):
            doc = without_guid(make_shapes.winlogbeat(shape_record(rec, "winlogbeat", i)), rec)
            f.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(HERE, "flat.ndjson"), "w", newline="") as f:
        for i, rec in enumerate(RECORDS):
            style = "nxlog" if i % 2 == 0 else "export"
            doc = without_guid(make_shapes.flat(shape_record(rec, "flat", i), style), rec)
            f.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + ("\r\n" if style == "nxlog" else "\n"))
    with open(os.path.join(HERE, "evtx.json"), "w") as f:
        for i, rec in enumerate(RECORDS):
            # The firewall record's data as a Data[] array of named items, the second 4688's
            # EventID as {"#text", "#attributes"}.
            doc = make_shapes.evtx(shape_record(rec, "evtx", i), data_array=(i == 5), id_text=(i == 7))
            f.write(json.dumps(without_guid(doc, rec), indent=2, ensure_ascii=False))
            f.write("\n")


if __name__ == "__main__":
    main()
