#!/usr/bin/env python3
"""Writes events.ndjson for the Sigma differential test: for every rule of rules/, events
that should match and near-misses that should not (the comments name the rule number, the
last two digits of its id), then deterministic noise that recombines field values of those
events.

    python3 gen_events.py [OUT]        default: events.ndjson beside this script

Every value is a string, an integer, a float with a short repr, a bool or null, so that the
text Python writes for a number is the text our engine sees (the JSON token). Values that
SQLite's NUMERIC column affinity would re-spell (leading zeros, "1e3", "7.0", padded
digits) are avoided: see README.md, "Event domain".
"""
import base64
import json
import random
import sys
from pathlib import Path

WS = "C:\\Windows\\System32\\"
EN, EM, BAR = "\u2013", "\u2014", "\u2015"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def b64_shifts(text: str, encoding: str, pre: str = "x", post: str = " -y") -> list[str]:
    """Base64 of `text` embedded after 0, 1 and 2 prefix characters: every offset variant."""
    return [b64((pre * n + text + post).encode(encoding)) for n in range(3)]


# (rule number, expected by construction, event). The expectation documents intent only;
# the test compares our engine with pySigma and never reads it.
H, M = True, False
CASES: list[tuple[int, bool, dict]] = []
# Events whose verdict is expected to differ between the two implementations, kept out of
# the noise pools so each shows up once: see README.md, "Probes".
PROBES: list[tuple[int, dict]] = []


def case(rule: int, expect: bool, **fields):
    CASES.append((rule, expect, fields))


def probe(rule: int, **fields):
    PROBES.append((rule, fields))


# 01 map AND
case(1, H, Image=WS + "cmd.exe", User="CORP\\admin")
case(1, H, Image="c:\\windows\\system32\\CMD.EXE", User="corp\\ADMIN")
case(1, M, Image=WS + "cmd.exe", User="CORP\\admin2")
case(1, M, Image=WS + "cmd.exe")
case(1, M, Image=WS + "cmd.exe.bak", User="CORP\\admin")
# 02 list OR
case(2, H, Image="C:\\Tools\\psexec.exe")
case(2, H, Image="C:\\TOOLS\\REMCOM.EXE")
case(2, M, Image="C:\\Tools\\psexec64.exe")
case(2, M, Image="D:\\Tools\\paexec.exe")
# 03 list of maps
case(3, H, Image=WS + "certutil.exe", CommandLine="certutil -urlcache -f http://x/a a.exe")
case(3, H, OriginalFileName="BITSADMIN.EXE")
case(3, M, Image=WS + "certutil.exe", CommandLine="certutil -decode a b")
case(3, M, OriginalFileName="bitsadmin.exe.mui")
case(3, M, CommandLine="certutil -urlcache")
# 04 integer
case(4, H, EventID=4688, Channel="Security")
case(4, H, EventID="4688", Channel="security")
case(4, M, EventID=4689, Channel="Security")
case(4, M, EventID=46880, Channel="Security")
case(4, M, EventID=4688, Channel="System")
# 05 mixed numeric list
case(5, H, DestinationPort=4444)
case(5, H, DestinationPort=8443)
case(5, H, DestinationPort="1337")
case(5, M, DestinationPort=44444)
case(5, M, DestinationPort=443)
case(5, M, DestinationPort="8443x")
# 06 leading star
case(6, H, Image=WS + "WindowsPowerShell\\v1.0\\powershell.exe")
case(6, H, Image="\\POWERSHELL.EXE")
case(6, M, Image="powershell.exe")
case(6, M, Image="C:\\x\\powershell.exe.bak")
case(6, M, Image="C:\\x\\powershell_ise.exe")
# 07 ? and *
case(7, H, OriginalFileName="psexec.exe")
case(7, H, OriginalFileName="PAEXEC64.EXE")
case(7, H, OriginalFileName="p_exec.exe")
case(7, M, OriginalFileName="pexec.exe")
case(7, M, OriginalFileName="psexec.exe.old")
case(7, M, OriginalFileName="ppsexec.exe")
# 08 several stars
case(8, H, CommandLine="powershell -nop -w hidden -c x")
case(8, H, CommandLine="-NOP-W HIDDEN")
case(8, M, CommandLine="powershell -w hidden -nop")
case(8, M, CommandLine="powershell -nop -x hidden")
# 09 \\* : backslash then wildcard
case(9, H, TargetFilename="C:\\Temp\\a.exe")
case(9, H, TargetFilename="c:\\temp\\")
case(9, M, TargetFilename="C:\\Temp")
case(9, M, TargetFilename="C:\\Temp2\\a.exe")
case(9, M, TargetFilename="D:\\C:\\Temp\\a")
# 10 \* and \? literal
case(10, H, Comment="price*2?")
case(10, H, Comment="PRICE*2?")
case(10, M, Comment="priceX2Y")
case(10, M, Comment="price*2")
case(10, M, Comment="price*2?!")
# 11 \\\* : literal backslash and star
case(11, H, TargetFilename="C:\\dir\\*")
case(11, M, TargetFilename="C:\\dir\\x")
case(11, M, TargetFilename="C:\\dir*")
case(11, M, TargetFilename="C:\\dir\\*\\x")
# 12 ? is one character
case(12, H, User="jorgen")
case(12, H, User="JARGEN")
case(12, M, User="jrgen")
case(12, M, User="jooorgen")
probe(12, User="j\u00fcrgen")  # one character, two UTF-8 bytes; rule 68 must not match it
# 13 % and _ are plain in Sigma
case(13, H, CommandLine="job 100%_done now")
case(13, M, CommandLine="job 100x_done")
case(13, M, CommandLine="job 100%Adone")
case(13, M, CommandLine="job 1000_done")
# 14 case-insensitive equality
case(14, H, Company="MICROSOFT CORPORATION")
case(14, H, Company="microsoft corporation")
case(14, M, Company="Microsoft Corporation.")
case(14, M, Company="Microsoft  Corporation")
# 15 cased
case(15, H, Product="PowerShell")
case(15, M, Product="powershell")
case(15, M, Product="POWERSHELL")
case(15, M, Product="PowerShell ISE")
# 16 cased contains with brackets
case(16, H, CommandLine="$b=[Convert]::FromBase64String('SQBFAFgA')")
case(16, M, CommandLine="$b=[convert]::frombase64string('SQBFAFgA')")
case(16, M, CommandLine="Convert]::FromBase64String")
case(16, M, CommandLine="[Convert]::FromBase64Strin")
# 17 cased with inner wildcard
case(17, H, CommandLine="IEX (New-Object Net.WebClient).DownloadString('http://x/a')")
case(17, H, CommandLine="IEXWebClient")
case(17, M, CommandLine="iex (New-Object Net.WebClient)")
case(17, M, CommandLine="x IEX WebClient")
# 18-20 null, empty, not null
RUNDLL = WS + "rundll32.exe"
case(18, H, Image=RUNDLL)
case(18, H, Image=RUNDLL, Description=None)
case(18, M, Image=RUNDLL, Description="")
case(18, M, Image=RUNDLL, Description="Windows host process (Rundll32)")
case(18, M, Image=WS + "rundll64.exe")
case(19, M, Image=RUNDLL, Description=" ")
case(20, H, Image=RUNDLL, Description="x")
# 21-22 exists
REGSVR = WS + "regsvr32.exe"
case(21, H, Image=REGSVR, Hash="SHA256=4F2A")
case(21, H, Image=REGSVR, Hash="")
case(21, M, Image=REGSVR, Hash=None)
case(21, M, Image=REGSVR)
case(22, M, Image=WS + "regsvr.exe")
# 23 null in a list
MSHTA = WS + "mshta.exe"
case(23, H, Image=MSHTA)
case(23, H, Image=MSHTA, Description="")
case(23, H, Image=MSHTA, Description="html application HOST")
case(23, M, Image=MSHTA, Description="x")
# 24 contains with inner wildcard
case(24, H, CommandLine="cmd /c net user bob P@ss1 /add")
case(24, H, CommandLine="NET USER  /ADD")
case(24, M, CommandLine="net user bob /del")
case(24, M, CommandLine="net  user bob /add")
# 25 startswith
case(25, H, ParentImage="C:\\Users\\bob\\Downloads\\a.exe")
case(25, H, ParentImage="c:\\users\\")
case(25, M, ParentImage="C:\\Users")
case(25, M, ParentImage="D:\\C:\\Users\\x.exe")
# 26 endswith list
case(26, H, TargetFilename="C:\\x\\a.ps1")
case(26, H, TargetFilename="C:\\x\\B.VBS")
case(26, H, TargetFilename="x.hta")
case(26, M, TargetFilename="C:\\x\\a.ps1.txt")
case(26, M, TargetFilename="ps1")
# 27 contains|all
case(27, H, CommandLine="powershell -ep bypass -w hidden")
case(27, M, CommandLine="powershell -ep bypass")
case(27, M, CommandLine="pwsh bypass hidden")
# 28 windash, one flag
for dash in ("-", "/", EN, EM, BAR):
    case(28, H, CommandLine=f"powershell {dash}exec bypass -f a.ps1")
case(28, M, CommandLine="powershell --exec bypass")
case(28, M, CommandLine="powershell -execbypass")
case(28, M, CommandLine="powershell\t-exec bypass")
# 29 windash, two flags
case(29, H, CommandLine="reg.exe /q /v x")
case(29, H, CommandLine="reg.exe -q /v x")
case(29, H, CommandLine=f"reg.exe {EN}q {EM}v x")
case(29, M, CommandLine="reg.exe -q-v x")
case(29, M, CommandLine="reg.exe q v")
# 30 contains, then windash
case(30, H, CommandLine="certutil /urlcache -f")
case(30, H, CommandLine=f"certutil {BAR}urlcache")
case(30, H, CommandLine="x-urlcache")
case(30, M, CommandLine="certutil urlcache")
case(30, M, CommandLine="certutil _urlcache")
# 31 windash before a non-ASCII letter
case(31, H, CommandLine="tool -\u00fcbung")
case(31, M, CommandLine="tool -\u00dcBUNG")  # non-ASCII case folding: neither folds
case(31, M, CommandLine="tool -\u00fcbung x")
case(31, M, CommandLine="tool \u00fcbung")
probe(31, CommandLine="tool /\u00fcbung")  # '-' before a Unicode word character
# 32 re, case-sensitive, unanchored
case(32, H, CommandLine="powershell -enc SQBFAFgAIAAoAE4A")
case(32, H, CommandLine="powershell -encodedcommand SQBFAFgAIAAoAE4A")
case(32, M, CommandLine="powershell -EncodedCommand JABzAD0ATgBlAHcA")
case(32, M, CommandLine="powershell -ENC SQBFAFgAIAAoAE4A")
case(32, M, CommandLine="powershell -enc short")
# 33 re|i
case(33, H, Image=WS + "CMD.EXE")
case(33, H, Image="C:\\x\\pwsh.exe")
case(33, M, Image="C:\\x\\cmdXexe")
case(33, M, Image="cmd.exe")
# 34 re|m
case(34, H, Comment="header\ntoken=abc123\nfooter")
case(34, H, Comment="token=zz")
case(34, M, Comment="header token=abc123")
case(34, M, Comment="token=ABC")
case(34, M, Comment="token=abc 123")
# 35 re|s
case(35, H, Comment="BEGIN\nx\nEND")
case(35, H, Comment="BEGIN-END")
case(35, M, Comment="BEGINEND")
case(35, M, Comment="begin x end")
# 36 re with $
case(36, H, TargetFilename="C:\\a\\b.exe")
case(36, H, TargetFilename="x.dll")
case(36, M, TargetFilename="x.exe.txt")
case(36, M, TargetFilename="x.EXE")
probe(36, TargetFilename="C:\\a\\b.exe\n")  # '$' before a final newline
# 37 re list
case(37, H, User="svc_backup")
case(37, H, User="xAdmin07y")
case(37, M, User="svc_Backup")
case(37, M, User="svc_backup1")
case(37, M, User="admin07")
# 38 base64
case(38, H, Payload=b64(b"whoami /all"))
case(38, M, Payload=b64(b"whoami /all").rstrip("="))
case(38, M, Payload=b64(b"whoami /al"))
# 39 base64offset
for p in b64_shifts("Invoke-Mimikatz", "utf-8"):
    case(39, H, Payload=p)
case(39, H, Payload=b64(b"IEX; Invoke-Mimikatz -DumpCreds"))
case(39, M, Payload=b64(b"Invoke-Mimikatx -DumpCreds"))
case(39, M, Payload=b64(b"invoke-mimikatz -dumpcreds"))
probe(39, Payload=b64(b"Invoke-Mimikatz -DumpCreds").swapcase())  # base64 in other case
# 40 wide|base64offset
for p in b64_shifts("IEX (New-Object Net.WebClient)", "utf-16-le", pre="a"):
    case(40, H, Payload=p)
case(40, M, Payload=b64("IEX (New-Object Net.WebClient)".encode()))
case(40, M, Payload=b64("IEX (New-Objec".encode("utf-16-le")))
# 41 wide|base64offset list
case(41, H, Payload=b64("(New-Object Net.WebClient).DownloadString('x')".encode("utf-16-le")))
case(41, H, Payload=b64("$w.DownloadFile('x','y')".encode("utf-16-le")))
case(41, M, Payload=b64("$w.DownloadData('x')".encode("utf-16-le")))
# 42 utf16be|base64offset
for p in b64_shifts("c:\\windows\\rundll32.exe a.dll,x", "utf-16-be", pre="z"):
    case(42, H, Payload=p)
case(42, M, Payload=b64("rundll32.exe a.dll".encode("utf-16-le")))
# 43 utf16|base64 (byte order mark)
case(43, H, Payload=b64(b"\xff\xfe" + "cmd /c".encode("utf-16-le")))
case(43, M, Payload=b64("cmd /c".encode("utf-16-le")))
case(43, M, Payload=b64(b"\xff\xfe" + "cmd /c".encode("utf-16-le")) + "x")
# 44 IPv4 CIDR list
for ip in ("10.1.2.3", "172.31.255.1", "192.168.5.5", "172.16.0.0"):
    case(44, H, DestinationIp=ip)
for ip in ("172.32.0.1", "11.0.0.1", "192.169.0.1", "110.0.0.1"):
    case(44, M, DestinationIp=ip)
# 45 IPv4 /10
for ip in ("100.64.0.1", "100.127.255.255", "100.100.1.1"):
    case(45, H, SourceIp=ip)
for ip in ("100.128.0.1", "100.63.255.255", "10.64.0.1"):
    case(45, M, SourceIp=ip)
# 46 IPv6 CIDR
for ip in ("2001:db8::1", "2001:DB8:abcd::5", "fe80::1", "febf::1", "FE80::abcd"):
    case(46, H, DestinationIp=ip)
for ip in ("2001:db9::1", "fec0::1", "2001:db80::1", "::1"):
    case(46, M, DestinationIp=ip)
# 47 lt
for v in (1023, 0, -5, "512"):
    case(47, H, FileSize=v)
for v in (1024, 5000, "abc"):
    case(47, M, FileSize=v)
# 48 gte and lte
for v in (50, 75, 60, 50.5, "60"):
    case(48, H, Score=v)
for v in (49, 76, 75.5):
    case(48, M, Score=v)
# 49 gt a fraction
for v in (7.5, 8):
    case(49, H, Entropy=v)
for v in (7.25, 7, -1):
    case(49, M, Entropy=v)
# 50-51 fieldref
case(50, H, TargetUser="bob", User="bob")
case(50, H, TargetUser="BOB", User="bob")
case(50, M, TargetUser="bob", User="alice")
case(50, M, TargetUser="bob")
case(50, M, TargetUser=None, User=None)
case(51, H, Channel="Security", EventID=4624, TargetUser="bob", User="alice")
case(51, M, Channel="Security", EventID=4624, TargetUser="alice", User="Alice")
case(51, H, Channel="Security", EventID=4624)
case(51, H, Channel="Security", EventID=4624, User="alice")
# 52-55 keywords
case(52, H, CommandLine="mimikatz.exe privilege::debug")
case(52, H, Comment="SEKURLSA::LOGONPASSWORDS", User="bob")
case(52, M, CommandLine="mimikat privilege::debug")
case(52, M, Comment="sekurlsa::logon passwords")
case(53, H, Channel="Sysmon", ImageLoaded="C:\\x\\evil1.dll")
case(53, M, Channel="Sysmon", ImageLoaded="C:\\x\\evil.dll")
case(53, M, Channel="Security", ImageLoaded="C:\\x\\evil2.dll")
case(54, H, DestinationPort=31337)
case(54, H, CommandLine="nc -lvp 31337")
case(54, M, DestinationPort=3133)
case(54, M, CommandLine="nc 3133 7")
case(55, H, CommandLine="Set-OabVirtualDirectory -ExternalUrl https://x/oab")
case(55, M, CommandLine="Set-OabVirtualDirectory -InternalUrl https://x/oab")
# 56-57 precedence, parentheses
WSCRIPT, WORD = WS + "wscript.exe", "C:\\Program Files\\Office\\WINWORD.EXE"
case(56, H, Image=WSCRIPT, CommandLine="wscript a.vbs")
case(56, M, Image=WSCRIPT, CommandLine="wscript a.js")
case(56, H, Image="C:\\x\\x.exe", ParentImage=WORD)
case(56, H, Image=WSCRIPT, CommandLine="wscript a.js", ParentImage=WORD)
case(56, H, Image=WSCRIPT, ParentImage=WORD)
case(56, H, Image=WSCRIPT)
# 58-59 x of pattern
RCLONE = "C:\\x\\rclone.exe"
case(58, H, Image=RCLONE, User="bob")
case(58, H, CommandLine="rclone copy a remote:b")
case(58, M, Image=RCLONE, User="system")
case(58, M, Image="C:\\x\\rclone2.exe")
case(59, H, Image=RCLONE, CommandLine="rclone copy a remote:b", User="bob", ParentImage=WS + "explorer.exe")
case(59, M, Image=RCLONE, CommandLine="rclone copy a remote:b", User="SYSTEM")
case(59, M, Image=RCLONE, CommandLine="rclone copy a remote:b", ParentImage="c:\\program files\\x\\y.exe")
case(59, H, Image=RCLONE, CommandLine="rclone copy a remote:b")
# 60-61 them
VSS = WS + "vssadmin.exe"
case(60, H, Image=VSS)
case(60, H, CommandLine="wmic shadowcopy delete")
case(60, M, User="SYSTEM", Image="C:\\x\\other.exe")
case(61, H, Image=VSS, CommandLine="vssadmin.exe shadowcopy delete /all")
case(61, H, Image=VSS, CommandLine="vssadmin.exe shadowcopy delete /all", User="SYSTEM")
# 62 condition list
case(62, H, Image=WS + "bitsadmin.exe", CommandLine="bitsadmin /transfer j http://x c:\\y")
case(62, H, User="GUEST")
case(62, M, Image=WS + "bitsadmin.exe", CommandLine="bitsadmin /list")
# 63 negated group, double negation
SCHT = WS + "schtasks.exe"
case(63, H, Image=SCHT, CommandLine="schtasks /create /tn x", User="bob")
case(63, H, Image=SCHT, CommandLine="schtasks /create /tn x")
case(63, M, Image=SCHT, CommandLine="schtasks /create /tn x", User="SYSTEM")
case(63, M, Image=SCHT, CommandLine="schtasks /query")
# 64 1 of *_x
case(64, H, Image=WS + "nltest.exe")
case(64, M, Image=WS + "cmd.exe", CommandLine="nltest /domain_trusts")
probe(64, Image=WS + "cmd.exe", CommandLine="nltest /dclist:corp")  # only _cli_x matches

# 65 neq (our engine skips it)
case(65, H, EventID=4672, User="bob")
case(65, M, EventID=4672, User="system")
# 66 fieldref|startswith (our engine skips it)
case(66, H, Image="C:\\Temp\\x\\a.exe", CurrentDirectory="C:\\Temp\\x\\")
case(66, M, Image="C:\\Windows\\a.exe", CurrentDirectory="C:\\Temp\\")
# 67 four backslashes
case(67, H, ShareName="\\\\fs01\\C$")
case(67, H, ShareName="\\\\10.0.0.5\\c$")
case(67, M, ShareName="\\fs01\\C$")
case(67, M, ShareName="\\\\fs01\\C$x")
case(67, M, ShareName="\\\\fs01\\D$")
# 68 ?? is two characters
case(68, H, User="jxxrgen")
case(68, M, User="jxrgen")
# (the probe of rule 12, "j\u00fcrgen", is the near-miss here)

# Fields that only add variety: booleans, unrelated strings.
EXTRA = {
    "Signed": [True, False],
    "Host": ["ws-0001", "ws-0002", "srv-db-01", "dc01.corp.example"],
    "ProcessId": [4, 812, 9044],
    "SignatureStatus": ["Valid", "Expired", "Revoked", "Unsigned"],
}


def noise(cases: list[dict], count: int, seed: int) -> list[dict]:
    pools: dict[str, list] = {k: list(v) for k, v in EXTRA.items()}
    for ev in cases:
        for k, v in ev.items():
            if v not in pools.setdefault(k, []):
                pools[k].append(v)
    names = sorted(pools)
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        ev = {}
        for name in rng.sample(names, rng.randint(2, 7)):
            ev[name] = rng.choice(pools[name])
        out.append(ev)
    return out


def events() -> list[dict]:
    handcrafted = [fields for _, _, fields in CASES]
    return handcrafted + [fields for _, fields in PROBES] + noise(handcrafted, 220, seed=6)


def render() -> str:
    return "".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in events())


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("events.ndjson")
    out.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
