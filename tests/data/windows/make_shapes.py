#!/usr/bin/env python3
"""Writes one set of Windows event log records in the three shapes pipelines carry them:

  winlogbeat.ndjson   Winlogbeat / Elastic Agent (winlog.event_data, host object)
  flat.ndjson         flat System + EventData keys: NXLog im_msvistalog through Logstash
                      (EventTime without zone, UtcTime, host as a string naming the
                      collector, shipper keys) and HELK/Splunk-style exports
                      (TimeCreated, Computer, EventID as a string)
  evtx.json           evtx JSON (Event.System / Event.EventData or UserData), pretty-printed
                      documents concatenated as evtx_dump writes them; one record with
                      EventData as a Data[] array, one with EventID as {"#text", "#attributes"}

The records are the project's own (invented hosts, signers and hashes), written after
real Sysmon, Security, System, PowerShell and Code Integrity records. Rerun after editing:
    python3 tests/data/windows/make_shapes.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

SYSMON = ("Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", "5770385F-C22A-43E0-BF4C-06F5698FFBD9")
SECURITY = ("Security", "Microsoft-Windows-Security-Auditing", "54849625-5478-4994-A5BA-3E3B0328C30D")
SYSTEM = ("System", "Service Control Manager", "555908d1-a6d7-4695-8e1e-26931d2012f4")
POWERSHELL = ("Microsoft-Windows-PowerShell/Operational", "Microsoft-Windows-PowerShell", "A0C1853B-5C40-4B15-8766-3CF1C58F985A")
CI = ("Microsoft-Windows-CodeIntegrity/Operational", "Microsoft-Windows-CodeIntegrity", "4EE76BD8-3CF4-44A0-A0AC-3937643E37A3")

# (record id, channel, event id, system time, computer, activity id, data, user data element)
RECORDS = [
    (50101, SYSMON, 7, "2026-10-14T09:12:41.337Z", "WKS-ODA-17.corp.example", None, {
        "RuleName": "-", "UtcTime": "2026-10-14 09:12:41.337", "ProcessGuid": "{6f1e2a3b-1c2d-6e7f-a102-000000001400}",
        "ProcessId": "7344", "Image": "C:\\Users\\oda\\AppData\\Local\\Lumenfold\\lumenfold.exe",
        "ImageLoaded": "C:\\Users\\oda\\AppData\\Local\\Lumenfold\\lfcore.dll", "FileVersion": "4.2.0.11",
        "Description": "Lumenfold core", "Product": "Lumenfold", "Company": "Lumenfold Software BV",
        "OriginalFileName": "lfcore.dll",
        "Hashes": "SHA1=5B7E2C9A0D1F3E4B6C8A9D0E1F2A3B4C5D6E7F80,MD5=0A1B2C3D4E5F60718293A4B5C6D7E8F9,SHA256=8F3C2B1A0E9D8C7B6A5F4E3D2C1B0A998877665544332211FFEEDDCCBBAA0099,IMPHASH=11223344556677889900AABBCCDDEEFF",
        "Signed": "true", "Signature": "Lumenfold Software BV", "SignatureStatus": "Valid", "User": "CORP\\oda"}, None),
    (50102, SYSMON, 7, "2026-10-14T09:13:02.004Z", "WKS-ODA-17.corp.example", None, {
        "RuleName": "-", "UtcTime": "2026-10-14 09:13:02.004", "ProcessGuid": "{6f1e2a3b-1c2d-6e7f-a102-000000001401}",
        "ProcessId": "8120", "Image": "C:\\Users\\oda\\AppData\\Local\\Temp\\tmp41A2\\setup.exe",
        "ImageLoaded": "C:\\Users\\oda\\AppData\\Local\\Temp\\tmp41A2\\vcruntime140.dll", "FileVersion": "-",
        "Description": "-", "Product": "-", "Company": "-", "OriginalFileName": "-",
        "Hashes": "SHA1=C0FFEE00112233445566778899AABBCCDDEEFF01,MD5=DEADBEEF00112233445566778899AABB,SHA256=00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF,IMPHASH=00000000000000000000000000000000",
        "Signed": "false", "Signature": "-", "SignatureStatus": "Unavailable", "User": "CORP\\oda"}, None),
    (50103, SYSMON, 6, "2026-10-14T09:20:15.870Z", "SRV-FS-02.corp.example", None, {
        "RuleName": "-", "UtcTime": "2026-10-14 09:20:15.870", "ImageLoaded": "C:\\Windows\\System32\\drivers\\qrkbus.sys",
        "Hashes": "SHA1=9A8B7C6D5E4F30211F0E0D0C0B0A090807060504,MD5=1234ABCD1234ABCD1234ABCD1234ABCD,SHA256=ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF01234567AB,IMPHASH=ABABABABABABABABABABABABABABABAB",
        "Signed": "true", "Signature": "Quarkbus Hardware Co., Ltd.", "SignatureStatus": "Valid"}, None),
    (50104, SYSMON, 1, "2026-10-14T09:31:55.120Z", "WKS-ODA-17.corp.example", None, {
        "RuleName": "-", "UtcTime": "2026-10-14 09:31:55.120", "ProcessGuid": "{6f1e2a3b-1c2d-6e7f-a102-000000001455}",
        "ProcessId": "9016", "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "FileVersion": "10.0.19041.3996", "Description": "Windows PowerShell", "Product": "Microsoft Windows Operating System",
        "Company": "Microsoft Corporation", "OriginalFileName": "PowerShell.EXE",
        "CommandLine": "powershell.exe -NoP -W Hidden -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=",
        "CurrentDirectory": "C:\\Users\\oda\\", "User": "CORP\\oda", "LogonGuid": "{6f1e2a3b-0000-0000-0000-0000a1b2c3d4}",
        "LogonId": "0xa1b2c3d4", "TerminalSessionId": "1", "IntegrityLevel": "Medium",
        "Hashes": "SHA1=6A1F0C2B3D4E5F60718293A4B5C6D7E8F9012345,MD5=A1B2C3D4E5F60718293A4B5C6D7E8F90,SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08,IMPHASH=7C955A0ABC747F57CCC4324480737EF7",
        "ParentProcessGuid": "{6f1e2a3b-1c2d-6e7f-a102-000000001320}", "ParentProcessId": "6400",
        "ParentImage": "C:\\Windows\\System32\\cmd.exe", "ParentCommandLine": "cmd.exe /c run.bat", "ParentUser": "CORP\\oda"}, None),
    (50105, SYSMON, 13, "2026-10-14T09:32:10.500Z", "WKS-ODA-17.corp.example", None, {
        "RuleName": "-", "EventType": "SetValue", "UtcTime": "2026-10-14 09:32:10.500",
        "ProcessGuid": "{6f1e2a3b-1c2d-6e7f-a102-000000001455}", "ProcessId": "9016",
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "TargetObject": "HKU\\S-1-5-21-1111111111-2222222222-3333333333-1104\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater",
        "Details": "C:\\Users\\oda\\AppData\\Roaming\\updater.exe", "User": "CORP\\oda"}, None),
    (50106, SECURITY, 4648, "2026-10-14T10:02:33.071Z", "WKS-ODA-17.corp.example", "C96B491C-1545-0001-6049-6BC94515DD01", {
        "SubjectUserSid": "S-1-5-21-1111111111-2222222222-3333333333-1104", "SubjectUserName": "oda",
        "SubjectDomainName": "CORP", "SubjectLogonId": "0xa1b2c3d4", "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
        "TargetUserName": "svc-backup", "TargetDomainName": "CORP", "TargetLogonGuid": "{00000000-0000-0000-0000-000000000000}",
        "TargetServerName": "localhost", "TargetInfo": "localhost", "ProcessId": "0x2338",
        "ProcessName": "C:\\Users\\oda\\Desktop\\runas2.exe", "IpAddress": "-", "IpPort": "-"}, None),
    (50107, SECURITY, 4688, "2026-10-14T10:05:00.000Z", "SRV-FS-02.corp.example", None, {
        "SubjectUserSid": "S-1-5-18", "SubjectUserName": "SRV-FS-02$", "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
        "NewProcessId": "0x1a2c", "NewProcessName": "C:\\Windows\\System32\\vssadmin.exe", "TokenElevationType": "%%1936",
        "ProcessId": "0x4d0", "CommandLine": "vssadmin.exe delete shadows /all /quiet", "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-", "TargetDomainName": "-", "TargetLogonId": "0x0",
        "ParentProcessName": "C:\\Windows\\System32\\cmd.exe", "MandatoryLabel": "S-1-16-16384"}, None),
    (50108, SYSTEM, 7045, "2026-10-14T10:07:45.250Z", "SRV-FS-02.corp.example", None, {
        "ServiceName": "qrkupd", "ImagePath": "C:\\Windows\\Temp\\qrkupd.exe -k", "ServiceType": "user mode service",
        "StartType": "auto start", "AccountName": "LocalSystem"}, None),
    (50109, POWERSHELL, 4104, "2026-10-14T10:09:12.900Z", "WKS-ODA-17.corp.example", "0F5E2D1C-3B4A-0002-8C9D-0E1F2A3B4C5D", {
        "MessageNumber": "1", "MessageTotal": "1",
        "ScriptBlockText": "[Ref].Assembly.GetType('System.Management.Automation.AmsiUtils').GetField('amsiInitFailed','NonPublic,Static').SetValue($null,$true)",
        "ScriptBlockId": "2c8d9e0f-1a2b-4c3d-8e9f-0a1b2c3d4e5f", "Path": ""}, None),
    (50110, SECURITY, 1102, "2026-10-14T10:15:00.000Z", "SRV-FS-02.corp.example", None, None,
     ("LogFileCleared", {"SubjectUserSid": "S-1-5-21-1111111111-2222222222-3333333333-500",
                         "SubjectUserName": "adm-oda", "SubjectDomainName": "CORP", "SubjectLogonId": "0x5f5e100"})),
    (50111, CI, 3033, "2026-10-14T10:20:47.102Z", "WKS-ODA-17.corp.example", "B7E4D2A0-6C19-0001-52F3-A0D2E4B76C01", {
        "FileNameLength": "63", "FileNameBuffer": "\\Device\\HarddiskVolume3\\Users\\oda\\AppData\\Local\\Lumenfold\\lfcore.dll",
        "ProcessNameLength": "62", "ProcessNameBuffer": "\\Device\\HarddiskVolume3\\Users\\oda\\AppData\\Local\\Lumenfold\\lumenfold.exe",
        "RequestedPolicy": "8", "ValidatedPolicy": "1", "Status": "3236495362"}, None),
]

COLLECTOR = "wec01.corp.example"  # the Logstash `host`: the collector, not the endpoint


def local_nxlog_time(system_time):
    # NXLog's EventTime: local time without zone (the collector runs at UTC-4 here).
    date, clock = system_time[:10], system_time[11:19]
    h = int(clock[:2]) - 4
    day = int(date[8:10])
    if h < 0:
        h += 24
        day -= 1
    return f"{date[:8]}{day:02d} {h:02d}{clock[2:]}"


def winlogbeat(rec):
    rid, (channel, provider, guid), eid, t, computer, activity, data, user = rec
    w = {"channel": channel, "event_id": str(eid), "provider_name": provider, "provider_guid": "{" + guid + "}",
         "computer_name": computer, "record_id": rid, "api": "wineventlog"}
    if activity:
        w["activity_id"] = "{" + activity + "}"
    if data is not None:
        w["event_data"] = data
    if user is not None:
        w["user_data"] = dict(user[1], xml_name=user[0])
    module = "sysmon" if provider == SYSMON[1] else "security" if channel == "Security" else None
    out = {"@timestamp": t, "agent": {"type": "winlogbeat", "version": "8.11.0"}, "ecs": {"version": "8.0.0"},
           "event": {"code": str(eid), "provider": provider, "kind": "event"},
           "host": {"name": computer, "os": {"type": "windows", "family": "windows"}}, "winlog": w}
    if module:
        out["event"]["module"] = module
    return out


def flat(rec, style):
    rid, (channel, provider, guid), eid, t, computer, activity, data, user = rec
    items = dict(data or {})
    if user is not None:
        items.update(user[1])
    if style == "nxlog":
        out = {"@timestamp": t, "@version": "1", "EventTime": local_nxlog_time(t), "EventReceivedTime": local_nxlog_time(t),
               "Hostname": computer, "host": COLLECTOR, "port": 61022, "tags": ["windows"], "SourceModuleName": "eventlog",
               "SourceModuleType": "im_msvistalog", "SourceName": provider, "ProviderGuid": "{" + guid + "}",
               "Channel": channel, "EventID": eid, "RecordNumber": rid, "Keywords": -9223372036854775808,
               "Severity": "INFO", "SeverityValue": 2, "EventType": "INFO", "Version": 5, "Task": 1, "OpcodeValue": 0}
        if activity:
            out["ActivityID"] = "{" + activity + "}"
        # NXLog renders the message text; its size is not the event's problem.
        out["Message"] = "Event " + str(eid) + ":\r\n" + "\r\n".join(f"{k}: {v}" for k, v in items.items())
        # A Sysmon EventType (SetValue) collides with NXLog's own EventType; NXLog keeps the data item.
        out.update(items)
    else:  # HELK / Splunk-style export: TimeCreated, Computer, EventID as a string
        out = {"TimeCreated": t, "Computer": computer, "Channel": channel, "ProviderName": provider,
               "EventID": str(eid), "EventRecordID": str(rid), "Level": "4", "Keywords": "0x8000000000000000"}
        if activity:
            out["ActivityID"] = "{" + activity + "}"
        out.update(items)
    return out


def evtx(rec, data_array, id_text):
    rid, (channel, provider, guid), eid, t, computer, activity, data, user = rec
    system = {
        "Provider": {"#attributes": {"Name": provider, "Guid": guid}},
        "EventID": {"#attributes": {"Qualifiers": ""}, "#text": eid} if id_text else eid,
        "Version": 5, "Level": 4, "Task": 1, "Opcode": 0, "Keywords": "0x8000000000000000",
        "TimeCreated": {"#attributes": {"SystemTime": t}},
        "EventRecordID": rid,
        "Correlation": {"#attributes": {"ActivityID": activity}} if activity else None,
        "Execution": {"#attributes": {"ProcessID": 3260, "ThreadID": 4124}},
        "Channel": channel, "Computer": computer,
        "Security": {"#attributes": {"UserID": "S-1-5-18"}},
    }
    event = {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"}, "System": system}
    if data is not None:
        if data_array:
            event["EventData"] = {"Data": [{"#attributes": {"Name": k}, "#text": v} for k, v in data.items()]}
        else:
            event["EventData"] = data
    if user is not None:
        event["UserData"] = {user[0]: dict(user[1], **{"#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"}})}
    return {"Event": event}


def main():
    with open(os.path.join(HERE, "winlogbeat.ndjson"), "w") as f:
        for rec in RECORDS:
            f.write(json.dumps(winlogbeat(rec), ensure_ascii=False, separators=(",", ":")) + "\n")
    with open(os.path.join(HERE, "flat.ndjson"), "w", newline="") as f:
        for i, rec in enumerate(RECORDS):
            style = "nxlog" if i % 2 == 0 else "export"
            # NXLog lines end in CRLF on some collectors.
            f.write(json.dumps(flat(rec, style), ensure_ascii=False, separators=(",", ":")) + ("\r\n" if style == "nxlog" else "\n"))
    with open(os.path.join(HERE, "evtx.json"), "w") as f:
        for i, rec in enumerate(RECORDS):
            f.write(json.dumps(evtx(rec, data_array=(i == 0 or i == 5), id_text=(i == 6)), indent=2, ensure_ascii=False))
            f.write("\n")
    # The same evtx records one per line, so the hostile-input tests and the fuzzer's
    # seeds (every tests/data/**/*.ndjson line) cover the evtx walker too.
    with open(os.path.join(HERE, "evtx.ndjson"), "w") as f:
        for i, rec in enumerate(RECORDS):
            f.write(json.dumps(evtx(rec, data_array=(i == 0 or i == 5), id_text=(i == 6)), ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
