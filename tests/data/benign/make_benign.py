#!/usr/bin/env python3
"""Writes a benign lab corpus in the three Windows shapes (benign.winlogbeat.ndjson,
benign.flat.ndjson, benign.evtx.ndjson): the populations real lab telemetry holds and
that once raised false high and medium alerts (tests/processor/benign_corpus_test.cpp).

Modelled on public Sysmon 7 recordings of Windows 10 lab machines (hosts, users, hashes
and times are the project's own): Microsoft's many signing names (Store framework DLLs
signed "Windows Phone", WHQL-signed third-party drivers, Microsoft-shipped third-party
components), runtimes and tools bundling third-party DLLs under their own signature
(Python's OpenSSL, Wireshark's MinGW runtime, Git's curl), per-user installs in AppData
and a few small vendors on one or two hosts. Every record is benign. Rerun after editing:
    python3 tests/data/benign/make_benign.py
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "windows"))
import make_shapes  # noqa: E402  (the shape writers of the Windows fixtures)

HOSTS = 36
DAYS = 3


def hashes(name):
    h = hashlib.sha256(name.encode()).hexdigest().upper()
    s1 = hashlib.sha1(name.encode()).hexdigest().upper()
    md5 = hashlib.md5(name.encode()).hexdigest().upper()
    return f"SHA1={s1},MD5={md5},SHA256={h},IMPHASH={md5}"


# (population, loading image, loaded DLL, company, original name, signer, hosts it is on)
APPS = "C:\\Program Files\\WindowsApps\\"
POPULATIONS = [
    ("store_framework", APPS + "Microsoft.WindowsCalculator_10.2008.2.0_x64__8wekyb3d8bbwe\\Calculator.exe",
     APPS + "Microsoft.VCLibs.140.00_14.0.29231.0_x64__8wekyb3d8bbwe\\vccorlib140_app.dll",
     "Microsoft Corporation", "vccorlib140_app.DLL", "Windows Phone", range(0, HOSTS)),
    ("store_framework", APPS + "Microsoft.WindowsCalculator_10.2008.2.0_x64__8wekyb3d8bbwe\\Calculator.exe",
     APPS + "Microsoft.VCLibs.140.00_14.0.29231.0_x64__8wekyb3d8bbwe\\msvcp140_app.dll",
     "Microsoft Corporation", "msvcp140_app.dll", "Windows Phone", range(0, HOSTS)),
    ("windows_inbox", "C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\System32\\perfos.dll",
     "Microsoft Corporation", "perfos.dll", "Microsoft Windows", range(0, HOSTS)),
    ("windows_inbox", "C:\\Windows\\System32\\svchost.exe", "C:\\Windows\\System32\\winsqlite3.dll",
     "SQLite Development Team", "winsqlite3.dll", "Microsoft Windows 3rd party Component", range(0, HOSTS)),
    ("whql_driver_dll", "C:\\Windows\\System32\\rundll32.exe", "C:\\Windows\\System32\\VBoxMRXNP.dll",
     "Oracle and/or its affiliates", "VBoxMRXNP.dll", "Microsoft Windows Hardware Compatibility Publisher", range(0, 12)),
    ("per_user_microsoft", "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\Update.exe",
     "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\Update.exe",
     "Microsoft Corporation", "Update.exe", "Microsoft 3rd Party Application Component", range(0, 20)),
    ("bundled_python", "C:\\Users\\{user}\\AppData\\Local\\Programs\\Python\\Python39\\python.exe",
     "C:\\Users\\{user}\\AppData\\Local\\Programs\\Python\\Python39\\DLLs\\libcrypto-1_1.dll",
     "The OpenSSL Project, https://www.openssl.org/", "libcrypto-1_1.dll", "Python Software Foundation", range(0, 2)),
    ("bundled_python", "C:\\Users\\{user}\\AppData\\Local\\Programs\\Python\\Python39\\python.exe",
     "C:\\Users\\{user}\\AppData\\Local\\Programs\\Python\\Python39\\DLLs\\libssl-1_1.dll",
     "The OpenSSL Project, https://www.openssl.org/", "libssl-1_1.dll", "Python Software Foundation", range(0, 2)),
    ("bundled_wireshark", "C:\\Program Files\\Wireshark\\dumpcap.exe", "C:\\Program Files\\Wireshark\\libgcc_s_seh-1.dll",
     "MinGW-W64 Project. All rights reserved.", "libgcc_s_seh-1.dll", "Wireshark Foundation, Inc.", range(3, 5)),
    ("bundled_git", "C:\\Program Files\\Git\\mingw64\\bin\\git.exe", "C:\\Program Files\\Git\\mingw64\\bin\\libcurl-4.dll",
     "The curl library, https://curl.se/", "libcurl-4.dll", "Johannes Schindelin", range(5, 6)),
    ("npcap", "C:\\Program Files\\Wireshark\\dumpcap.exe", "C:\\Windows\\System32\\Npcap\\wpcap.dll",
     "-", "-", "Insecure.Com LLC", range(3, 5)),
    ("shell_extension", "C:\\Windows\\explorer.exe", "C:\\Program Files\\WinRAR\\RarExt.dll",
     "Alexander Roshal", "RarExt.dll", "win.rar GmbH", range(6, 7)),
]


def records():
    out = []
    rid = 70000
    for day in range(DAYS):
        for host in range(HOSTS):
            user = f"user{host:02d}"
            computer = f"LAB-{host:02d}.corp.example"
            for i, (pop, image, loaded, company, original, signer, on) in enumerate(POPULATIONS):
                if host not in on:
                    continue
                rid += 1
                t = f"2026-11-{16 + day:02d}T{8 + i % 9:02d}:{(host * 7 + i) % 60:02d}:{(host + day) % 60:02d}.{i:03d}Z"
                loaded_path = loaded.format(user=user)
                data = {
                    "RuleName": "-", "UtcTime": t[:10] + " " + t[11:23], "ProcessGuid": "{" + f"{host:08x}-0000-0000-0000-{rid:012x}" + "}",
                    "ProcessId": str(4000 + i), "Image": image.format(user=user), "ImageLoaded": loaded_path,
                    "FileVersion": "-", "Description": "-", "Product": "-", "Company": company,
                    "OriginalFileName": original,
                    # One build of each file everywhere: the hash names the file, not the host.
                    "Hashes": hashes(original + company + signer),
                    "Signed": "true", "Signature": signer, "SignatureStatus": "Valid", "User": "CORP\\" + user}
                out.append((host, (rid, make_shapes.SYSMON, 7, t, computer, None, data, None)))
    return out


def main():
    recs = records()
    shapes = {
        "benign.winlogbeat.ndjson": lambda r: make_shapes.winlogbeat(r),
        "benign.flat.ndjson": lambda r: make_shapes.flat(r, "nxlog" if r[0] % 2 else "export"),
        "benign.evtx.ndjson": lambda r: make_shapes.evtx(r, data_array=r[0] % 2 == 0, id_text=False),
    }
    files = {name: open(os.path.join(HERE, name), "w") for name in shapes}
    # Each host ships in one shape.
    for host, rec in recs:
        name = list(shapes)[host % 3]
        files[name].write(json.dumps(shapes[name](rec), ensure_ascii=False, separators=(",", ":")) + "\n")
    for f in files.values():
        f.close()


if __name__ == "__main__":
    main()
