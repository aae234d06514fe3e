#!/usr/bin/env python3
"""Fleet simulator for countersign: endpoint telemetry of a Windows fleet, with ground truth.

Writes, under --out:
  events.ndjson      every event of the fleet, sorted by event time, in the JSON shapes
                     countersign parses (ECS / Elastic Defend, OCSF 1.7/1.8 Process
                     Activity, Microsoft Defender advanced-hunting rows, Sysmon, Security
                     and Code Integrity through Winlogbeat, as flat NXLog/Logstash or
                     HELK-style JSON, or as evtx JSON, and flat Code Integrity EventData)
  ground_truth.json  the injected attack scenarios (host, file hash, time, schema and the
                     detector ids that should fire) and the event count of every benign
                     population
  intel/abusech.csv  an abuse.ch-style code-signing certificate blocklist that lists the
                     certificates of the "abused certificate" scenarios among decoys

Python 3 standard library only; the output is a pure function of the arguments (--seed).
Each host reports its executions in one schema; Windows hosts with App Control also send
Code Integrity events, as flat EventData or (on Winlogbeat hosts) through Winlogbeat.
See README.md in this directory for the populations and scenarios.
"""

from __future__ import annotations

import argparse
import calendar
import collections
import hashlib
import json
import os
import random
import sys
import time

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MIN_MS = 60_000

PROCESS_SCHEMAS = ("ecs", "ocsf", "defender", "winlogbeat", "flat", "evtx")
# Sysmon hosts (Sysmon 1/6/7, Code Integrity, Security 4616) ship their Windows event log
# one of three ways: Winlogbeat (winlog.event_data + ECS fields), flat NXLog/Logstash or
# HELK-style JSON (System and EventData keys side by side), or evtx JSON (Event.System +
# Event.EventData, as evtx_dump writes it).
SYSMON_TRANSPORTS = ("winlogbeat", "flat", "evtx")
ALL_SCHEMAS = PROCESS_SCHEMAS + ("codeintegrity",)
# Process schemas by host share; "sysmon" is split among the selected SYSMON_TRANSPORTS.
SCHEMA_WEIGHTS = {"ecs": 0.35, "defender": 0.25, "ocsf": 0.20, "sysmon": 0.20}
SYSMON_SPLIT = {"winlogbeat": 0.5, "flat": 0.3, "evtx": 0.2}

# Detector ids (docs/detections.md section 3).
REVOKED = "cs.signature.revoked"
UNTRUSTED = "cs.signature.untrusted"
EXPIRED = "cs.certificate.expired_signing"
RECENT = "cs.certificate.recently_issued"
UNUSUAL = "cs.issuer.unusual"
MISMATCH = "cs.metadata.subject_mismatch"
CI_ENF = "cs.codeintegrity.enforcement"
RARE_PATH = "cs.prevalence.rare_signed_user_path"
INTEL = "cs.intel.abused_certificate"
# Sigma rules of rules/content/sigma/clock_rollback.yml (on by default): their rule ids are
# the detection ids of their alerts.
SIGMA_TIME_SERVICE = "df881ba3-309d-4153-ae15-9be6b49afbf8"  # w32time stopped/disabled/unregistered
SIGMA_DATE_SET = "f035e0b4-34f9-4b38-b9d5-31026f01a432"  # cmd date / Set-Date
SIGMA_4616 = "ca485c5c-de3d-40e1-92c3-ce7dd4d62390"  # 4616 by a process other than w32time/hypervisor

# ---------------------------------------------------------------------------------------
# Small helpers


class Ids:
    """Deterministic hex identifiers derived from the seed and a name."""

    def __init__(self, seed: int):
        self.prefix = f"fleet_sim/{seed}/".encode()

    def hex(self, *parts, n: int = 64) -> str:
        h = hashlib.sha256(self.prefix + "|".join(str(p) for p in parts).encode()).hexdigest()
        while len(h) < n:
            h += hashlib.sha256(h.encode()).hexdigest()
        return h[:n]

    def guid(self, *parts) -> str:
        h = self.hex("guid", *parts, n=32)
        return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


_sec_cache: dict[int, str] = {}


def _sec(ms: int) -> str:
    s = ms // 1000
    v = _sec_cache.get(s)
    if v is None:
        v = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
        if len(_sec_cache) > 200_000:
            _sec_cache.clear()
        _sec_cache[s] = v
    return v


def iso_ms(ms: int) -> str:
    return f"{_sec(ms)}.{ms % 1000:03d}Z"


def iso_s(ms: int) -> str:
    return f"{_sec(ms)}Z"


def iso_7(ms: int, extra: int = 0) -> str:
    """Windows-style 100 ns precision (Defender Timestamp, Code Integrity TimeCreated)."""
    return f"{_sec(ms)}.{ms % 1000:03d}{extra % 10000:04d}Z"


def parse_time(s: str) -> int:
    s = s.strip().replace("Z", "")
    if "T" not in s:
        s += "T00:00:00"
    return calendar.timegm(time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")) * 1000


def device_path(path: str) -> str:
    """C:\\x\\y.exe -> \\Device\\HarddiskVolume3\\x\\y.exe (Code Integrity file names)."""
    if len(path) > 2 and path[1] == ":":
        return "\\Device\\HarddiskVolume3" + path[2:]
    return path


def dump(doc) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------------------
# Certificates and executables

KNOWN_CAS = {
    # issuer CN -> issuer DN
    "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1":
        "CN=DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1, O=DigiCert, Inc., C=US",
    "DigiCert SHA2 Assured ID Code Signing CA":
        "CN=DigiCert SHA2 Assured ID Code Signing CA, OU=www.digicert.com, O=DigiCert Inc, C=US",
    "Sectigo Public Code Signing CA R36":
        "CN=Sectigo Public Code Signing CA R36, O=Sectigo Limited, C=GB",
    "Sectigo Public Code Signing CA EV R36":
        "CN=Sectigo Public Code Signing CA EV R36, O=Sectigo Limited, C=GB",
    "GlobalSign GCC R45 EV CodeSigning CA 2020":
        "CN=GlobalSign GCC R45 EV CodeSigning CA 2020, O=GlobalSign nv-sa, C=BE",
    "GlobalSign GCC R45 CodeSigning CA 2020":
        "CN=GlobalSign GCC R45 CodeSigning CA 2020, O=GlobalSign nv-sa, C=BE",
    "Entrust Code Signing CA - OVCS2":
        "CN=Entrust Code Signing CA - OVCS2, O=Entrust, Inc., C=US",
    "SSL.com EV Code Signing Intermediate CA RSA R3":
        "CN=SSL.com EV Code Signing Intermediate CA RSA R3, O=SSL Corp, L=Houston, S=Texas, C=US",
    "SSL.com Code Signing Intermediate CA RSA R1":
        "CN=SSL.com Code Signing Intermediate CA RSA R1, O=SSL Corp, L=Houston, S=Texas, C=US",
    "Certum Code Signing 2021 CA":
        "CN=Certum Code Signing 2021 CA, O=Asseco Data Systems S.A., C=PL",
    "Certum Extended Validation Code Signing 2021 CA":
        "CN=Certum Extended Validation Code Signing 2021 CA, O=Asseco Data Systems S.A., C=PL",
    "Microsoft Windows Production PCA 2011":
        "CN=Microsoft Windows Production PCA 2011, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
    "Microsoft Code Signing PCA 2011":
        "CN=Microsoft Code Signing PCA 2011, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
    "Microsoft Windows Third Party Component CA 2014":
        "CN=Microsoft Windows Third Party Component CA 2014, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
    "Microsoft Windows Third Party Component CA 2012":
        "CN=Microsoft Windows Third Party Component CA 2012, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
    "Microsoft Windows Phone Production PCA 2012":
        "CN=Microsoft Windows Phone Production PCA 2012, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
    "Symantec Class 3 SHA256 Code Signing CA":
        "CN=Symantec Class 3 SHA256 Code Signing CA, OU=Symantec Trust Network, O=Symantec Corporation, C=US",
    "Microsoft Testing Root Certificate Authority 2010":
        "CN=Microsoft Testing Root Certificate Authority 2010, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
}

CONTOSO_CA = "Contoso Internal Code Signing CA"
# (serial, SHA-256 thumbprint, SHA-1 thumbprint) of the two internal signing certificates.
CONTOSO_CERTS = [
    ("5f00000012a3c4e5d6f7081920a1b2c3d4e5f6",
     "c0a7050c1e7d4b2a9f3e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a2901",
     "c0a7050c1e7d4b2a9f3e6d5c4b3a29180f7e6d01"),
    ("5f00000034b5d6e7f8091a2b3c4d5e6f7a8b9c",
     "c0a7050c2f8e5c3b0a4f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2902",
     "c0a7050c2f8e5c3b0a4f7e6d5c4b3a2918f7e602"),
]
CONTOSO_CA_DN = "CN=Contoso Internal Code Signing CA, OU=PKI, O=Contoso Ltd, C=US"


class Cert:
    __slots__ = ("cn", "o", "subject_dn", "issuer_cn", "issuer_dn", "serial", "thumb256", "thumb1",
                 "not_before", "not_after", "root_microsoft")

    def __init__(self, ids: Ids, cn: str, o: str | None, issuer_cn: str, not_before: int, not_after: int,
                 issuer_dn: str | None = None, subject_dn: str | None = None, serial: str | None = None,
                 country: str = "US"):
        self.cn = cn
        self.o = o if o is not None else cn
        self.subject_dn = subject_dn or (f"CN={dn_escape(cn)}, O={dn_escape(self.o)}, C={country}")
        self.issuer_cn = issuer_cn
        self.issuer_dn = issuer_dn or KNOWN_CAS.get(issuer_cn) or f"CN={dn_escape(issuer_cn)}"
        self.serial = serial or ids.hex("serial", cn, issuer_cn, not_before, n=32)
        self.thumb256 = ids.hex("thumb256", self.subject_dn, self.issuer_dn, self.serial)
        self.thumb1 = ids.hex("thumb1", self.subject_dn, self.issuer_dn, self.serial, n=40)
        self.not_before = not_before
        self.not_after = not_after
        self.root_microsoft = issuer_cn.startswith("Microsoft") and "Testing" not in issuer_cn


def dn_escape(v: str) -> str:
    return '"' + v + '"' if ("," in v or "+" in v) else v


class Exe:
    """One file (one hash): where it runs from, its version info and its signature."""

    __slots__ = ("path", "name", "sha256", "sha1", "md5", "company", "product", "description", "ofn",
                 "version", "cert", "status", "signing_time", "pop", "size")

    def __init__(self, ids: Ids, path: str, pop: str, cert: Cert | None, status: str = "valid",
                 company: str = "", product: str = "", description: str = "", ofn: str | None = None,
                 version: str = "1.0.0.0", signing_time: int | None = None, key: str | None = None):
        self.path = path
        self.name = path.rsplit("\\", 1)[-1]
        k = key or f"{path}|{version}|{cert.thumb256 if cert else '-'}"
        self.rekey(ids, k)
        self.company = company
        self.product = product
        self.description = description
        self.ofn = self.name if ofn is None else ofn
        self.version = version
        self.cert = cert
        self.status = "unsigned" if cert is None else status
        self.signing_time = signing_time
        self.pop = pop


    def rekey(self, ids: Ids, k: str):
        """Gives the file the hashes (and size) of key k."""
        self.sha256 = ids.hex("sha256", k)
        self.sha1 = ids.hex("sha1", k, n=40)
        self.md5 = ids.hex("md5", k, n=32)
        self.size = 40_000 + int(self.sha1[:5], 16) % 9_000_000

class App:
    """Something installed: one Exe, or versions rolled out during the window, or per-build."""

    __slots__ = ("exes", "rollout", "by_build", "weight", "pop", "share")

    def __init__(self, exes: list[Exe], weight: float, pop: str, rollout: int | None = None,
                 by_build: bool = False):
        self.exes = exes
        self.weight = weight
        self.pop = pop
        self.rollout = rollout  # time from which exes[-1] replaces exes[-2], spread over 36 h
        self.by_build = by_build


# ---------------------------------------------------------------------------------------
# Hosts

FIRST = ["anna", "ben", "carla", "david", "elena", "farid", "greta", "hugo", "ines", "jonas", "kira", "liam",
         "maria", "nils", "olga", "pavel", "quinn", "rosa", "sam", "tara", "umar", "vera", "wim", "xena",
         "yusuf", "zoe", "aiko", "bruno", "chen", "dana", "emil", "fatima", "gus", "hana", "ivan", "jade"]
LAST = ["smith", "mueller", "rossi", "garcia", "novak", "kowalski", "jensen", "dubois", "silva", "tanaka",
        "okafor", "lindqvist", "schmidt", "moreau", "kumar", "nguyen", "brown", "wilson", "ivanova", "berg"]


class Host:
    __slots__ = ("idx", "hid", "name", "fqdn", "kind", "schema", "ci_schema", "ci_enforced", "user", "build",
                 "model", "defender_mode", "defender_sha256", "ecs_x509", "ocsf_version", "apps", "pop_cum",
                 "pop_names", "app_cum", "seen", "ci_seen", "record_id", "sysmon1", "flat_flavor", "evtx_array",
                 "lab")

    def __init__(self):
        self.seen: set[str] = set()
        self.ci_seen: set[tuple[str, int]] = set()
        self.record_id = 1000


# ---------------------------------------------------------------------------------------
# The simulator


class Sim:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.ids = Ids(args.seed)
        self.start = parse_time(args.start)
        self.end = self.start + args.days * DAY_MS
        self.schemas = [s.strip() for s in args.schemas.split(",") if s.strip()]
        bad = [s for s in self.schemas if s not in ALL_SCHEMAS]
        if bad:
            raise SystemExit(f"fleet_sim: unknown schema(s) {bad}; choose from {','.join(ALL_SCHEMAS)}")
        self.proc_schemas = [s for s in PROCESS_SCHEMAS if s in self.schemas]
        if not self.proc_schemas:
            raise SystemExit("fleet_sim: --schemas needs at least one of " + ", ".join(PROCESS_SCHEMAS))
        self.sysmon_schemas = [s for s in SYSMON_TRANSPORTS if s in self.schemas]
        self.file_pop: dict[str, str] = {}  # sha256 and sha1 of benign files -> population
        self.events: list[tuple[int, int, str]] = []
        self.seq = 0
        self.pop_counts: dict[str, int] = {}
        self.schema_counts: dict[str, int] = {}
        self.scenarios: list[dict] = []
        self.skipped: list[dict] = []
        self.intel_rows: list[tuple[str, str, str, str]] = []
        self.pid = 1000
        # Lab populations (build_lab_catalog): DLLs an executable loads (by its path
        # template), their population, and DLLs a process loads on hosts with a per-user app.
        self.attached: dict[str, list[Exe]] = {}
        self.attached_pop: dict[str, str] = {}
        self.user_hosted: list[tuple] = []
        self.lab_apps: list[tuple] = []

    # -- output ---------------------------------------------------------------------------

    def emit(self, t: int, doc, schema: str, pop: str):
        self.seq += 1
        self.events.append((t, self.seq, dump(doc)))
        self.pop_counts[pop] = self.pop_counts.get(pop, 0) + 1
        self.schema_counts[schema] = self.schema_counts.get(schema, 0) + 1

    def next_pid(self) -> int:
        self.pid = (self.pid * 1103515245 + 12345) % 65521
        return 4 * (self.pid % 16000) + 400

    # -- catalog ----------------------------------------------------------------------------

    def days_before(self, lo: float, hi: float) -> int:
        return self.start - int(self.rng.uniform(lo, hi) * DAY_MS)

    def build_catalog(self):
        ids, rng, start = self.ids, self.rng, self.start
        self.pops: dict[str, list[App]] = {}

        def add(pop, app):
            self.pops.setdefault(pop, []).append(app)

        # Microsoft Windows: system binaries, one hash per OS build.
        win_certs = [
            Cert(ids, "Microsoft Windows", "Microsoft Corporation", "Microsoft Windows Production PCA 2011",
                 start - 420 * DAY_MS, start + 310 * DAY_MS,
                 subject_dn="CN=Microsoft Windows, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
                 serial="33000004a1b2c3d4e5f60718293a4b000000004a1"),
            Cert(ids, "Microsoft Windows", "Microsoft Corporation", "Microsoft Windows Production PCA 2011",
                 start - 160 * DAY_MS, start + 570 * DAY_MS,
                 subject_dn="CN=Microsoft Windows, O=Microsoft Corporation, L=Redmond, S=Washington, C=US",
                 serial="33000004c5d6e7f8091a2b3c4d000000004c5"),
        ]
        self.builds = ["10.0.22631.4602", "10.0.22631.4751", "10.0.26100.2605"]
        build_cert = [win_certs[0], win_certs[1], win_certs[1]]
        self.win_certs = win_certs
        # Windows 11 24H2 (the third build) signs many inbox binaries as "Microsoft Windows
        # Publisher" (as Server 2022 does svchost.exe).
        self.win_publisher = Cert(ids, "Microsoft Windows Publisher", "Microsoft Corporation",
                                  "Microsoft Windows Production PCA 2011", start - 230 * DAY_MS, start + 135 * DAY_MS,
                                  subject_dn="CN=Microsoft Windows Publisher, O=Microsoft Corporation, L=Redmond, "
                                             "S=Washington, C=US")
        for rank, entry in enumerate(WINDOWS_BINARIES):
            name, folder, desc = entry
            exes = []
            for b, build in enumerate(self.builds):
                publisher = b == 2 and name in WINDOWS_PUBLISHER_SIGNED and self.args.lab_populations
                bc = self.win_publisher if publisher else build_cert[b]
                exes.append(Exe(ids, f"{folder}\\{name}", "major_vendor_windows", bc,
                                company="Microsoft Corporation", product="Microsoft\u00ae Windows\u00ae Operating System",
                                description=desc, ofn=name.upper() if rank % 3 == 0 else name,
                                version=f"{build} (WinBuild.160101.0800)", signing_time=bc.not_before + 20 * DAY_MS))
            add("major_vendor_windows", App(exes, 1.0 / (rank + 1) ** 0.8, "major_vendor_windows", by_build=True))

        # Windows Defender platform (runs from ProgramData on every host).
        ms_corp = Cert(ids, "Microsoft Corporation", "Microsoft Corporation", "Microsoft Code Signing PCA 2011",
                       start - 250 * DAY_MS, start + 115 * DAY_MS,
                       subject_dn="CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US")
        ms_corp2 = Cert(ids, "Microsoft Corporation", "Microsoft Corporation", "Microsoft Code Signing PCA 2011",
                        start - 95 * DAY_MS, start + 270 * DAY_MS,
                        subject_dn="CN=Microsoft Corporation, O=Microsoft Corporation, L=Redmond, S=Washington, C=US")
        self.ms_corp = ms_corp2
        for exe, desc, w in (("MsMpEng.exe", "Antimalware Service Executable", 0.08),
                             ("MpCmdRun.exe", "Microsoft Malware Protection Command Line Utility", 0.03),
                             ("NisSrv.exe", "Microsoft Network Realtime Inspection Service", 0.02)):
            v_old = Exe(ids, f"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\{exe}",
                        "major_vendor_apps", ms_corp, company="Microsoft Corporation",
                        product="Microsoft\u00ae Windows\u00ae Operating System", description=desc, version="4.18.24090.11")
            v_new = Exe(ids, f"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24100.7-0\\{exe}",
                        "major_vendor_apps", ms_corp2, company="Microsoft Corporation",
                        product="Microsoft\u00ae Windows\u00ae Operating System", description=desc, version="4.18.24100.7")
            add("major_vendor_apps", App([v_old, v_new], w, "major_vendor_apps",
                                         rollout=start + int(0.6 * DAY_MS)))

        # Big vendors' applications under Program Files, with version rollouts.
        self.vendor_certs: dict[str, Cert] = {"Microsoft Corporation": ms_corp2}
        for vendor, org, issuer in BIG_VENDORS:
            self.vendor_certs[vendor] = Cert(ids, vendor, org, issuer, self.days_before(60, 400),
                                             start + int(rng.uniform(120, 700)) * DAY_MS)
        for (vendor, path, desc, product, share, weight, versions, rollout_day) in BIG_APPS:
            cert = self.vendor_certs[vendor]
            company = vendor if vendor != "Microsoft Windows" else "Microsoft Corporation"
            exes = [Exe(ids, path, "major_vendor_apps", cert, company=company, product=product, description=desc,
                        version=v, signing_time=cert.not_before + (i + 1) * 9 * DAY_MS)
                    for i, v in enumerate(versions)]
            app = App(exes, weight, "major_vendor_apps",
                      rollout=(start + int(rollout_day * DAY_MS)) if rollout_day is not None else None)
            app.share = share  # type: ignore[attr-defined]
            add("big_apps", app)

        # WHQL-signed driver utilities from the driver store: per hardware model.
        whql = Cert(ids, "Microsoft Windows Hardware Compatibility Publisher", "Microsoft Corporation",
                    "Microsoft Windows Third Party Component CA 2014", start - 200 * DAY_MS, start + 165 * DAY_MS,
                    subject_dn="CN=Microsoft Windows Hardware Compatibility Publisher, O=Microsoft Corporation, "
                               "L=Redmond, S=Washington, C=US")
        self.whql = whql
        self.models: list[list[App]] = []
        self.model_weights: list[float] = []
        n_models = 48
        for m in range(n_models):
            tools = []
            for k in range(14):
                oem, short = OEMS[(m * 7 + k * 3) % len(OEMS)]
                word = DRIVER_WORDS[(m * 5 + k) % len(DRIVER_WORDS)]
                inf = f"{short.lower()}{word.lower()}{m:02d}"
                exe_name = f"{short}{word}{'Svc' if k % 3 == 0 else 'Service' if k % 3 == 1 else ''}64.exe"
                path = (f"C:\\Windows\\System32\\DriverStore\\FileRepository\\{inf}.inf_amd64_"
                        f"{ids.hex('inf', m, k, n=16)}\\{exe_name}")
                # Most driver-store utilities carry the OEM's own embedded signature; some
                # are only catalog-signed, and then report the WHQL publisher as signer.
                signer = whql if (m + k) % 10 < 3 else self.oem_cert(oem)
                tools.append(App([Exe(ids, path, "whql_driver_tools", signer, company=oem,
                                      product=f"{oem.split(' ')[0]} {word} Driver", description=f"{word} Service",
                                      version=f"{1 + k % 9}.{m}.{k * 37 % 1000}.0",
                                      signing_time=signer.not_before + (m + k) * DAY_MS)],
                                 1.0 / (k + 1), "whql_driver_tools"))
            self.models.append(tools)
            self.model_weights.append(1.0 / (m + 1) ** 1.1)

        # Per-user installs and updaters in %LOCALAPPDATA% / AppData\Roaming.
        self.user_apps: list[tuple[App, float]] = []
        for vendor, org, issuer, rel, desc, product, share, versions, rollout_day in PER_USER:
            cert = self.vendor_certs.get(vendor)
            if cert is None:
                cert = Cert(ids, vendor, org, issuer, self.days_before(90, 500), start + int(rng.uniform(90, 600)) * DAY_MS)
                self.vendor_certs[vendor] = cert
            exes = [Exe(ids, "C:\\Users\\{user}\\" + rel, "per_user_updaters", cert, company=org, product=product,
                        description=desc, version=v, signing_time=cert.not_before + (i + 2) * 11 * DAY_MS,
                        key=f"peruser|{rel}|{v}")
                    for i, v in enumerate(versions)]
            self.user_apps.append((App(exes, 1.0, "per_user_updaters",
                                       rollout=(start + int(rollout_day * DAY_MS)) if rollout_day is not None else None),
                                   share))

        # Long tail: small vendors under the public CAs, Zipf-distributed installs.
        self.long_tail: list[tuple[App, float]] = []
        ca_names = ["DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1", "Sectigo Public Code Signing CA R36",
                    "Sectigo Public Code Signing CA EV R36", "GlobalSign GCC R45 EV CodeSigning CA 2020",
                    "GlobalSign GCC R45 CodeSigning CA 2020", "Entrust Code Signing CA - OVCS2",
                    "SSL.com EV Code Signing Intermediate CA RSA R3", "Certum Code Signing 2021 CA"]
        ca_w = [30, 14, 10, 8, 7, 8, 9, 6]
        used = set()
        vendors = []
        while len(vendors) < self.args.long_tail_vendors:
            a = rng.choice(VENDOR_A)
            b = rng.choice(VENDOR_B)
            suffix = rng.choice(VENDOR_SUFFIX)
            name = f"{a} {b} {suffix}"
            if (a, b) in used:
                continue
            used.add((a, b))
            vendors.append((a, b, name, suffix))
        for rank, (a, b, name, suffix) in enumerate(vendors):
            issuer = rng.choices(ca_names, ca_w)[0]
            not_after = start + int(rng.uniform(25, 900) * DAY_MS)
            validity = rng.choice([365, 730, 1095])
            not_before = min(not_after - validity * DAY_MS, start - int(rng.uniform(30, 200) * DAY_MS))
            cert = Cert(ids, name, name, issuer, not_before, not_after,
                        country=COUNTRY.get(suffix, "US"))
            share = min(0.35, 0.30 / (rank + 1) ** 0.95)
            for p in range(1 + rank % 3):
                product = f"{a} {PRODUCT_WORDS[(rank + p) % len(PRODUCT_WORDS)]}"
                exe_name = f"{(a[:4] + PRODUCT_WORDS[(rank + p) % len(PRODUCT_WORDS)][:4]).lower()}.exe"
                pf = "C:\\Program Files (x86)" if (rank + p) % 4 == 0 else "C:\\Program Files"
                path = f"{pf}\\{a} {b}\\{product}\\{exe_name}"
                exes = [Exe(ids, path, "long_tail_vendors", cert, company=name, product=product,
                            description=f"{product}", version=f"{1 + rank % 7}.{p}.{v}.{rank * 13 % 500}",
                            signing_time=not_before + (v + 1) * 17 * DAY_MS)
                        for v in range(1 + (rank + p) % 2)]
                self.long_tail.append((App(exes, 1.0 / (p + 1), "long_tail_vendors"), share / (p + 1) ** 0.5))

        # Internal PKI (untrusted root by design; listed in internal_pki_issuers).
        contoso = [
            Cert(ids, "Contoso Ltd Software Publishing", "Contoso Ltd", CONTOSO_CA, start - 700 * DAY_MS,
                 start + 400 * DAY_MS, issuer_dn=CONTOSO_CA_DN, serial=CONTOSO_CERTS[0][0]),
            Cert(ids, "Contoso Payroll Engineering", "Contoso Ltd", CONTOSO_CA, start - 300 * DAY_MS,
                 start + 430 * DAY_MS, issuer_dn=CONTOSO_CA_DN, serial=CONTOSO_CERTS[1][0]),
        ]
        # Fixed, seed-independent identities: sim_config.yaml lists these thumbprints in
        # detectors.signature_untrusted.internal_pki_thumbprints.
        for c, (serial, thumb256, thumb1) in zip(contoso, CONTOSO_CERTS):
            c.thumb256, c.thumb1 = thumb256, thumb1
        self.contoso_certs = contoso
        self.internal: list[tuple[App, float]] = []
        for rel, desc, product, ci, share, w in INTERNAL_APPS:
            path = rel if rel.startswith("C:") else "C:\\Users\\{user}\\" + rel
            exe = Exe(ids, path, "internal_pki", contoso[ci], status="untrusted_root", company="Contoso Ltd",
                      product=product, description=desc, version="3.2.1.0", key=f"contoso|{rel}",
                      signing_time=contoso[ci].not_before + 30 * DAY_MS)
            self.internal.append((App([exe], w, "internal_pki"), share))

        # Vendor binaries still deployed after their certificate expired (signed in time).
        self.expired: list[tuple[App, float]] = []
        for vendor, country, issuer, path, desc, expired_days_ago, share in EXPIRED_DEPLOYED:
            not_after = start - expired_days_ago * DAY_MS
            cert = Cert(ids, vendor, vendor, issuer, not_after - 1095 * DAY_MS, not_after, country=country)
            exe = Exe(ids, path, "expired_but_deployed", cert, status="expired", company=vendor, product=desc,
                      description=desc, version="5.4.0.12", signing_time=not_after - int(rng.uniform(90, 600)) * DAY_MS)
            self.expired.append((App([exe], 1.0, "expired_but_deployed"), share))

        # Open-source signers from lesser-known CAs (Certum open-source certificates, SSL.com).
        self.open_source: list[tuple[App, float]] = []
        for signer, company, issuer, rel, desc, share in OPEN_SOURCE:
            cert = Cert(ids, signer, signer, issuer, self.days_before(60, 500), start + int(rng.uniform(60, 500)) * DAY_MS,
                        subject_dn=f"CN={dn_escape(signer)}, O={dn_escape(signer)}, C=PL"
                        if signer.startswith("Open Source Developer") else None)
            path = rel if rel.startswith("C:") else "C:\\Users\\{user}\\" + rel
            exe = Exe(ids, path, "open_source_lesser_ca", cert, company=company, product=desc, description=desc,
                      version="2.57.1.0", key=f"oss|{rel}", signing_time=cert.not_before + 40 * DAY_MS)
            self.open_source.append((App([exe], 1.0, "open_source_lesser_ca"), share))

        # Unsigned tools (no signer facts: in scope for nothing).
        self.unsigned: list[tuple[App, float]] = []
        for rel, share in UNSIGNED:
            path = rel if rel.startswith("C:") else "C:\\Users\\{user}\\" + rel
            self.unsigned.append((App([Exe(ids, path, "unsigned", None, key=f"unsigned|{rel}")], 1.0, "unsigned"),
                                  share))

        # Optional hard case: long-tail vendors that renewed their certificate days ago and
        # ship a new build signed with it (cs.certificate.recently_issued cannot tell).
        self.renewals: list[tuple[App, float]] = []
        for r in range(self.args.cert_renewals):
            a, b, name, suffix = vendors[(r * 37 + 3) % len(vendors)]
            nb = start - int((4 + 3 * r) * DAY_MS)
            cert = Cert(ids, name, name, "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1", nb,
                        nb + 365 * DAY_MS, country=COUNTRY.get(suffix, "US"))
            path = f"C:\\Program Files\\{a} {b}\\{a} Updater\\{a[:4].lower()}upd.exe"
            exe = Exe(ids, path, "vendor_cert_renewal", cert, company=name, product=f"{a} Updater",
                      description=f"{a} Updater", version="7.0.0.1", signing_time=nb + DAY_MS)
            self.renewals.append((App([exe], 1.0, "vendor_cert_renewal"), 0.05 if r % 2 == 0 else 0.0015))

    def oem_cert(self, oem: str) -> Cert:
        cache = self.__dict__.setdefault("_oem_certs", {})
        c = cache.get(oem)
        if c is None:
            c = self.vendor_certs.get(oem) or Cert(
                self.ids, oem, oem, "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
                self.start - (100 + len(cache) * 23) * DAY_MS, self.start + (200 + len(cache) * 31) * DAY_MS)
            cache[oem] = c
        return c

    # -- lab populations: what real benign lab telemetry showed --------------------------------

    def build_lab_catalog(self):
        """Benign software whose signer names differ from the PE company by design, seen in
        real lab telemetry (Sysmon 7 image loads included): Microsoft's many signer names,
        runtimes and tools that ship third-party DLLs under their own signature, per-user
        installs, and old software signed before its certificate expired. Uses no random
        draws: the main fleet stays what it was."""
        ids, start, D = self.ids, self.start, DAY_MS
        MS_DN = ", O=Microsoft Corporation, L=Redmond, S=Washington, C=US"

        def mscert(cn, issuer, nb, na):
            return Cert(ids, cn, "Microsoft Corporation", issuer, start - nb * D, start + na * D,
                        subject_dn=f"CN={cn}{MS_DN}")

        win_phone = mscert("Windows Phone", "Microsoft Windows Phone Production PCA 2012", 300, 65)
        ms_3p_app = mscert("Microsoft 3rd Party Application Component", "Microsoft Windows Third Party Component CA 2012",
                           260, 105)
        ms_3p_win = mscert("Microsoft Windows 3rd party Component", "Microsoft Windows Third Party Component CA 2012",
                           280, 85)
        ms_corp, ms_win, whql = self.ms_corp, self.win_certs[1], self.whql

        def vendor(cn, issuer, nb, na, o=None, country="US"):
            return Cert(ids, cn, o or cn, issuer, start - nb * D, start + na * D, country=country)

        digicert = "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"
        psf = vendor("Python Software Foundation", digicert, 420, 310)
        wireshark = vendor("Wireshark Foundation, Inc.", digicert, 200, 530)
        schindelin = vendor("Johannes Schindelin", "Certum Code Signing 2021 CA", 330, 400, country="DE")
        openjs = vendor("OpenJS Foundation", digicert, 150, 580)
        insecure = vendor("Insecure.Com LLC", digicert, 380, 350)
        winrar = vendor("win.rar GmbH", "GlobalSign GCC R45 CodeSigning CA 2020", 240, 490, country="DE")
        oracle = vendor("Oracle Corporation", digicert, 700, 30)
        # Old vendors: certificates that expired years ago, every file timestamped in time.
        sorrel = vendor("Sorrel Document Systems Ltd", "Symantec Class 3 SHA256 Code Signing CA", 1830 + 1095, -1830,
                        country="GB")
        tandem = vendor("Tandem Scientific Instruments Inc.", "DigiCert SHA2 Assured ID Code Signing CA", 1100 + 1095, -1100)

        def x(path, cert, company, product, desc, version, ofn=None, pop="lab", status="valid", signing=None):
            # signing: the signing time; None = 30 days into the certificate; False = none.
            st = None if signing is False else signing if signing is not None else cert.not_before + 30 * D
            return Exe(ids, path, pop, cert, status=status, company=company, product=product, description=desc,
                       ofn=ofn, version=version, signing_time=st, key=f"lab|{path}|{version}|{cert.cn if cert else '-'}")

        WA = "C:\\Program Files\\WindowsApps"
        VS = "Microsoft\u00ae Visual Studio\u00ae"
        CRT = "Microsoft\u00ae C Runtime Library"

        def vclibs(ver, cert):
            d = f"{WA}\\Microsoft.VCLibs.140.00_{ver}_x64__8wekyb3d8bbwe"
            return [x(f"{d}\\vccorlib140_app.dll", cert, "Microsoft Corporation", VS,
                      "Microsoft \u00ae VC WinRT core library", ver, ofn="vccorlib140_app.DLL"),
                    x(f"{d}\\msvcp140_app.dll", cert, "Microsoft Corporation", VS, CRT, ver, ofn="msvcp140_app.dll"),
                    x(f"{d}\\vcruntime140_app.dll", cert, "Microsoft Corporation", VS, CRT, ver,
                      ofn="vcruntime140_app.dll")]

        vcl_old = vclibs("14.0.29231.0", win_phone)  # framework package signed "Windows Phone"
        vcl_new = vclibs("14.0.33519.0", ms_corp)
        uixaml = x(f"{WA}\\Microsoft.UI.Xaml.2.8_8.2310.30001.0_x64__8wekyb3d8bbwe\\Microsoft.UI.Xaml.dll", ms_corp,
                   "Microsoft Corporation", "Microsoft.UI.Xaml", "Microsoft.UI.Xaml", "3.1.5.0")
        winsqlite = x("C:\\Windows\\System32\\winsqlite3.dll", ms_3p_win, "SQLite Development Team", "SQLite",
                      "SQLite is a software library that implements a self-contained, serverless, zero-configuration, "
                      "transactional SQL database engine.", "3.43.2", ofn="")

        def store(pkg, exe, desc, product, ver, cert, ofn=None):
            return x(f"{WA}\\{pkg}\\{exe}", cert, "Microsoft Corporation", product, desc, ver, ofn=ofn)

        S32 = "C:\\Windows\\System32"
        ps = f"{S32}\\WindowsPowerShell\\v1.0\\powershell.exe"
        explorer = "C:\\Windows\\explorer.exe"
        svchost = f"{S32}\\svchost.exe"
        OSSL = "The OpenSSL Project, https://www.openssl.org/"

        def ossl(path, cert, ver, name):
            return x(path, cert, OSSL, "The OpenSSL Toolkit", "OpenSSL library", ver, ofn=name)

        PY = "C:\\Users\\{user}\\AppData\\Local\\Programs\\Python\\Python39"
        PY3 = "C:\\Program Files\\Python311"
        W = "C:\\Program Files\\Wireshark"
        WS = "The Wireshark developer community"
        NP = f"{S32}\\Npcap"
        G = "C:\\Program Files\\Git"
        GIT = "The Git Development Community"
        FSF = "Free Software Foundation"
        npcap = [x(f"{NP}\\wpcap.dll", insecure, "", "", "", ""), x(f"{NP}\\Packet.dll", insecure, "", "", "", "")]
        glib = x(f"{W}\\libglib-2.0-0.dll", wireshark, "The GLib developer community", "GLib", "GLib", "2.78.4.0")
        git_crypto = [ossl(f"{G}\\mingw64\\bin\\libcrypto-3-x64.dll", schindelin, "3.2.1", "libcrypto-3-x64.dll"),
                      ossl(f"{G}\\mingw64\\bin\\libssl-3-x64.dll", schindelin, "3.2.1", "libssl-3-x64.dll")]
        vbox_new = "Oracle and/or its affiliates"
        VBOX = "Oracle VM VirtualBox Guest Additions"

        def vbox(cert, company, ver):
            return {"procs": [(x(f"{S32}\\VBoxTray.exe", cert, company, VBOX, "VirtualBox Guest Additions Tray Application",
                                 ver), (1.0, 1.0, 1.0), [], None)],
                    "hosted": [(explorer, x(f"{S32}\\VBoxMRXNP.dll", cert, company, VBOX,
                                            "VirtualBox Shared Folders Minirdr NP", ver, ofn="VBoxMRXNP.DLL"), 1.0),
                               (ps, x(f"{S32}\\VBoxMRXNP.dll", cert, company, VBOX,
                                      "VirtualBox Shared Folders Minirdr NP", ver, ofn="VBoxMRXNP.DLL"), 0.4)],
                    "drivers": [x(f"{S32}\\drivers\\{n}.sys", cert, company, VBOX, d, ver)
                                for n, d in (("VBoxGuest", "VirtualBox Guest Driver"),
                                             ("VBoxSF", "VirtualBox Shared Folders"),
                                             ("VBoxMouse", "VirtualBox Guest Mouse Driver"))]}

        def one(**v):
            return [(1.0, v)]

        # (key, population, share of workstations/servers/dev, variants [(weight, {procs, hosted,
        # drivers})]); procs: (exe, runs a day (ws, srv, dev), DLLs it loads, first day or None).
        R1 = (1.0, 0.5, 1.0)
        self.lab_apps = [
            # Store apps (per machine, under WindowsApps) on ~150 of 2000 hosts each; the
            # Calculator family comes signed "Windows Phone" (old) or "Microsoft Corporation".
            ("calculator", "ms_store_apps", (0.075, 0.01, 0.1), [
                (0.5, {"procs": [(store("Microsoft.WindowsCalculator_10.2008.2.0_x64__8wekyb3d8bbwe", "Calculator.exe",
                                        "Calculator", "Microsoft Calculator", "10.2008.2.0", win_phone), R1, vcl_old, None)]}),
                (0.5, {"procs": [(store("Microsoft.WindowsCalculator_11.2405.2.0_x64__8wekyb3d8bbwe", "CalculatorApp.exe",
                                        "Calculator", "Microsoft Calculator", "11.2405.2.0", ms_corp), R1,
                                  vcl_new + [uixaml], None)]})]),
            ("photos", "ms_store_apps", (0.075, 0.01, 0.1), one(procs=[(store(
                "Microsoft.Windows.Photos_2024.11100.16009.0_x64__8wekyb3d8bbwe", "Photos.exe", "Microsoft Photos",
                "Microsoft Photos", "2024.11100.16009.0", ms_corp), R1, vcl_old + [winsqlite], None)])),
            ("terminal", "ms_store_apps", (0.075, 0.02, 0.3), one(procs=[(store(
                "Microsoft.WindowsTerminal_1.21.3231.0_x64__8wekyb3d8bbwe", "WindowsTerminal.exe", "Windows Terminal",
                "Windows Terminal", "1.21.3231.0", ms_corp), (1.5, 1.0, 3.0), [uixaml] + vcl_new, None)])),
            ("notepad", "ms_store_apps", (0.075, 0.02, 0.1), one(procs=[(store(
                "Microsoft.WindowsNotepad_11.2410.21.0_x64__8wekyb3d8bbwe", "Notepad\\Notepad.exe", "Notepad", "Notepad",
                "11.2410.21.0", ms_corp, ofn="Notepad.exe"), (1.2, 0.5, 1.2), vcl_new + [uixaml], None)])),
            ("snipping", "ms_store_apps", (0.075, 0.0, 0.1), one(procs=[(store(
                "Microsoft.ScreenSketch_11.2409.25.0_x64__8wekyb3d8bbwe", "SnippingTool\\SnippingTool.exe", "Snipping Tool",
                "Snipping Tool", "11.2409.25.0", ms_corp), (0.8, 0.0, 0.8), vcl_old, None)])),
            # Inbox DLLs under other Microsoft signer names (image loads on every Sysmon host).
            ("inbox_dlls", "ms_windows_inbox_dlls", (1.0, 1.0, 1.0), one(hosted=[
                (svchost, winsqlite, 1.0),
                (svchost, x(f"{S32}\\perfos.dll", ms_win, "Microsoft Corporation",
                            "Microsoft\u00ae Windows\u00ae Operating System", "Windows System Performance Objects DLL",
                            "10.0.22631.4751 (WinBuild.160101.0800)", ofn="PERFOS.DLL"), 0.5)])),
            ("curl", "ms_windows_inbox_dlls", (0.2, 0.5, 0.6), one(procs=[(x(
                f"{S32}\\curl.exe", ms_win, "curl, https://curl.se/", "The curl executable", "The curl executable",
                "8.9.1.0", ofn="curl.exe"), (0.5, 3.0, 2.0), [], None)])),
            # Teams classic: per-user, signed "Microsoft 3rd Party Application Component".
            ("teams_classic", "ms_3rd_party_app_component", (0.3, 0.0, 0.3), one(procs=[
                (x("C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe", ms_3p_app,
                   "Microsoft Corporation", "Microsoft Teams", "Microsoft Teams", "1.7.00.26062"), (2.0, 0, 2.0), [], None),
                (x("C:\\Users\\{user}\\AppData\\Local\\Microsoft\\Teams\\Update.exe", ms_3p_app, "Microsoft Corporation",
                   "Microsoft Teams", "Microsoft Teams", "1.3.00.34662", ofn="Update.exe"), (1.0, 0, 1.0), [], None)])),
            # WHQL (catalog) signatures on other vendors' files, and VirtualBox guests.
            ("virtualbox", "whql_third_party_dlls", (0.03, 0.05, 0.35), [
                (0.6, vbox(whql, vbox_new, "7.0.14.11095")), (0.4, vbox(oracle, "Oracle Corporation", "6.1.38.153438"))]),
            ("hp_print", "whql_third_party_dlls", (0.35, 0.08, 0.1), one(hosted=[
                (f"{S32}\\spoolsv.exe", x(f"{S32}\\spool\\drivers\\x64\\3\\hpcpp310.dll", whql, "HP Inc.",
                                          "HP Universal Printing Driver", "HP UPD Configuration Module", "61.310.1.25919"), 1.0),
                (f"{S32}\\spoolsv.exe", x(f"{S32}\\spool\\drivers\\x64\\3\\hpmpm081.dll", whql, "HP Inc.",
                                          "HP Universal Printing Driver", "HP UPD Port Monitor", "61.310.1.25919"), 0.6)])),
            # Runtimes and tools that ship third-party DLLs signed by the product's signer.
            ("python_user", "bundled_third_party_dlls", (0.06, 0.0, 0.5), one(procs=[(
                x(f"{PY}\\python.exe", psf, "Python Software Foundation", "Python", "Python", "3.9.13"), (1.0, 0, 4.0),
                [x(f"{PY}\\python39.dll", psf, "Python Software Foundation", "Python", "Python Core", "3.9.13"),
                 x(f"{PY}\\vcruntime140.dll", ms_corp, "Microsoft Corporation", VS, CRT, "14.29.30139.0"),
                 x(f"{PY}\\DLLs\\_ssl.pyd", psf, "Python Software Foundation", "Python", "Python Core", "3.9.13"),
                 ossl(f"{PY}\\DLLs\\libcrypto-1_1.dll", psf, "1.1.1n", "libcrypto-1_1.dll"),
                 ossl(f"{PY}\\DLLs\\libssl-1_1.dll", psf, "1.1.1n", "libssl-1_1.dll")], None)])),
            ("python_machine", "bundled_third_party_dlls", (0.02, 0.06, 0.2), one(procs=[(
                x(f"{PY3}\\python.exe", psf, "Python Software Foundation", "Python", "Python", "3.11.9"), (0.5, 2.0, 2.0),
                [x(f"{PY3}\\python311.dll", psf, "Python Software Foundation", "Python", "Python Core", "3.11.9"),
                 ossl(f"{PY3}\\DLLs\\libcrypto-3.dll", psf, "3.0.13", "libcrypto-3.dll"),
                 ossl(f"{PY3}\\DLLs\\libssl-3.dll", psf, "3.0.13", "libssl-3.dll")], None)])),
            ("wireshark", "bundled_third_party_dlls", (0.02, 0.04, 0.4), one(procs=[
                (x(f"{W}\\Wireshark.exe", wireshark, WS, "Wireshark", "Wireshark", "4.2.5.0"), (0.5, 0.5, 1.5),
                 [x(f"{W}\\libwireshark.dll", wireshark, WS, "Wireshark", "Wireshark dissector library", "4.2.5.0"),
                  glib, x(f"{W}\\libgcc_s_seh-1.dll", wireshark, "", "", "", ""),
                  x(f"{W}\\libwinpthread-1.dll", wireshark, "MinGW-W64 Project. All rights reserved.",
                    "POSIX WinThreads for Windows", "POSIX WinThreads for Windows", "1.0.0.0"),
                  x(f"{W}\\Qt6Core.dll", wireshark, "The Qt Company Ltd.", "Qt6", "C++ Application Development Framework",
                    "6.5.3.0")] + npcap, None),
                (x(f"{W}\\dumpcap.exe", wireshark, WS, "Dumpcap", "Dumpcap", "4.2.5.0", ofn="Dumpcap.exe"), (0.5, 0.5, 1.5),
                 [glib] + npcap, None)])),
            ("git", "bundled_third_party_dlls", (0.03, 0.03, 0.9), one(procs=[
                (x(f"{G}\\cmd\\git.exe", schindelin, GIT, "Git", "Git for Windows", "2.45.2.1"), (1.0, 1.0, 6.0), [], None),
                (x(f"{G}\\mingw64\\bin\\git.exe", schindelin, GIT, "Git", "Git for Windows", "2.45.2.1"), (1.0, 1.0, 6.0),
                 [x(f"{G}\\mingw64\\bin\\libiconv-2.dll", schindelin, FSF, "libiconv: character set conversion library",
                    "LGPLed libiconv for Windows NT/2000/XP/Vista/7 and Windows 95/98/ME", "1.17.0.0"),
                  x(f"{G}\\mingw64\\bin\\libintl-8.dll", schindelin, FSF, "GNU gettext",
                    "LGPLed libintl for Windows NT/2000/XP/Vista/7 and Windows 95/98/ME", "0.22.4.0")], None),
                (x(f"{G}\\mingw64\\bin\\git-remote-https.exe", schindelin, GIT, "Git", "Git for Windows", "2.45.2.1"),
                 (0.5, 0.5, 3.0),
                 [x(f"{G}\\mingw64\\bin\\libcurl-4.dll", schindelin, "The curl library, https://curl.se/",
                    "The curl library", "libcurl Shared Library", "8.8.0.0"),
                  x(f"{G}\\mingw64\\bin\\libssh2-1.dll", schindelin, "The libssh2 library, https://www.libssh2.org/",
                    "libssh2", "The libssh2 library", "1.11.0.0")] + git_crypto, None)])),
            ("nodejs", "bundled_third_party_dlls", (0.02, 0.05, 0.7), one(procs=[(x(
                "C:\\Program Files\\nodejs\\node.exe", openjs, "Node.js", "Node.js", "Node.js JavaScript Runtime",
                "20.15.0"), (0.5, 2.0, 3.0), [], None)])),
            ("winrar", "bundled_third_party_dlls", (0.12, 0.05, 0.2), one(
                procs=[(x("C:\\Program Files\\WinRAR\\WinRAR.exe", winrar, "Alexander Roshal", "WinRAR", "WinRAR archiver",
                          "7.1.0"), (0.3, 0.1, 0.3), [], None)],
                hosted=[(explorer, x("C:\\Program Files\\WinRAR\\RarExt.dll", winrar, "Alexander Roshal", "WinRAR",
                                     "WinRAR shell extension", "7.1.0"), 1.5)])),
            # Old software signed (timestamped) while its certificate was valid, expired for
            # years; Sorrel's updater is deployed during the window (first seen late, an old
            # build of a signer the fleet knows), their filter drivers load at boot.
            ("sorrel", "legacy_signed_before_expiry", (0.1, 0.02, 0.05), one(
                procs=[(x("C:\\Program Files (x86)\\Sorrel\\DocCapture\\sdcap.exe", sorrel, sorrel.cn, "Sorrel DocCapture",
                          "Sorrel DocCapture", "4.2.0.311", status="expired", signing=sorrel.not_after - 400 * D),
                        (0.8, 0.5, 0.8), [], None),
                       (x("C:\\Program Files (x86)\\Sorrel\\DocCapture\\sdcapupd.exe", sorrel, sorrel.cn,
                          "Sorrel DocCapture", "Sorrel DocCapture Updater", "4.2.0.298", status="expired",
                          signing=sorrel.not_after - 520 * D), (0.5, 0.5, 0.5), [], 1.3)],
                drivers=[x("C:\\Windows\\System32\\drivers\\sdcapflt.sys", sorrel, sorrel.cn, "Sorrel DocCapture",
                           "Sorrel scanner filter", "4.2.0.300", status="expired", signing=False)])),
            ("tandem", "legacy_signed_before_expiry", (0.05, 0.0, 0.02), one(
                procs=[(x("C:\\Program Files (x86)\\Tandem\\LabLink\\lablink.exe", tandem, tandem.cn, "Tandem LabLink",
                          "Tandem LabLink", "2.8.1.0", status="expired", signing=tandem.not_after - 200 * D),
                        (1.5, 0, 1.5), [], None)],
                drivers=[x("C:\\Windows\\System32\\drivers\\tlusb64.sys", tandem, tandem.cn, "Tandem LabLink",
                           "Tandem LabLink USB driver", "2.8.0.4", status="expired", signing=False)])),
        ]
        for _key, pop, _share, variants in self.lab_apps:
            for _w, v in variants:
                for exe, _rate, dlls, _first in v.get("procs", ()):
                    if dlls:
                        self.attached[exe.path] = dlls
                        self.attached_pop[exe.path] = pop
        # DLLs of the per-user apps (per_user_updaters) in their own folders, and the
        # OneDrive shell extension explorer.exe loads on every OneDrive host.
        zoom = self.vendor_certs["Zoom Video Communications, Inc."]
        ZB = "C:\\Users\\{user}\\AppData\\Roaming\\Zoom\\bin"
        zc = "Zoom Video Communications, Inc."
        self.attached["C:\\Users\\{user}\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe"] = [
            x(f"{ZB}\\zVideoUI.dll", zoom, zc, "Zoom Meetings", "Zoom Video UI", "6.2.7.49583"),
            x(f"{ZB}\\zWebService.dll", zoom, zc, "Zoom Meetings", "Zoom Web Service", "6.2.7.49583")]
        self.attached_pop["C:\\Users\\{user}\\AppData\\Roaming\\Zoom\\bin\\Zoom.exe"] = "per_user_app_dlls"
        od = "C:\\Users\\{user}\\AppData\\Local\\Microsoft\\OneDrive"
        self.user_hosted = [(f"{od}\\OneDrive.exe", explorer,
                             x(f"{od}\\24.201.1006.0005\\FileSyncShell64.dll", ms_corp, "Microsoft Corporation",
                               "Microsoft OneDrive", "Microsoft OneDrive Shell Extension", "24.201.1006.0005"),
                             1.0, "per_user_app_dlls")]

    def model_drivers(self, h: Host) -> list[Exe]:
        """The hardware model's drivers (Sysmon 6 at boot): WHQL- or OEM-signed, next to
        the model's driver-store utilities."""
        cache = self.__dict__.setdefault("_model_drivers", {})
        out = cache.get(h.model)
        if out is None:
            out = []
            for app in self.models[h.model][:4]:
                tool = app.exes[0]
                folder, _, name = tool.path.rpartition("\\")
                base = name[:-6] if name.endswith("64.exe") else name.rsplit(".", 1)[0]
                for suffix in ("Svc", "Service"):
                    base = base[:-len(suffix)] if base.endswith(suffix) else base
                out.append(Exe(self.ids, f"{folder}\\{base.lower()}64.sys", "driver_loads", tool.cert,
                               company=tool.company, product=tool.product, description=f"{tool.product} (kernel)",
                               version=tool.version, signing_time=tool.signing_time))
            cache[h.model] = out
        return out

    def host_user_apps(self, h: Host) -> set[str]:
        for pop, (lst, _cum) in zip(h.pop_names, h.app_cum):
            if pop == "per_user_updaters":
                return {ap.exes[0].path for ap in lst}
        return set()

    def load_dll(self, h: Host, dll: Exe, loader: str, t: int, pop: str):
        """Sysmon 7: `loader` (a resolved path) loads `dll` (Sysmon hosts only)."""
        if h.schema not in SYSMON_TRANSPORTS:
            return
        path = dll.path.replace("{user}", h.user.split(".")[0]) if "{" in dll.path else dll.path
        self.emit(t, self.sysmon_doc(h, 7, dll, path, t, image=loader), h.schema, pop)
        self.file_pop.setdefault(dll.sha256, pop)
        self.file_pop.setdefault(dll.sha1, pop)

    def lab_time(self, rng: random.Random, h: Host, day_start: int) -> int:
        if h.kind == "server" or rng.random() < 0.18:
            return day_start + int(rng.random() * DAY_MS)
        hour = 7 + min(11.999, abs(rng.gauss(4.0, 2.8)))
        return day_start + int(hour * HOUR_MS + rng.random() * HOUR_MS) % DAY_MS

    def run_lab_benign(self):
        """The lab populations (build_lab_catalog), with a random generator of their own."""
        if not self.args.lab_populations:
            return
        rng = random.Random(self.seed * 2654435761 + 2026)
        kinds = {"workstation": 0, "server": 1, "dev": 2}

        def count(rate: float) -> int:
            n = int(rate)
            return n + (1 if rng.random() < rate - n else 0)

        for h in self.hosts:
            ki = kinds[h.kind]
            installed = []
            for _key, pop, share, variants in self.lab_apps:
                if rng.random() >= share[ki]:
                    continue
                v = variants[0][1] if len(variants) == 1 else rng.choices([v for _, v in variants],
                                                                           [w for w, _ in variants])[0]
                installed.append((pop, v))
            h.lab = installed
            sysmon = h.schema in SYSMON_TRANSPORTS
            user_apps = self.host_user_apps(h)
            drivers = [(d, "driver_loads") for d in self.model_drivers(h)] if sysmon else []
            drivers += [(d, pop) for pop, v in installed for d in v.get("drivers", ())] if sysmon else []
            for d in range(self.args.days):
                day_start = self.start + d * DAY_MS
                if drivers and (h.kind != "server" or d == 0):
                    tb = day_start + int(((6.0 + 2.5 * rng.random()) if h.kind != "server" else rng.random() * 24) * HOUR_MS)
                    for k, (drv, pop) in enumerate(drivers):
                        t = tb + 180 * k
                        self.emit(t, self.sysmon_doc(h, 6, drv, drv.path, t), h.schema, pop)
                        self.file_pop.setdefault(drv.sha256, pop)
                        self.file_pop.setdefault(drv.sha1, pop)
                for pop, v in installed:
                    for exe, rate, _dlls, first_day in v.get("procs", ()):
                        for _ in range(count(rate[ki])):
                            t = self.lab_time(rng, h, day_start)
                            if first_day is not None and t < self.start + int(first_day * DAY_MS):
                                continue
                            self.execute(h, exe, t, pop)
                    if sysmon:
                        for loader, dll, rate in v.get("hosted", ()):
                            for _ in range(count(rate)):
                                self.load_dll(h, dll, loader, self.lab_time(rng, h, day_start), pop)
                if sysmon:
                    for needs, loader, dll, rate, pop in self.user_hosted:
                        if needs in user_apps:
                            for _ in range(count(rate)):
                                self.load_dll(h, dll, loader, self.lab_time(rng, h, day_start), pop)


    # -- hosts ------------------------------------------------------------------------------

    def build_hosts(self):
        rng, ids, a = self.rng, self.ids, self.args
        n = a.hosts
        n_dev = max(2, round(n * a.dev_fraction))
        n_srv = round(n * 0.08)
        # Families in the original order (the Sysmon family where winlogbeat was), so that
        # the main generator draws the same hosts whatever transports the Sysmon hosts use;
        # the transport comes from a generator of its own.
        families = [s for s in ("ecs", "ocsf", "defender") if s in self.schemas]
        if self.sysmon_schemas:
            families.append("sysmon")
        weights = [SCHEMA_WEIGHTS[s] for s in families]
        trng = random.Random(self.seed * 15485863 + 7)
        split = [SYSMON_SPLIT[s] for s in self.sysmon_schemas]
        self.hosts: list[Host] = []
        ci_on = "codeintegrity" in self.schemas or "winlogbeat" in self.schemas
        for i in range(n):
            h = Host()
            h.idx = i
            if i < n_dev:
                h.kind, h.name = "dev", f"dev-{i + 1:04d}"
            elif i < n_dev + n_srv:
                h.kind, h.name = "server", f"srv-{i - n_dev + 1:04d}"
            else:
                h.kind, h.name = "workstation", f"ws-{i - n_dev - n_srv + 1:05d}"
            h.fqdn = f"{h.name}.corp.contoso.com"
            h.schema = rng.choices(families, weights)[0]
            if h.schema == "sysmon":
                h.schema = trng.choices(self.sysmon_schemas, split)[0]
            # flat: NXLog im_msvistalog through Logstash, or a HELK/Splunk-style export;
            # evtx: EventData as named members (evtx_dump) or as a Data[] array.
            h.flat_flavor = "nxlog" if trng.random() < 0.6 else "export"
            h.evtx_array = trng.random() < 0.3
            h.hid = ids.hex("device", i, n=40) if h.schema == "defender" else ids.guid("host", i)
            h.user = f"{rng.choice(FIRST)}.{rng.choice(LAST)}" if h.kind != "server" else "svc_ops"
            h.build = rng.choices(range(len(self.builds)), [0.25, 0.55, 0.20])[0]
            h.model = rng.choices(range(len(self.models)), self.model_weights)[0]
            h.defender_mode = rng.choices(["split", "joined", "envelope"], [0.45, 0.35, 0.20])[0]
            h.defender_sha256 = rng.random() < 0.7
            h.ecs_x509 = rng.random() < 0.9
            h.ocsf_version = "1.8.0" if rng.random() < 0.6 else "1.7.0"
            h.sysmon1 = rng.random() < 0.35
            h.ci_schema = None
            h.ci_enforced = False
            if ci_on and h.kind != "dev" and rng.random() < a.ci_fraction:
                if h.schema == "winlogbeat" and "winlogbeat" in self.schemas:
                    h.ci_schema = "winlogbeat"
                elif h.schema in ("flat", "evtx") and "codeintegrity" in self.schemas:
                    h.ci_schema = h.schema  # the host's own Windows event shape
                elif "codeintegrity" in self.schemas:
                    h.ci_schema = "codeintegrity"
                elif "winlogbeat" in self.schemas:
                    h.ci_schema = "winlogbeat"
                h.ci_enforced = h.ci_schema is not None and rng.random() < 0.3
            self.install(h)
            self.hosts.append(h)

    def install(self, h: Host):
        rng = self.rng
        apps: dict[str, list[App]] = {}
        apps["major_vendor_windows"] = list(self.pops["major_vendor_windows"])
        big = [ap for ap in self.pops["major_vendor_apps"]]
        for ap in self.pops["big_apps"]:
            if rng.random() < ap.share * (0.4 if h.kind == "server" else 1.0):  # type: ignore[attr-defined]
                big.append(ap)
        apps["major_vendor_apps"] = big
        apps["whql_driver_tools"] = list(self.models[h.model]) if h.kind != "server" else self.models[h.model][:3]

        def pick(pool, scale=1.0):
            return [ap for ap, share in pool if rng.random() < share * scale]

        user_scale = 0.1 if h.kind == "server" else 1.0
        apps["per_user_updaters"] = pick(self.user_apps, user_scale)
        apps["long_tail_vendors"] = pick(self.long_tail, 2.0 if h.kind == "dev" else 1.0)
        apps["internal_pki"] = pick(self.internal, 0.5 if h.kind == "server" else 1.0)
        apps["expired_but_deployed"] = pick(self.expired, user_scale)
        apps["open_source_lesser_ca"] = pick(self.open_source, 4.0 if h.kind == "dev" else user_scale)
        apps["unsigned"] = pick(self.unsigned, 3.0 if h.kind == "dev" else 1.0)
        apps["vendor_cert_renewal"] = pick(self.renewals)
        if h.kind == "dev":
            apps["dev_test_signed"] = [self.dev_app(h, k) for k in range(1 + h.idx % 3)]
        h.pop_names, weights = [], []
        h.app_cum = []
        for pop, lst in apps.items():
            if not lst:
                continue
            base = POP_WEIGHTS[pop]
            if h.kind == "server" and pop == "major_vendor_windows":
                base *= 1.3
            h.pop_names.append(pop)
            weights.append(base)
            cum, tot = [], 0.0
            for ap in lst:
                tot += ap.weight
                cum.append(tot)
            h.app_cum.append((lst, cum))
        tot, h.pop_cum = 0.0, []
        for w in weights:
            tot += w
            h.pop_cum.append(tot)

    def dev_app(self, h: Host, k: int) -> App:
        ids = self.ids
        proj = DEV_PROJECTS[(h.idx * 3 + k) % len(DEV_PROJECTS)]
        nb = self.start - int((30 + (h.idx * 17 + k * 5) % 300) * DAY_MS)
        cert = Cert(ids, f"WDKTestCert {h.user.split('.')[0]},{133700000000000000 + h.idx * 1000 + k}", "",
                    "Microsoft Testing Root Certificate Authority 2010", nb, nb + 3650 * DAY_MS,
                    subject_dn=f"CN=\"WDKTestCert {h.user.split('.')[0]},{133700000000000000 + h.idx * 1000 + k}\"")
        cert.o = cert.cn
        root = "C:\\dev\\build" if (h.idx + k) % 2 == 0 else "C:\\src"
        conf = "Debug" if k % 2 == 0 else "Release"
        path = (f"{root}\\{proj}\\x64\\{conf}\\{proj}.exe" if root == "C:\\dev\\build"
                else f"{root}\\{proj}\\out\\{conf}\\{proj}.exe")
        tmpl = Exe(ids, path, "dev_test_signed", cert, status="untrusted_root", company="Contoso Ltd",
                   product=proj, description=f"{proj} (development build)", version="0.0.0.0",
                   key=f"dev|{h.idx}|{k}")
        return App([tmpl], 1.0, "dev_test_signed")

    # -- time model ---------------------------------------------------------------------------

    def sample_time(self, h: Host, day_start: int) -> int:
        r = self.rng.random()
        if h.kind == "server" or r < 0.18:
            return day_start + int(self.rng.random() * DAY_MS)
        # working hours, 07:00-19:00 UTC, peaking late morning
        hour = 7 + min(11.999, abs(self.rng.gauss(4.0, 2.8)))
        return day_start + int(hour * HOUR_MS + self.rng.random() * HOUR_MS) % DAY_MS

    # -- rendering ----------------------------------------------------------------------------

    def resolve(self, h: Host, app: App, t: int) -> Exe:
        if app.by_build:
            return app.exes[h.build]
        if app.pop == "dev_test_signed":
            return self.dev_build(h, app.exes[0], t)
        if app.rollout is not None and len(app.exes) > 1:
            delay = int(self.ids.hex("rollout", h.idx, app.exes[-1].sha256, n=8), 16) % (36 * HOUR_MS)
            return app.exes[-1] if t >= app.rollout + delay else app.exes[-2]
        return app.exes[0]

    def dev_build(self, h: Host, tmpl: Exe, t: int) -> Exe:
        build = (t - self.start) // (6 * HOUR_MS)
        key = f"{tmpl.path}|{h.idx}|build{build}"
        cache = self.__dict__.setdefault("_dev_cache", {})
        x = cache.get(key)
        if x is None:
            x = Exe(self.ids, tmpl.path, "dev_test_signed", tmpl.cert, status="untrusted_root",
                    company=tmpl.company, product=tmpl.product, description=tmpl.description,
                    version=f"0.1.{build}.0", key=key, signing_time=t - int(0.3 * HOUR_MS))
            cache[key] = x
        return x

    def execute(self, h: Host, x: Exe, t: int, pop: str):
        """One execution of x on h at t, in the host's schema (plus Code Integrity audit)."""
        path = x.path.replace("{user}", h.user.split(".")[0]) if "{" in x.path else x.path
        s = h.schema
        if s == "ecs":
            self.emit(t, self.r_ecs(h, x, path, t), "ecs", pop)
        elif s == "ocsf":
            self.emit(t, self.r_ocsf(h, x, path, t), "ocsf", pop)
        elif s == "defender":
            for doc in self.r_defender(h, x, path, t):
                self.emit(t, doc, "defender", pop)
        else:  # Sysmon: Winlogbeat, flat or evtx
            if h.sysmon1:
                self.emit(t, self.sysmon_doc(h, 1, x, path, t), s, "sysmon_process_start")
            self.emit(t + 3, self.sysmon_doc(h, 7, x, path, t + 3), s, pop)
            # The executable's own DLLs it loads from its folder (or the framework's).
            for k, dll in enumerate(self.attached.get(x.path, ())):
                self.load_dll(h, dll, path, t + 40 + 25 * k, self.attached_pop[x.path])
        self.file_pop.setdefault(x.sha256, pop)
        self.file_pop.setdefault(x.sha1, pop)
        if h.ci_schema and pop == "internal_pki":
            # Audit-mode policy: Code Integrity logs 3076 + 3089 on the first load after boot
            # (its cache absorbs the repeats); one pair per file, host and day.
            key = (x.sha1, (t - self.start) // DAY_MS)
            if key not in h.ci_seen:
                h.ci_seen.add(key)
                self.ci_pair(h, x, path, t + 1, 3076, "ci_audit_internal", policy=CI_AUDIT_POLICY)

    # ECS: Elastic Defend process start, certificate from file.x509 (enrichment).
    def r_ecs(self, h: Host, x: Exe, path: str, t: int, x509: bool | None = None, cmdline: str | None = None,
              parent: str | None = None) -> dict:
        doc = {
            "@timestamp": iso_ms(t),
            "agent": {"type": "endpoint", "version": "8.15.3"},
            "ecs": {"version": "8.11.0"},
            "event": {"kind": "event", "category": ["process"], "type": ["start"], "action": "start",
                      "dataset": "endpoint.events.process", "module": "endpoint"},
            "host": {"id": h.hid, "name": h.name, "hostname": h.name,
                     "os": {"family": "windows", "type": "windows", "name": "Windows 11 Enterprise"}},
            "user": {"name": h.user.split(".")[0] if h.kind != "server" else h.user, "domain": "CONTOSO"},
        }
        parent = parent or "C:\\Windows\\explorer.exe"
        proc = {"pid": self.next_pid(), "executable": path, "name": x.name,
                "hash": {"sha256": x.sha256, "sha1": x.sha1, "md5": x.md5},
                "parent": {"executable": parent, "name": parent.rsplit("\\", 1)[-1]}}
        if cmdline:
            proc["command_line"] = cmdline
        c = x.cert
        if c is None:
            proc["code_signature"] = {"exists": False}
        else:
            cs = {"exists": True, "status": ECS_STATUS[x.status], "trusted": x.status == "valid",
                  "subject_name": c.cn, "thumbprint_sha256": c.thumb256}
            if x.signing_time is not None:
                cs["timestamp"] = iso_s(x.signing_time)
            proc["code_signature"] = cs
        pe = {}
        if x.ofn:
            pe["original_file_name"] = x.ofn
        if x.company:
            pe["company"] = x.company
        if x.product:
            pe["product"] = x.product
        if x.description:
            pe["description"] = x.description
        if x.version:
            pe["file_version"] = x.version
        if pe:
            proc["pe"] = pe
        doc["process"] = proc
        if c is not None and (h.ecs_x509 if x509 is None else x509):
            doc["file"] = {"x509": {
                "issuer": {"distinguished_name": c.issuer_dn, "common_name": [c.issuer_cn]},
                "subject": {"distinguished_name": c.subject_dn, "common_name": [c.cn]},
                "serial_number": c.serial.upper(),
                "not_before": iso_s(c.not_before), "not_after": iso_s(c.not_after)}}
        return doc

    # OCSF 1.7 (file.signature) / 1.8 (file.signatures[]) Process Activity, Launch.
    def r_ocsf(self, h: Host, x: Exe, path: str, t: int, cmdline: str | None = None) -> dict:
        f = {"name": x.name, "path": path, "type_id": 1, "size": x.size,
             "hashes": [{"algorithm_id": 3, "algorithm": "SHA-256", "value": x.sha256},
                        {"algorithm_id": 2, "algorithm": "SHA-1", "value": x.sha1}]}
        if x.company:
            f["company_name"] = x.company
        if x.product:
            f["product"] = {"name": x.product}
        if x.ofn:
            f["internal_name"] = x.ofn.rsplit(".", 1)[0]
        if x.version:
            f["version"] = x.version
        if x.description:
            f["desc"] = x.description
        c = x.cert
        if c is not None:
            state_id, state = OCSF_STATE[x.status]
            sig = {"algorithm_id": 4, "algorithm": "Authenticode", "state_id": state_id, "state": state,
                   "certificate": {"subject": c.subject_dn, "issuer": c.issuer_dn, "serial_number": c.serial.upper(),
                                   "created_time": c.not_before, "expiration_time": c.not_after,
                                   "fingerprints": [{"algorithm_id": 3, "algorithm": "SHA-256", "value": c.thumb256}]}}
            if x.signing_time is not None:
                sig["created_time"] = x.signing_time
            if h.ocsf_version == "1.8.0":
                f["signatures"] = [sig]
            else:
                f["signature"] = sig
        user = h.user.split(".")[0] if h.kind != "server" else h.user
        proc = {"pid": self.next_pid(), "user": {"name": user}, "file": f}
        if cmdline:
            proc["cmd_line"] = cmdline
        return {
            "metadata": {"version": h.ocsf_version, "product": {"name": "Fabrikam XDR", "vendor_name": "Fabrikam"}},
            "class_uid": 1007, "class_name": "Process Activity", "category_uid": 1, "activity_id": 1,
            "activity_name": "Launch", "type_uid": 100701, "severity_id": 1, "time": t,
            "device": {"uid": h.hid, "hostname": h.fqdn, "name": h.name, "type_id": 1 if h.kind == "server" else 2,
                       "os": {"name": "Windows", "type_id": 100}},
            "actor": {"user": {"name": user}},
            "process": proc,
        }

    # Microsoft Defender: DeviceProcessEvents (+ DeviceFileCertificateInfo once per file and
    # device), a row joined upstream, or the streaming-export envelope.
    def r_defender(self, h: Host, x: Exe, path: str, t: int, force_sha256: bool = False,
                   cmdline: str | None = None) -> list[dict]:
        ts = iso_7(t)
        h.record_id += 1
        user = h.user.split(".")[0] if h.kind != "server" else h.user
        proc = {"Timestamp": ts, "DeviceId": h.hid, "DeviceName": h.fqdn, "ActionType": "ProcessCreated",
                "FileName": x.name, "FolderPath": path, "SHA1": x.sha1,
                "SHA256": x.sha256 if (h.defender_sha256 or force_sha256) else "", "MD5": x.md5,
                "FileSize": x.size, "ProcessVersionInfoCompanyName": x.company,
                "ProcessVersionInfoProductName": x.product, "ProcessVersionInfoProductVersion": x.version,
                "ProcessVersionInfoInternalFileName": x.ofn.rsplit(".", 1)[0] if x.ofn else "",
                "ProcessVersionInfoOriginalFileName": x.ofn, "ProcessVersionInfoFileDescription": x.description,
                "ProcessId": self.next_pid(), "ProcessCommandLine": cmdline or f"\"{x.name}\"", "AccountDomain": "contoso",
                "AccountName": user, "InitiatingProcessFileName": "explorer.exe",
                "InitiatingProcessFolderPath": "c:\\windows\\explorer.exe", "InitiatingProcessAccountName": user,
                "InitiatingProcessSignatureStatus": "Valid", "MachineGroup": "Workstations", "ReportId": h.record_id}
        cert = self.defender_cert_columns(h, x, ts)
        if h.defender_mode == "joined":
            proc.update(cert)
            return [proc]
        first = x.sha1 not in h.seen
        if first:
            h.seen.add(x.sha1)
        if h.defender_mode == "split":
            return [proc, cert] if first else [proc]
        recs = [{"time": iso_7(t + 45_000), "tenantId": TENANT, "operationName": "Publish",
                 "category": "AdvancedHunting-DeviceProcessEvents", "properties": proc}]
        if first:
            recs.append({"time": iso_7(t + 45_000), "tenantId": TENANT, "operationName": "Publish",
                         "category": "AdvancedHunting-DeviceFileCertificateInfo", "properties": cert})
        return [{"records": recs}]

    def defender_cert_columns(self, h: Host, x: Exe, ts: str) -> dict:
        c = x.cert
        row = {"Timestamp": ts, "DeviceId": h.hid, "DeviceName": h.fqdn, "SHA1": x.sha1}
        if c is None:
            row.update({"IsSigned": False, "SignatureType": "Embedded", "Signer": "", "SignerHash": "", "Issuer": "",
                        "IssuerHash": "", "CertificateSerialNumber": "", "CrlDistributionPointUrls": None,
                        "CertificateCreationTime": "", "CertificateExpirationTime": "",
                        "CertificateCountersignatureTime": None, "IsTrusted": False, "IsRootSignerMicrosoft": False})
        else:
            # Defender's IsTrusted: a timestamped signature stays trusted after expiry.
            trusted = x.status == "valid" or (x.status == "expired" and x.signing_time is not None
                                               and x.signing_time < c.not_after)
            row.update({"IsSigned": True, "SignatureType": "Embedded", "Signer": c.cn, "SignerHash": c.thumb1,
                        "Issuer": c.issuer_cn, "IssuerHash": self.ids.hex("issuerhash", c.issuer_dn, n=40),
                        "CertificateSerialNumber": c.serial.upper(), "CrlDistributionPointUrls": None,
                        "CertificateCreationTime": iso_s(c.not_before), "CertificateExpirationTime": iso_s(c.not_after),
                        "CertificateCountersignatureTime": iso_s(x.signing_time) if x.signing_time else None,
                        "IsTrusted": trusted, "IsRootSignerMicrosoft": c.root_microsoft})
        row["MachineGroup"] = "Workstations"
        row["ReportId"] = h.record_id
        return row

    # Winlogbeat: Sysmon 1 (process create, no signature) and 7 (image load of the exe).
    def winlog(self, h: Host, channel: str, provider: str, guid: str, event_id, data: dict, version: int = 3,
               level: str = "information", activity: str | None = None) -> dict:
        h.record_id += 1
        w = {"channel": channel, "provider_name": provider, "provider_guid": guid, "api": "wineventlog",
             "computer_name": h.fqdn, "event_id": str(event_id), "record_id": h.record_id, "version": version,
             "level": level, "event_data": data}
        if activity:
            w["activity_id"] = activity
        return w

    def r_sysmon1(self, h: Host, x: Exe, path: str, t: int, cmdline: str | None = None,
                  parent: str | None = None) -> dict:
        user = h.user.split(".")[0] if h.kind != "server" else h.user
        parent = parent or "C:\\Windows\\explorer.exe"
        doc = {
            "@timestamp": iso_ms(t),
            "event": {"category": ["process"], "code": "1", "kind": "event", "module": "sysmon",
                      "provider": "Microsoft-Windows-Sysmon", "type": ["start"]},
            "host": {"id": h.hid, "name": h.name},
            "process": {"executable": path, "name": x.name, "pid": self.next_pid(),
                        "hash": {"sha1": x.sha1, "sha256": x.sha256},
                        "pe": {"company": x.company, "description": x.description, "file_version": x.version,
                               "original_file_name": x.ofn, "product": x.product},
                        "parent": {"executable": parent, "name": parent.rsplit("\\", 1)[-1]}},
            "user": {"domain": "CONTOSO", "name": user},
            "winlog": self.winlog(h, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon",
                                  SYSMON_GUID, 1, {"Company": x.company, "Description": x.description,
                                                   "FileVersion": x.version, "Product": x.product,
                                                   "IntegrityLevel": "High" if cmdline else "Medium"}, version=5),
        }
        if cmdline:
            doc["process"]["command_line"] = cmdline
            doc["winlog"]["event_data"]["CommandLine"] = cmdline
            doc["winlog"]["event_data"]["ParentImage"] = parent
        return doc

    # Sysmon 6: driver loaded (no issuer, serial or dates, as Sysmon writes it).
    def r_sysmon6(self, h: Host, x: Exe, path: str, t: int) -> dict:
        c = x.cert
        hashes = f"SHA1={x.sha1.upper()},MD5={x.md5.upper()},SHA256={x.sha256.upper()}"
        status = SYSMON_STATUS[x.status]
        cs = {"signed": c is not None, "status": status, "valid": x.status == "valid"}
        if c is not None:
            cs["subject_name"] = c.cn
        return {
            "@timestamp": iso_ms(t),
            "event": {"category": ["driver"], "code": "6", "kind": "event", "module": "sysmon",
                      "provider": "Microsoft-Windows-Sysmon", "type": ["start"]},
            "file": {"code_signature": cs, "hash": {"md5": x.md5, "sha1": x.sha1, "sha256": x.sha256},
                     "path": path},
            "host": {"id": h.hid, "name": h.name},
            "winlog": self.winlog(h, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon",
                                  SYSMON_GUID, 6, {"RuleName": "-", "UtcTime": iso_ms(t).replace("T", " ").rstrip("Z"),
                                                   "ImageLoaded": path, "Hashes": hashes,
                                                   "Signed": "true" if c is not None else "false",
                                                   "Signature": c.cn if c is not None else "",
                                                   "SignatureStatus": status}, version=4),
        }

    # Security 4616 (the system time was changed), through Winlogbeat.
    def r_4616(self, h: Host, t: int, process: str, sid: str, user: str, new_time: int) -> dict:
        pid = self.next_pid()
        data = {"SubjectUserSid": sid, "SubjectUserName": user,
                "SubjectDomainName": "NT AUTHORITY" if sid.startswith("S-1-5-1") and len(sid) == 8 else "CONTOSO",
                "SubjectLogonId": "0x3e5" if sid == "S-1-5-19" else "0x3e7" if sid == "S-1-5-18" else "0x1a2b3c",
                "PreviousTime": iso_7(t), "NewTime": iso_7(new_time), "ProcessId": hex(pid), "ProcessName": process}
        if h.schema in ("flat", "evtx"):
            return self.win_event(h, t, SECURITY_LOG, 4616, 1, 0, data, task=12288)
        return {
            "@timestamp": iso_ms(t),
            "event": {"action": "Security State Change", "code": "4616", "kind": "event", "module": "security",
                      "provider": "Microsoft-Windows-Security-Auditing", "category": ["host"], "type": ["change"]},
            "host": {"id": h.hid, "name": h.name},
            "winlog": self.winlog(h, "Security", "Microsoft-Windows-Security-Auditing",
                                  "{54849625-5478-4994-a5ba-3e3b0328c30d}", 4616, data, version=1),
        }

    def r_sysmon7(self, h: Host, x: Exe, path: str, t: int, image: str | None = None) -> dict:
        """Sysmon 7 through Winlogbeat: `path` is ImageLoaded (file.*), `image` the loading
        process (process.executable; the file itself when it is an executable's own load)."""
        c = x.cert
        image = image or path
        hashes = f"SHA1={x.sha1.upper()},MD5={x.md5.upper()},SHA256={x.sha256.upper()}"
        if x.status == "bad_digest":
            # Raw EventData only, as Sysmon writes a failed signature check.
            data = {"UtcTime": iso_ms(t).replace("T", " ").rstrip("Z"), "ProcessId": "4312", "Image": image,
                    "ImageLoaded": path, "FileVersion": x.version, "Description": x.description,
                    "Product": x.product, "Company": x.company, "OriginalFileName": x.ofn, "Hashes": hashes,
                    "Signed": "failed: Invalid hash", "Signature": "-", "SignatureStatus": "-",
                    "User": f"CONTOSO\\{h.user.split('.')[0]}"}
            return {"@timestamp": iso_ms(t),
                    "event": {"code": "7", "kind": "event", "provider": "Microsoft-Windows-Sysmon"},
                    "host": {"id": h.hid, "name": h.name},
                    "winlog": self.winlog(h, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon",
                                          SYSMON_GUID, 7, data)}
        status = SYSMON_STATUS[x.status]
        signed = c is not None
        cs = {"signed": signed, "status": status, "valid": x.status == "valid"}
        if signed:
            cs["subject_name"] = c.cn
        dirname, _, name = path.rpartition("\\")
        return {
            "@timestamp": iso_ms(t),
            "event": {"category": ["process"], "code": "7", "kind": "event", "module": "sysmon",
                      "provider": "Microsoft-Windows-Sysmon", "type": ["change"]},
            "file": {"code_signature": cs, "directory": dirname, "extension": name.rsplit(".", 1)[-1].lower(),
                     "hash": {"md5": x.md5, "sha1": x.sha1, "sha256": x.sha256}, "name": name, "path": path,
                     "pe": {"company": x.company, "description": x.description, "file_version": x.version,
                            "original_file_name": x.ofn, "product": x.product}},
            "host": {"id": h.hid, "name": h.name},
            "process": {"executable": image, "name": image.rsplit("\\", 1)[-1], "pid": self.next_pid()},
            "winlog": self.winlog(h, "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon",
                                  SYSMON_GUID, 7, {"Company": x.company, "Description": x.description,
                                                   "FileVersion": x.version, "Product": x.product,
                                                   "OriginalFileName": x.ofn,
                                                   "Signed": "true" if signed else "false",
                                                   "Signature": c.cn if signed else "",
                                                   "SignatureStatus": status}),
        }

    # -- flat and evtx JSON: the same Windows event log records as Winlogbeat ships them ----

    def sysmon_data(self, h: Host, event_id: int, x: Exe, path: str, t: int, image: str | None = None,
                    cmdline: str | None = None, parent: str | None = None) -> dict:
        """Sysmon EventData in Sysmon's own order and spelling ('-' for a missing value)."""
        c = x.cert
        utc = iso_ms(t).replace("T", " ").rstrip("Z")
        hashes = (f"SHA1={x.sha1.upper()},MD5={x.md5.upper()},SHA256={x.sha256.upper()},"
                  f"IMPHASH={self.ids.hex('imphash', x.sha256, n=32).upper()}")
        if x.status == "bad_digest":
            signed, signature, status = "failed: Invalid hash", "-", "-"
        elif c is None:
            signed, signature, status = "false", "-", "Unavailable"
        else:
            signed, signature, status = "true", c.cn, SYSMON_STATUS[x.status]
        if event_id == 6:
            return {"RuleName": "-", "UtcTime": utc, "ImageLoaded": path, "Hashes": hashes, "Signed": signed,
                    "Signature": signature, "SignatureStatus": status}
        user = f"CONTOSO\\{h.user.split('.')[0] if h.kind != 'server' else h.user}"
        image = image or path
        pguid = "{" + self.ids.guid("pguid", h.idx, image, t // MIN_MS) + "}"
        pid = str(4 * (int(pguid[1:5], 16) % 16000) + 400)
        dash = lambda v: v if v else "-"  # noqa: E731
        if event_id == 7:
            return {"RuleName": "-", "UtcTime": utc, "ProcessGuid": pguid, "ProcessId": pid, "Image": image,
                    "ImageLoaded": path, "FileVersion": dash(x.version), "Description": dash(x.description),
                    "Product": dash(x.product), "Company": dash(x.company), "OriginalFileName": dash(x.ofn),
                    "Hashes": hashes, "Signed": signed, "Signature": signature, "SignatureStatus": status,
                    "User": user}
        parent = parent or "C:\\Windows\\explorer.exe"
        return {"RuleName": "-", "UtcTime": utc, "ProcessGuid": pguid, "ProcessId": pid, "Image": path,
                "FileVersion": dash(x.version), "Description": dash(x.description), "Product": dash(x.product),
                "Company": dash(x.company), "OriginalFileName": dash(x.ofn),
                "CommandLine": cmdline or f"\"{path}\"", "CurrentDirectory": path.rpartition("\\")[0] + "\\",
                "User": user, "LogonGuid": "{" + self.ids.guid("logon", h.idx) + "}",
                "LogonId": hex(0x3e7 + h.idx * 4099), "TerminalSessionId": "1",
                "IntegrityLevel": "High" if cmdline else "Medium", "Hashes": hashes,
                "ParentProcessGuid": "{" + self.ids.guid("ppguid", h.idx, parent, t // HOUR_MS) + "}",
                "ParentProcessId": str(4 * (h.idx % 9000) + 1200), "ParentImage": parent,
                "ParentCommandLine": parent if "explorer" not in parent.lower() else "C:\\Windows\\Explorer.EXE",
                "ParentUser": user}

    def win_event(self, h: Host, t: int, log: tuple, event_id: int, version: int, level: int, data: dict,
                  activity: str | None = None, task: int | None = None, user_sid: str = "S-1-5-18") -> dict:
        """A Windows event log record in the host's flat or evtx shape. `log` is one of the
        *_LOG tuples (channel, provider, provider GUID, keywords, message title)."""
        channel, provider, guid, keywords, titles = log
        title = titles.get(event_id, f"Event {event_id}")
        h.record_id += 1
        task = event_id if task is None else task
        if h.schema == "evtx":
            st = f"{_sec(t)}.{t % 1000:03d}{(h.record_id * 7) % 1000:03d}Z"
            system = {"Provider": {"#attributes": {"Name": provider, "Guid": guid.strip("{}").upper()}},
                      "EventID": event_id, "Version": version, "Level": level, "Task": task, "Opcode": 0,
                      "Keywords": keywords, "TimeCreated": {"#attributes": {"SystemTime": st}},
                      "EventRecordID": h.record_id,
                      "Correlation": {"#attributes": {"ActivityID": activity}} if activity else None,
                      "Execution": {"#attributes": {"ProcessID": 1000 + 4 * (h.idx % 900),
                                                    "ThreadID": 2000 + 4 * (h.record_id % 1500)}},
                      "Channel": channel, "Computer": h.fqdn, "Security": {"#attributes": {"UserID": user_sid}}}
            if h.evtx_array:
                ev = {"Data": [{"#attributes": {"Name": k},
                                "#text": ("true" if v else "false") if isinstance(v, bool) else str(v)}
                               for k, v in data.items()]}
            else:
                ev = {k: (int(v) if k == "ProcessId" and isinstance(v, str) and v.isdigit() else v)
                      for k, v in data.items()}
            return {"Event": {"#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
                              "System": system, "EventData": ev}}
        message = title + "\r\n" + "\r\n".join(f"{k}: {v}" for k, v in data.items())
        kw = int(keywords, 16) - (1 << 64)
        sev = {0: "INFO", 2: "ERROR", 3: "WARNING", 4: "INFO"}[level]
        if h.flat_flavor == "nxlog":
            local = t - 5 * HOUR_MS  # the collector writes EventTime in its local time (UTC-5), no zone
            doc = {"@timestamp": iso_ms(t + 1_200 + h.record_id % 700), "@version": "1",
                   "EventTime": _sec(local).replace("T", " "), "EventReceivedTime": _sec(local + 1_000).replace("T", " "),
                   "Hostname": h.fqdn, "host": "wec01.corp.contoso.com", "port": 49152 + h.idx % 16000,
                   "tags": ["windows"], "SourceModuleName": "eventlog", "SourceModuleType": "im_msvistalog",
                   "SourceName": provider, "ProviderGuid": guid.upper(), "Channel": channel, "EventID": event_id,
                   "RecordNumber": h.record_id, "Keywords": kw,
                   "Severity": "AUDIT_SUCCESS" if channel == "Security" else sev,
                   "SeverityValue": {0: 2, 2: 4, 3: 3, 4: 2}[level],
                   "EventType": "AUDIT_SUCCESS" if channel == "Security" else sev,
                   "Version": version, "Task": task, "OpcodeValue": 0, "ExecutionProcessID": 1000 + 4 * (h.idx % 900),
                   "ThreadID": 2000 + 4 * (h.record_id % 1500), "Domain": "NT AUTHORITY", "AccountName": "SYSTEM",
                   "UserID": user_sid, "AccountType": "User", "Message": message}
            if activity:
                doc["ActivityID"] = activity
        else:
            doc = {"SourceName": provider, "ProviderGuid": guid, "Level": str(level), "Keywords": keywords,
                   "Channel": channel, "Hostname": h.fqdn, "TimeCreated": iso_ms(t), "@timestamp": iso_ms(t),
                   "EventID": event_id, "Message": message, "Task": task}
            if activity:
                doc["ActivityID"] = activity
        for k, v in data.items():
            doc.setdefault(k, ("true" if v else "false") if isinstance(v, bool) else v)
        return doc

    def sysmon_doc(self, h: Host, event_id: int, x: Exe, path: str, t: int, image: str | None = None,
                   cmdline: str | None = None, parent: str | None = None) -> dict:
        """Sysmon 1, 6 or 7 in the host's transport (Winlogbeat, flat or evtx)."""
        if h.schema == "winlogbeat":
            if event_id == 7:
                return self.r_sysmon7(h, x, path, t, image=image)
            if event_id == 6:
                return self.r_sysmon6(h, x, path, t)
            return self.r_sysmon1(h, x, path, t, cmdline=cmdline, parent=parent)
        data = self.sysmon_data(h, event_id, x, path, t, image=image, cmdline=cmdline, parent=parent)
        return self.win_event(h, t, SYSMON_LOG, event_id, {1: 5, 6: 4, 7: 3}[event_id], 4, data,
                              task={1: 1, 6: 6, 7: 7}[event_id])

    # Code Integrity: a verdict (3033/3076/3077) and its 3089 under one ActivityID.
    def ci_pair(self, h: Host, x: Exe, path: str, t: int, event_id: int, pop: str, policy=None,
                verification_error: int | None = None, requested: int = 12) -> list[int]:
        activity = "{" + self.ids.guid("activity", h.idx, x.sha256, t).upper() + "}"
        c = x.cert
        if verification_error is None:
            verification_error = CI_VE[x.status]
        sig = {"TotalSignatureCount": 0 if c is None else 1, "Signature": 0, "CacheState": 0, "Hash Size": 20,
               "Hash": self.ids.hex("authenticode", x.sha256, n=40).upper(), "PageHash": False,
               "SignatureType": 0 if c is None else 1, "ValidatedSigningLevel": 1 if c is None else 4,
               "VerificationError": 3 if c is None else verification_error, "Flags": 0, "PolicyBits": 0}
        if c is not None:
            sig.update({"NotValidBefore": iso_7(c.not_before), "NotValidAfter": iso_7(c.not_after),
                        "PublisherNameLength": len(c.cn), "PublisherName": c.cn,
                        "IssuerNameLength": len(c.issuer_cn), "IssuerName": c.issuer_cn,
                        "PublisherTBSHashSize": 32, "PublisherTBSHash": self.ids.hex("tbs", c.thumb256).upper(),
                        "IssuerTBSHashSize": 32, "IssuerTBSHash": self.ids.hex("tbs", c.issuer_dn).upper()})
        else:
            sig.update({"PublisherNameLength": 0, "PublisherName": "", "IssuerNameLength": 0, "IssuerName": "",
                        "PublisherTBSHashSize": 0, "PublisherTBSHash": "", "IssuerTBSHashSize": 0,
                        "IssuerTBSHash": ""})
        fname = device_path(path)
        if event_id in (3076, 3077):
            name, pid, guid = policy or CI_AUDIT_POLICY
            verdict = {"FileNameLength": len(fname), "File Name": fname,
                       "ProcessNameLength": 39, "Process Name": "\\Device\\HarddiskVolume3\\Windows\\explorer.exe",
                       "Requested Signing Level": 2, "Validated Signing Level": 1 if c is None else 4,
                       "Status": "0xc0e90002", "SHA1 Hash Size": 20,
                       "SHA1 Hash": self.ids.hex("ah1", x.sha256, n=40).upper(), "SHA256 Hash Size": 32,
                       "SHA256 Hash": self.ids.hex("ah256", x.sha256).upper(), "SHA1 Flat Hash Size": 20,
                       "SHA1 Flat Hash": x.sha1.upper(), "SHA256 Flat Hash Size": 32,
                       "SHA256 Flat Hash": x.sha256.upper(), "USN": int(x.sha1[:7], 16),
                       "SI Signing Scenario": 1, "PolicyNameLength": len(name), "PolicyName": name,
                       "PolicyIDLength": len(pid), "PolicyID": pid, "PolicyHashSize": 32,
                       "PolicyHash": self.ids.hex("policy", name).upper(),
                       "OriginalFileNameLength": len(x.ofn), "OriginalFileName": x.ofn,
                       "InternalNameLength": len(x.ofn.rsplit(".", 1)[0]), "InternalName": x.ofn.rsplit(".", 1)[0],
                       "FileDescriptionLength": len(x.description), "FileDescription": x.description,
                       "ProductNameLength": len(x.product), "ProductName": x.product, "FileVersion": x.version,
                       "PolicyGUID": guid, "UserWriteable": is_user_path(path),
                       "PackageFamilyNameLength": 0, "PackageFamilyName": ""}
            version = 5
        else:  # 3033 v0: no hashes, buffer names
            verdict = {"FileNameLength": len(fname), "FileNameBuffer": fname,
                       "ProcessNameLength": 51,
                       "ProcessNameBuffer": "\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe",
                       "RequestedPolicy": requested, "ValidatedPolicy": 1, "Status": 3236495362}
            version = 0
        level_v = 3 if event_id == 3076 else 2
        sig_first = (int(x.sha1[:2], 16) % 2) == 0  # Windows logs them in either order
        times = (t, t + 1) if not sig_first else (t + 1, t)
        if h.ci_schema == "winlogbeat":
            v_doc = self.ci_winlogbeat(h, times[0], event_id, version, verdict, activity,
                                       "warning" if event_id == 3076 else "error")
            s_doc = self.ci_winlogbeat(h, times[1], 3089, 2, sig, activity, "information")
        elif h.ci_schema in ("flat", "evtx"):
            v_doc = self.win_event(h, times[0], CI_LOG, event_id, version, level_v, verdict, activity=activity)
            s_doc = self.win_event(h, times[1], CI_LOG, 3089, 2, 4, sig, activity=activity)
        else:
            v_doc = self.ci_flat(h, times[0], event_id, version, level_v, verdict, activity)
            s_doc = self.ci_flat(h, times[1], 3089, 2, 4, sig, activity)
        self.emit(times[0], v_doc, h.ci_schema, pop)
        self.emit(times[1], s_doc, h.ci_schema, pop)
        return list(times)

    def ci_flat(self, h: Host, t: int, event_id: int, version: int, level: int, data: dict, activity) -> dict:
        h.record_id += 1
        doc = {"EventID": event_id, "Version": version, "Level": level, "Task": 1, "Opcode": 111 if event_id != 3089 else 0,
               "TimeCreated": iso_7(t, h.record_id * 37), "EventRecordID": h.record_id}
        if activity:
            doc["ActivityID"] = activity
        doc.update({"Channel": "Microsoft-Windows-CodeIntegrity/Operational", "Computer": h.fqdn, "HostId": h.hid,
                    "UserID": "S-1-5-18"})
        doc.update(data)
        return doc

    def ci_winlogbeat(self, h: Host, t: int, event_id: int, version: int, data: dict, activity, level: str) -> dict:
        strdata = {k: (("true" if v else "false") if isinstance(v, bool) else str(v)) for k, v in data.items()}
        return {"@timestamp": iso_ms(t),
                "event": {"code": str(event_id), "kind": "event", "provider": "Microsoft-Windows-CodeIntegrity"},
                "host": {"id": h.hid, "name": h.name},
                "log": {"level": level},
                "winlog": self.winlog(h, "Microsoft-Windows-CodeIntegrity/Operational",
                                      "Microsoft-Windows-CodeIntegrity", CI_GUID, event_id, strdata,
                                      version=version, level=level, activity=activity)}

    def ci_policy_loaded(self, h: Host, t: int):
        name, pid, guid = CI_ENFORCED_POLICY if h.ci_enforced else CI_AUDIT_POLICY
        data = {"PolicyNameLength": len(name), "PolicyNameBuffer": name, "PolicyIdLength": len(pid),
                "PolicyIdBuffer": pid, "PolicyGUID": guid, "Status": "0x0",
                "Options": "0x90882004" if h.ci_enforced else "0x90882084", "PolicyHashSize": 32,
                "PolicyHash": self.ids.hex("policy", name).upper()}
        if h.ci_schema == "winlogbeat":
            doc = self.ci_winlogbeat(h, t, 3099, 1, data, None, "information")
        elif h.ci_schema in ("flat", "evtx"):
            doc = self.win_event(h, t, CI_LOG, 3099, 1, 4, data)
        else:
            doc = self.ci_flat(h, t, 3099, 1, 4, data, None)
        self.emit(t, doc, h.ci_schema, "ci_policy_loaded")

    # -- the benign fleet -----------------------------------------------------------------------

    def run_benign(self):
        rng, eph = self.rng, self.args.events_per_host_day
        for h in self.hosts:
            for d in range(self.args.days):
                day_start = self.start + d * DAY_MS
                if h.ci_schema:
                    self.ci_policy_loaded(h, day_start + int((6.5 + rng.random()) * HOUR_MS))
                scale = 0.6 if h.kind == "server" else 1.0
                n = max(1, int(rng.gauss(eph * scale, eph * scale * 0.25)))
                pop_cum, names, app_cum = h.pop_cum, h.pop_names, h.app_cum
                total = pop_cum[-1]
                for _ in range(n):
                    t = self.sample_time(h, day_start)
                    r = rng.random() * total
                    pi = 0
                    while pop_cum[pi] < r:
                        pi += 1
                    lst, cum = app_cum[pi]
                    r2 = rng.random() * cum[-1]
                    lo, hi = 0, len(cum) - 1
                    while lo < hi:
                        mid = (lo + hi) // 2
                        if cum[mid] < r2:
                            lo = mid + 1
                        else:
                            hi = mid
                    app = lst[lo]
                    x = self.resolve(h, app, t)
                    self.execute(h, x, t, names[pi])

    # -- clock and time service: command lines and Security 4616 -------------------------------

    def win_exe(self, h: Host, name: str) -> Exe:
        """The host's build of a Windows binary (WINDOWS_BINARIES, plus w32tm.exe)."""
        if not hasattr(self, "_win_by_name"):
            self._win_by_name = {app.exes[0].name.lower(): app for app in self.pops["major_vendor_windows"]}
            cert = self.pops["major_vendor_windows"][0].exes  # the build certificates
            self._win_by_name["w32tm.exe"] = App(
                [Exe(self.ids, f"{S32}\\w32tm.exe", "major_vendor_windows", e.cert, company="Microsoft Corporation",
                     product="Microsoft\u00ae Windows\u00ae Operating System", description="Windows Time Service Diagnostic Tool",
                     ofn="w32tm.exe", version=e.version, signing_time=e.signing_time) for e in cert],
                1.0, "major_vendor_windows", by_build=True)
        return self._win_by_name[name.lower()].exes[h.build]

    def has_process_creation(self, h: Host) -> bool:
        return h.schema not in SYSMON_TRANSPORTS or h.sysmon1

    def run_cmd(self, h: Host, name: str, cmdline: str, t: int, pop: str, parent: str | None = None) -> Exe:
        """A Windows binary started with a command line, in the host's process-creation schema."""
        x = self.win_exe(h, name)
        s = h.schema
        if s == "ecs":
            self.emit(t, self.r_ecs(h, x, x.path, t, cmdline=cmdline, parent=parent), "ecs", pop)
        elif s == "ocsf":
            self.emit(t, self.r_ocsf(h, x, x.path, t, cmdline=cmdline), "ocsf", pop)
        elif s == "defender":
            for doc in self.r_defender(h, x, x.path, t, cmdline=cmdline, force_sha256=pop == "attack"):
                self.emit(t, doc, "defender", pop)
        else:
            self.emit(t, self.sysmon_doc(h, 1, x, x.path, t, cmdline=cmdline, parent=parent), s, pop)
        return x

    def run_time_benign(self):
        """Benign time-service activity: 4616 by the Windows Time service (svchost, LOCAL
        SERVICE) on Winlogbeat hosts (which forward the Security log), 4616 by VMware Tools on
        virtual servers, and administrators' time-service commands that do not stop it or set
        the date. A random generator of its own, so the rest of the fleet is unchanged."""
        rng = random.Random(self.seed * 104729 + 4616)
        svchost = f"{S32}\\svchost.exe"
        vmtools = "C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe"
        cmd = f"{S32}\\cmd.exe"
        admin = [  # (binary, command line, parent)
            ("net.exe", "net start w32time", cmd),
            ("net.exe", "net  start w32time", cmd),
            ("w32tm.exe", "w32tm /resync", cmd),
            ("w32tm.exe", "w32tm /resync /nowait", cmd),
            ("w32tm.exe", "w32tm /query /status", cmd),
            ("w32tm.exe", "w32tm.exe /config /syncfromflags:domhier /update", cmd),
            ("w32tm.exe", "w32tm /register", cmd),
            ("sc.exe", "sc query w32time", cmd),
            ("sc.exe", "sc.exe config w32time start= auto", cmd),
            ("sc.exe", "sc start w32time", cmd),
            ("cmd.exe", "cmd.exe /c echo %date% %time% >> C:\\ProgramData\\Contoso\\logon.log", None),
            ("cmd.exe", "cmd /c date /t", None),
            ("cmd.exe", "C:\\Windows\\system32\\cmd.exe /c \"echo Backup started %date% > C:\\Backup\\last.txt\"", None),
            ("powershell.exe", "powershell.exe -NoProfile -Command \"Get-Date -Format o\"", None),
            ("powershell.exe", "powershell.exe -NoProfile -Command \"Get-Service w32time | Select-Object Status\"", None),
            ("powershell.exe", "powershell.exe -NoProfile -Command \"Restart-Service w32time\"", None),
        ]
        for h in self.hosts:
            vm = h.kind == "server" and rng.random() < 0.6
            for d in range(self.args.days):
                day_start = self.start + d * DAY_MS
                if h.schema in SYSMON_TRANSPORTS:
                    # w32time steps the clock (4616) after resume, boot or a large offset: 0-3 a day.
                    for _ in range(rng.choice((0, 0, 1, 1, 1, 2, 3))):
                        t = day_start + int(rng.random() * DAY_MS)
                        self.emit(t, self.r_4616(h, t, svchost, "S-1-5-19", "LOCAL SERVICE",
                                                 t + rng.randint(-900, 900)), h.schema, "time_service_4616")
                    if vm:
                        for _ in range(rng.choice((1, 2, 4))):
                            t = day_start + int(rng.random() * DAY_MS)
                            self.emit(t, self.r_4616(h, t, vmtools, "S-1-5-18", f"{h.name.upper()}$",
                                                     t + rng.randint(-5000, 5000)), h.schema, "hypervisor_time_sync_4616")
                if self.has_process_creation(h) and rng.random() < (0.06 if h.kind == "server" else 0.02):
                    name, cl, parent = admin[rng.randrange(len(admin))]
                    t = day_start + int((7 + rng.random() * 11) * HOUR_MS)
                    self.run_cmd(h, name, cl, t, "time_admin_commands", parent=parent)

    def clock_rollback(self, h: Host, x: Exe, path: str, t: int, variant: str) -> tuple[int, int, list[dict]]:
        """Stop the time service, set the date back, (4616), load a driver signed with an
        expired certificate. Returns events, first event time and the files involved."""
        before = self.pop_counts.get("attack", 0)
        cmd = f"{S32}\\cmd.exe"
        files = []

        def used(e: Exe, p: str | None = None):
            files.append({"sha256": e.sha256, "sha1": e.sha1, "executable": p or e.path})

        user = h.user.split(".")[0]
        rolled = parse_time("2021-03-14T09:00:00Z") + (t % 3_600_000)
        if variant == "sysmon":
            used(self.run_cmd(h, "net.exe", "net  stop w32time", t, "attack", parent=cmd))
            used(self.run_cmd(h, "cmd.exe", "cmd.exe /c date 03-14-2021", t + 4_000, "attack"))
            self.emit(t + 4_100, self.r_4616(h, t + 4_100, cmd, f"S-1-5-21-1004336348-1177238915-682003330-{1100 + h.idx}",
                                             user, rolled), h.schema, "attack")
            # Its alert names no file (the Security event has no image facts): matched by time.
            files.append({"sha256": None, "sha1": None, "executable": None, "time": iso_ms(t + 4_100),
                          "event": f"Security 4616 by {cmd}"})
            self.emit(t + 9_000, self.sysmon_doc(h, 6, x, path, t + 9_000), h.schema, "attack")
        else:  # ecs
            used(self.run_cmd(h, "sc.exe", "sc.exe stop w32time", t, "attack", parent=cmd))
            used(self.run_cmd(h, "sc.exe", "sc.exe config w32time start= disabled", t + 1_500, "attack", parent=cmd))
            used(self.run_cmd(h, "powershell.exe", "powershell.exe -NoProfile -Command \"Set-Date -Date '2021-03-14 09:00'\"",
                              t + 5_000, "attack", parent=cmd))
            # Elastic Defend has no driver-load event countersign reads: the driver is
            # reported like the expired-signature executions (process.code_signature +
            # file.x509), as the simulator's ECS scenarios do.
            doc = self.r_ecs(h, x, path, t + 9_000, x509=True, parent=f"{S32}\\services.exe")
            doc["event"].update({"category": ["driver"], "type": ["start"], "action": "load",
                                 "dataset": "endpoint.events.driver"})
            self.emit(t + 9_000, doc, "ecs", "attack")
        return self.pop_counts["attack"] - before, t, files

    # -- attack scenarios -----------------------------------------------------------------------

    def scenario_time(self, i: int) -> int:
        d = self.args.days
        if d > 1:
            day = 1 + (i % (d - 1))
            base = self.start + day * DAY_MS
        else:
            base = self.start + DAY_MS // 2
        return base + int((8 + self.rng.random() * 9) * HOUR_MS)

    def pick_host(self, pred, used: set[int]) -> Host | None:
        cands = [h for h in self.hosts if h.idx not in used and h.kind == "workstation" and pred(h)]
        if not cands:
            return None
        h = self.rng.choice(cands)
        used.add(h.idx)
        return h

    def run_scenarios(self):
        ids, start = self.ids, self.start
        used: set[int] = set()
        defs = []
        for sd in scenario_defs(self):
            if sd.get("evasion"):
                # An evasion is played once in every shape that carries its fields, so a
                # normalization that one parser misses shows as a miss in that shape.
                # Each copy is its own file: one attack per host, not one file spreading.
                defs.extend({**sd, "schemas": [s], "variant": s} for s in sd["schemas"] if s in self.schemas)
            else:
                defs.append(sd)
        for i, sd in enumerate(defs):
            t0 = self.scenario_time(i)
            hosts: list[Host] = []
            for k in range(sd.get("hosts", 1)):
                h = None
                for schema in sd["schemas"]:
                    if schema not in self.schemas:
                        continue
                    h = self.pick_host(lambda hh, s=schema: host_fits(hh, s, sd), used)
                    if h is not None:
                        break
                if h is None:
                    break
                hosts.append(h)
            if len(hosts) < sd.get("hosts", 1):
                self.skipped.append({"name": sd["name"], "reason": f"no free host for schemas {sd['schemas']}"})
                continue
            x: Exe = sd["make"](t0)
            if sd.get("variant"):
                x.rekey(ids, f"{x.sha256}|{sd['variant']}")
            if sd.get("intel"):
                c = x.cert
                self.intel_rows.append((time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(
                    (t0 - int(self.rng.uniform(20, 200)) * DAY_MS) // 1000)), c.serial, c.thumb256, sd["intel"]))
            for k, h in enumerate(hosts):
                tk = min(t0 + k * int(5.5 * HOUR_MS), self.end - HOUR_MS)
                path = x.path.replace("{user}", h.user.split(".")[0]) if "{" in x.path else x.path
                n_ev = 0
                first = None
                kind = sd.get("ci")
                files = None
                if sd.get("clock"):
                    n_ev, first, files = self.clock_rollback(h, x, path, tk, sd["clock"])
                    schema = h.schema
                elif kind:
                    policy = CI_ENFORCED_POLICY if kind[0] == 3077 else None
                    times = self.ci_pair(h, x, path, tk, kind[0], "attack", policy=policy,
                                         verification_error=kind[1],
                                         requested=8)
                    first, n_ev = min(times), 2
                    schema = h.ci_schema
                else:
                    schema = h.schema
                    runs = sd.get("runs", 2)
                    for r in range(runs):
                        tr = tk + r * int(self.rng.uniform(0.4, 3.0) * HOUR_MS)
                        if tr >= self.end:
                            break
                        before = self.pop_counts.get("attack", 0)
                        if schema == "defender":
                            for doc in self.r_defender(h, x, path, tr, force_sha256=True):
                                self.emit(tr, doc, "defender", "attack")
                        elif schema == "ecs":
                            self.emit(tr, self.r_ecs(h, x, path, tr, x509=True), "ecs", "attack")
                        elif schema == "ocsf":
                            self.emit(tr, self.r_ocsf(h, x, path, tr), "ocsf", "attack")
                        else:  # Sysmon 7 (the file's own load, or a DLL a process loads) or 6 (driver)
                            loader = sd.get("loader")
                            if loader and "{" in loader:
                                loader = loader.replace("{user}", h.user.split(".")[0])
                            self.emit(tr, self.sysmon_doc(h, 6 if sd.get("driver") else 7, x, path, tr, image=loader),
                                      schema, "attack")
                        n_ev += self.pop_counts["attack"] - before
                        first = tr if first is None else first
                c = x.cert
                # flat and evtx records name the host only by its computer name (FQDN).
                by_name = schema in ("flat", "evtx")
                self.scenarios.append({
                    "name": sd["name"], "description": sd["desc"], "host": h.fqdn if by_name else h.hid,
                    "host_name": h.fqdn if by_name else h.name,
                    "sha256": x.sha256, "sha1": x.sha1,
                    "executable": device_path(path) if kind else path,
                    "signer": c.cn if c else None, "issuer": c.issuer_cn if c else None,
                    "serial_number": c.serial if c else None, "thumbprint_sha256": c.thumb256 if c else None,
                    "expected_detectors": sd["expect"], "time": iso_ms(first), "schema": schema, "events": n_ev,
                })
                if sd.get("evasion"):
                    # Expected to be missed by today's detectors: what the lead builds next.
                    self.scenarios[-1]["evasion"] = True
                    self.scenarios[-1]["evasion_class"] = sd["evasion"]
                if files:
                    # Further files of the scenario (the tools it ran; no hash: a Security
                    # event naming only the process): alerts on them count for it too.
                    self.scenarios[-1]["files"] = files

    def write_intel(self, out: str):
        rng = random.Random(self.seed * 7919 + 1)
        rows = list(self.intel_rows)
        families = ["AgentTesla", "AsyncRAT", "BumbleBee", "CobaltStrike", "Emotet", "GuLoader", "IcedID", "Latrodectus",
                    "LummaStealer", "Qakbot", "RedLineStealer", "RemcosRAT", "SmokeLoader", "SocGholish", "Vidar",
                    "DarkGate", "NetSupport", "Gozi", "BazaLoader", "ValleyRAT"]
        for k in range(self.args.intel_decoys):
            when = self.start - int(rng.uniform(5, 1800) * DAY_MS)
            serial = ("00" if rng.random() < 0.3 else "") + self.ids.hex("decoy-serial", k, n=rng.choice([16, 32, 34, 40]))
            rows.append((time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when // 1000)), serial[:40],
                         self.ids.hex("decoy-thumb", k), rng.choice(families)))
        rows.sort()
        os.makedirs(os.path.join(out, "intel"), exist_ok=True)
        with open(os.path.join(out, "intel", "abusech.csv"), "w", encoding="utf-8", newline="\n") as f:
            f.write("#" * 64 + "\n")
            for text in ("abuse.ch Code Signing Certificate Blocklist (CSCB)",
                         f"Last updated: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(self.start // 1000))} UTC",
                         "",
                         "Synthetic list written by countersign bench/fleet_sim",
                         f"(seed {self.seed}); not real abuse.ch data."):
                f.write(f"# {text:<60} #\n")
            f.write("#" * 64 + "\n")
            f.write("#\n")
            f.write('# "first_seen_utc","serial_number","thumbprint","thumbprint_algorithm","reason"\n')
            for first_seen, serial, thumb, reason in rows:
                f.write(f'"{first_seen}","{serial}","{thumb}","sha256","{reason}"\n')
        return len(rows)

    # -- main -----------------------------------------------------------------------------------

    def run(self):
        t_start = time.time()
        out = self.args.out
        os.makedirs(out, exist_ok=True)
        self.build_catalog()
        if self.args.lab_populations:
            self.build_lab_catalog()
        self.build_hosts()
        self.run_benign()
        self.run_time_benign()
        self.run_lab_benign()
        self.run_scenarios()
        self.events.sort()
        with open(os.path.join(out, "events.ndjson"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(line for _, _, line in self.events))
            f.write("\n")
        n_intel = self.write_intel(out)
        attack_events = self.pop_counts.get("attack", 0)
        benign = {k: v for k, v in sorted(self.pop_counts.items(), key=lambda kv: -kv[1]) if k != "attack"}
        hosts_by_schema: dict[str, int] = {}
        ci_hosts: dict[str, int] = {}
        for h in self.hosts:
            hosts_by_schema[h.schema] = hosts_by_schema.get(h.schema, 0) + 1
            if h.ci_schema:
                ci_hosts[h.ci_schema] = ci_hosts.get(h.ci_schema, 0) + 1
        gt = {
            "generator": "countersign bench/fleet_sim/fleet_sim.py",
            "seed": self.seed,
            "hosts": len(self.hosts),
            "days": self.args.days,
            "start": iso_s(self.start),
            "end": iso_s(self.end),
            "events": len(self.events),
            "benign_events": len(self.events) - attack_events,
            "attack_events": attack_events,
            "schemas": self.schemas,
            "hosts_by_schema": hosts_by_schema,
            "events_by_schema": dict(sorted(self.schema_counts.items(), key=lambda kv: -kv[1])),
            "codeintegrity_hosts": ci_hosts,
            "dev_hosts": sum(1 for h in self.hosts if h.kind == "dev"),
            "scenarios": self.scenarios,
            "skipped_scenarios": self.skipped,
            "benign_populations": benign,
            # sha256 and sha1 of every benign file -> its population (check.py names the
            # population behind each benign alert)
            "file_populations": dict(sorted(self.file_pop.items())),
            "intel": {"abusech_csv": "intel/abusech.csv", "rows": n_intel,
                      "listed_scenario_certificates": len(self.intel_rows)},
            "notes": NOTES,
        }
        with open(os.path.join(out, "ground_truth.json"), "w", encoding="utf-8") as f:
            json.dump(gt, f, indent=1)
            f.write("\n")
        self.summary(gt, time.time() - t_start)

    def summary(self, gt: dict, secs: float):
        p = print
        p(f"fleet_sim: seed {self.seed}, {gt['hosts']} hosts ({gt['dev_hosts']} dev-*), {self.args.days} days from "
          f"{gt['start']}, {gt['events']} events in {secs:.1f}s -> {self.args.out}")
        p("hosts per schema:  " + ", ".join(f"{k} {v}" for k, v in sorted(gt["hosts_by_schema"].items())) +
          "; Code Integrity from " + (", ".join(f"{k} {v}" for k, v in sorted(gt["codeintegrity_hosts"].items())) or "none"))
        p("events per schema:")
        for k, v in sorted(self.schema_counts.items(), key=lambda kv: -kv[1]):
            p(f"  {k:<16}{v:>9}  {100.0 * v / gt['events']:5.1f}%")
        p("events per population:")
        for k, v in gt["benign_populations"].items():
            p(f"  {k:<24}{v:>9}  {100.0 * v / gt['events']:5.2f}%")
        p(f"  {'attack (scenarios)':<24}{gt['attack_events']:>9}  {100.0 * gt['attack_events'] / gt['events']:5.3f}%")
        per_det: dict[str, int] = {}
        for s in self.scenarios:
            for d in s["expected_detectors"]:
                per_det[d] = per_det.get(d, 0) + 1
        ev = collections.Counter(s["evasion_class"] for s in self.scenarios if s.get("evasion"))
        p(f"scenarios: {len(self.scenarios)} host-scenarios ({len({s['name'] for s in self.scenarios})} kinds; "
          f"{sum(ev.values())} evasion: " + ", ".join(f"{k} {v}" for k, v in sorted(ev.items())) + "); "
          "expected per detector: " + ", ".join(f"{k} {v}" for k, v in sorted(per_det.items())))
        for s in self.skipped:
            p(f"  skipped {s['name']}: {s['reason']}")
        p(f"intel list: {gt['intel']['rows']} rows ({gt['intel']['listed_scenario_certificates']} used by scenarios)")


# ---------------------------------------------------------------------------------------
# Scenario definitions


def host_fits(h: Host, schema: str, sd: dict) -> bool:
    if sd.get("ci"):
        if h.ci_schema != schema:
            return False
        return not (sd["ci"][0] == 3077 and not h.ci_enforced)
    if h.schema != schema:
        return False
    if sd.get("clock") and schema in SYSMON_TRANSPORTS and not h.sysmon1:
        return False
    if schema == "defender" and sd.get("defender_joined") and h.defender_mode != "joined":
        return False
    if schema == "ecs" and not h.ecs_x509:
        return False
    return True


def is_user_path(path: str) -> bool:
    p = path.lower()
    return any(s in p for s in ("\\users\\", "\\programdata\\", "\\windows\\temp\\"))


def scenario_defs(sim: Sim) -> list[dict]:
    ids, start = sim.ids, sim.start
    D = DAY_MS

    def cert(cn, issuer, nb, na, **kw):
        return Cert(ids, cn, kw.pop("o", cn), issuer, nb, na, **kw)

    def exe(path, c, status="valid", company=None, **kw):
        return Exe(ids, path, "attack", c, status=status, company=company if company is not None else (c.o if c else ""),
                   **kw)

    sectigo = "Sectigo Public Code Signing CA R36"
    digicert = "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"
    globalsign = "GlobalSign GCC R45 EV CodeSigning CA 2020"
    ssl = "SSL.com Code Signing Intermediate CA RSA R1"
    certum = "Certum Code Signing 2021 CA"

    return [
        # -- cs.signature.revoked
        dict(name="revoked_signature", schemas=["ecs", "ocsf"], expect=[REVOKED],
             desc="Service binary under Program Files signed with a certificate its CA revoked (ECS errorRevoked).",
             make=lambda t: exe("C:\\Program Files\\Kestrel Ventures\\kvsync\\kvsyncsvc.exe",
                                cert("Kestrel Ventures Ltd", globalsign, t - 240 * D, t + 125 * D, country="GB"),
                                status="revoked", product="KV Sync", description="KV Sync Service",
                                version="2.4.0.3", signing_time=t - 30 * D)),
        dict(name="bad_digest_signature", schemas=["ocsf", "ecs"], expect=[REVOKED],
             desc="Tampered signed binary: the Authenticode digest no longer matches (OCSF state_id 9).",
             make=lambda t: exe("C:\\Program Files (x86)\\Larkspur Media\\lmplayer.exe",
                                cert("Larkspur Media Inc", digicert, t - 400 * D, t + 330 * D),
                                status="bad_digest", product="Larkspur Player", description="Larkspur Player",
                                version="9.1.0.44", signing_time=t - 80 * D)),
        dict(name="bad_digest_sysmon", schemas=["winlogbeat"], expect=[REVOKED],
             desc="Sysmon 7 with Signed 'failed: Invalid hash' for a patched vendor binary (Winlogbeat).",
             make=lambda t: exe("C:\\Program Files\\Quarry Build Tools\\pkgshim.exe",
                                cert("Quarry Build Tools LLC", sectigo, t - 300 * D, t + 400 * D),
                                status="bad_digest", product="Quarry Build Tools", description="Package shim",
                                version="0.9.3.0")),
        # -- cs.signature.untrusted
        dict(name="untrusted_private_root", schemas=["ecs", "ocsf"], expect=[UNTRUSTED, UNUSUAL],
             desc="Binary signed by a certificate chaining to an attacker-made root (errorUntrustedRoot), "
                  "issuer seen on one host.",
             make=lambda t: exe("C:\\Program Files\\Updater Service\\updsvc.exe",
                                cert("Updater Service", "Updater Root CA", t - 200 * D, t + 1600 * D,
                                     issuer_dn="CN=Updater Root CA"),
                                status="untrusted_root", product="Updater Service", description="Updater Service",
                                version="1.0.0.0")),
        dict(name="untrusted_root_defender", schemas=["defender"], expect=[UNTRUSTED, UNUSUAL],
             desc="Defender row: IsSigned true, IsTrusted false, issuer 'Orchid Tools Root' unknown to the fleet.",
             make=lambda t: exe("C:\\Program Files\\Orchid Tools\\orchsvc.exe",
                                cert("Orchid Tools Ltd", "Orchid Tools Root", t - 330 * D, t + 1500 * D),
                                status="untrusted_root", product="Orchid Tools", description="Orchid agent",
                                version="4.0.1.0")),
        # -- cs.certificate.expired_signing
        dict(name="expired_cert_new_code", schemas=["ecs", "ocsf"], expect=[EXPIRED],
             desc="New hash signed two days ago with a certificate that expired 60 days before the window.",
             make=lambda t: exe("C:\\Program Files\\Brookfield Analytics\\bfagent.exe",
                                cert("Brookfield Analytics Inc", sectigo, start - 790 * D, start - 60 * D),
                                status="expired", product="Brookfield Agent", description="Brookfield Agent",
                                version="6.2.0.1", signing_time=t - 2 * D)),
        dict(name="expired_cert_new_code_ocsf", schemas=["ocsf", "ecs"], expect=[EXPIRED],
             desc="OCSF state_id 2 (expired), signature created_time after the certificate's expiration_time.",
             make=lambda t: exe("C:\\Program Files\\Meridian Print\\mprintd.exe",
                                cert("Meridian Print Solutions Ltd", digicert, start - 1200 * D, start - 130 * D,
                                     country="GB"),
                                status="expired", product="Meridian Print", description="Print daemon",
                                version="3.3.1.0", signing_time=t - 5 * D)),
        # -- cs.certificate.recently_issued
        dict(name="recently_issued_cert", schemas=["ecs", "ocsf"], expect=[RECENT],
             desc="Certificate issued 3 days before the first execution; signer on one host.",
             make=lambda t: exe("C:\\Program Files\\Nordlicht Data Tools\\ndtsync.exe",
                                cert("Nordlicht Data Tools GmbH", certum, t - 3 * D, t + 362 * D, country="DE"),
                                product="NDT Sync", description="NDT Sync", version="1.0.0.0", signing_time=t - 2 * D)),
        dict(name="recently_issued_cert_defender", schemas=["defender"], hosts=2, expect=[RECENT],
             desc="Defender rows on two hosts: CertificateCreationTime 3 days before the first execution.",
             make=lambda t: exe("C:\\Program Files\\Tessellate Labs\\tlhelper.exe",
                                cert("Tessellate Labs LLC", sectigo, t - 3 * D, t + 362 * D),
                                product="Tessellate Helper", description="Tessellate Helper", version="1.1.0.0",
                                signing_time=t - 2 * D)),
        dict(name="short_validity_cert", schemas=["ocsf", "ecs"], expect=[RECENT],
             desc="Certificate valid for 7 days, issued 2 days before the execution.",
             make=lambda t: exe("C:\\Program Files\\Quickship Labs\\qsagent.exe",
                                cert("Quickship Labs", ssl, t - 2 * D, t + 5 * D),
                                product="Quickship", description="Quickship agent", version="0.3.0.0",
                                signing_time=t - 1 * D)),
        # -- cs.issuer.unusual
        dict(name="unusual_issuer", schemas=["ecs", "ocsf"], expect=[UNUSUAL],
             desc="Trusted chain through an issuing CA no public code-signing CA list knows, on one host.",
             make=lambda t: exe("C:\\Program Files\\Halvard Systems\\hvmon.exe",
                                cert("Halvard Systems AB", "Aurum Trust Code Signing CA 1", t - 250 * D, t + 480 * D,
                                     issuer_dn="CN=Aurum Trust Code Signing CA 1, O=Aurum Trust Services, C=SC",
                                     country="SE"),
                                product="Halvard Monitor", description="Halvard Monitor", version="2.0.0.0")),
        dict(name="unusual_issuer_ocsf", schemas=["ocsf", "ecs"], expect=[UNUSUAL],
             desc="OCSF: signature valid, issuer 'Vantablack Secure Issuing CA' seen on one host only.",
             make=lambda t: exe("C:\\Program Files\\Corvid Remote\\corvidrc.exe",
                                cert("Corvid Remote Ltd", "Vantablack Secure Issuing CA", t - 180 * D, t + 550 * D,
                                     issuer_dn="CN=Vantablack Secure Issuing CA, O=Vantablack Secure, C=BZ"),
                                product="Corvid Remote", description="Remote support", version="5.1.2.0")),
        # -- cs.metadata.subject_mismatch
        dict(name="subject_mismatch_svchost", schemas=["ecs", "ocsf"], expect=[MISMATCH],
             desc="PE says Microsoft Corporation / svchost.exe, signed by 'Blue Ridge Softworks LLC'.",
             make=lambda t: exe("C:\\Program Files\\Common Files\\System\\svchost.exe",
                                cert("Blue Ridge Softworks LLC", sectigo, t - 280 * D, t + 450 * D),
                                company="Microsoft Corporation", product="Microsoft\u00ae Windows\u00ae Operating System",
                                description="Host Process for Windows Services", ofn="svchost.exe",
                                version="10.0.22621.1")),
        dict(name="subject_mismatch_defender", schemas=["defender"], defender_joined=True, expect=[MISMATCH],
             desc="Joined Defender row: ProcessVersionInfoCompanyName Microsoft Corporation, original name "
                  "lsass.exe, Signer 'Blue Ridge Softworks LLC'.",
             make=lambda t: exe("C:\\Program Files\\Common Files\\Services\\lsasrv.exe",
                                cert("Blue Ridge Softworks LLC", sectigo, t - 280 * D, t + 450 * D),
                                company="Microsoft Corporation", product="Microsoft\u00ae Windows\u00ae Operating System",
                                description="Local Security Authority Process", ofn="lsass.exe",
                                version="10.0.22621.1")),
        dict(name="subject_mismatch_ocsf", schemas=["ocsf", "ecs"], expect=[MISMATCH],
             desc="OCSF: company_name Microsoft Corporation, internal_name rundll32, signer 'Pelican Freight LLC'.",
             make=lambda t: exe("C:\\Program Files\\Windows Helpers\\rundll32.exe",
                                cert("Pelican Freight LLC", digicert, t - 150 * D, t + 600 * D),
                                company="Microsoft Corporation", product="Microsoft\u00ae Windows\u00ae Operating System",
                                description="Windows host process (Rundll32)", ofn="RUNDLL32.EXE",
                                version="10.0.22621.1")),
        # -- cs.codeintegrity.enforcement
        dict(name="ci_block_revoked_flat", schemas=["codeintegrity", "winlogbeat"], ci=(3033, 4),
             expect=[CI_ENF, REVOKED],
             desc="Code Integrity 3033 (did not meet the signing level) + 3089 VerificationError 4 (revoked), "
                  "one ActivityID; flat EventData.",
             make=lambda t: exe("C:\\Program Files\\Halyard\\hlydsvc.dll",
                                cert("Halyard Data Systems LLC", sectigo, t - 600 * D, t + 200 * D),
                                status="revoked", product="Halyard", description="Halyard service DLL",
                                version="2.1.0.0")),
        dict(name="ci_block_revoked_winlogbeat", schemas=["winlogbeat", "codeintegrity"], ci=(3033, 4),
             expect=[CI_ENF, REVOKED],
             desc="Winlogbeat Code Integrity 3033 + 3089 VerificationError 4 sharing winlog.activity_id.",
             make=lambda t: exe("C:\\Program Files\\Lumora\\lumhook.dll",
                                cert("Lumora Interactive Ltd", globalsign, t - 500 * D, t + 230 * D, country="GB"),
                                status="revoked", product="Lumora", description="Lumora hook", version="1.8.0.0")),
        dict(name="ci_enforced_block_user_path", schemas=["winlogbeat", "codeintegrity"], ci=(3077, 0),
             expect=[CI_ENF, RARE_PATH],
             desc="App Control enforced block (3077) of a downloaded signed tool, 3089 VerificationError 0, "
                  "UserWriteable true; signer on one host.",
             make=lambda t: exe("C:\\Users\\{user}\\Downloads\\PortaShell\\pshell.exe",
                                cert("PortaShell Software OU", ssl, t - 220 * D, t + 500 * D, country="EE"),
                                product="PortaShell", description="PortaShell Console", version="2.8.0.114")),
        dict(name="ci_enforced_block_untrusted", schemas=["codeintegrity", "winlogbeat"], ci=(3077, 7),
             expect=[CI_ENF, UNTRUSTED, UNUSUAL],
             desc="3077 enforced block + 3089 VerificationError 7 (untrusted root), private issuer; flat EventData.",
             make=lambda t: exe("C:\\Program Files\\Orison\\orisync.exe",
                                cert("Orison Utilities BV", "Orison Utilities Root CA", t - 400 * D, t + 3000 * D,
                                     country="NL"),
                                status="untrusted_root", product="Orison Sync", description="Orison Sync",
                                version="3.1.0.77")),
        # -- cs.prevalence.rare_signed_user_path
        dict(name="rare_signed_user_temp", schemas=["ecs", "ocsf"], expect=[RARE_PATH],
             desc="Validly signed exe run from AppData\\Local\\Temp on one host; signer seen on one host.",
             make=lambda t: exe("C:\\Users\\{user}\\AppData\\Local\\Temp\\7zS4A1C\\setup_helper.exe",
                                cert("Pinecrest Digital Ltd", digicert, t - 260 * D, t + 470 * D, country="GB"),
                                product="Pinecrest Setup", description="Setup helper", version="1.2.0.0")),
        dict(name="rare_signed_user_downloads", schemas=["ocsf", "ecs"], expect=[RARE_PATH],
             desc="Signed exe in Downloads on one host, signer on one host (OCSF).",
             make=lambda t: exe("C:\\Users\\{user}\\Downloads\\invoice_viewer.exe",
                                cert("Marrow Lane Software LLC", sectigo, t - 190 * D, t + 540 * D),
                                product="Invoice Viewer", description="Invoice Viewer", version="3.1.0.0")),
        # -- cs.intel.abused_certificate
        dict(name="abused_certificate", schemas=["ecs", "ocsf"], expect=[INTEL], intel="RemcosRAT",
             desc="Signer certificate (serial + SHA-256 thumbprint) listed in intel/abusech.csv.",
             make=lambda t: exe("C:\\Program Files\\Ardent Pixel\\apxrender.exe",
                                cert("Ardent Pixel Software Ltd", sectigo, t - 160 * D, t + 570 * D, country="GB"),
                                product="Ardent Pixel", description="Renderer", version="4.4.0.0")),
        dict(name="abused_certificate_ocsf", schemas=["ocsf", "ecs"], expect=[INTEL], intel="LummaStealer",
             desc="OCSF: certificate fingerprint (SHA-256) and serial listed in intel/abusech.csv.",
             make=lambda t: exe("C:\\Program Files\\Northgate Consulting\\ngreport.exe",
                                cert("Northgate Consulting OU", globalsign, t - 210 * D, t + 520 * D, country="EE"),
                                product="NG Report", description="Report generator", version="1.0.3.0")),
        # -- combinations
        dict(name="combo_recent_rare_mismatch", schemas=["ecs", "ocsf"], expect=[RECENT, RARE_PATH, MISMATCH],
             desc="Fresh certificate (3 days) + AppData\\Local\\Temp on one host + PE claims Microsoft svchost.exe.",
             make=lambda t: exe("C:\\Users\\{user}\\AppData\\Local\\Temp\\MicrosoftEdgeUpdate\\svchost.exe",
                                cert("Halcyon Bridge Systems LLC", sectigo, t - 3 * D, t + 362 * D),
                                company="Microsoft Corporation", product="Microsoft\u00ae Windows\u00ae Operating System",
                                description="Host Process for Windows Services", ofn="svchost.exe",
                                version="10.0.22621.1", signing_time=t - 1 * D)),
        dict(name="combo_revoked_abused_downloads", schemas=["ocsf", "ecs"], expect=[REVOKED, INTEL, RARE_PATH],
             intel="AgentTesla",
             desc="Revoked and listed certificate, binary in Downloads on one host.",
             make=lambda t: exe("C:\\Users\\{user}\\Downloads\\scan_2026_11.exe",
                                cert("Sunbeam Tech LLC", sectigo, t - 120 * D, t + 610 * D),
                                status="revoked", product="Scan Viewer", description="Scan Viewer",
                                version="1.0.0.1")),
        dict(name="combo_expired_untrusted_defender", schemas=["defender"], expect=[UNTRUSTED, EXPIRED],
             desc="Defender: IsTrusted false, certificate expired 75 days before the window, countersigned after "
                  "expiry (new code).",
             make=lambda t: exe("C:\\Program Files\\Vireo Imaging\\vireoscan.exe",
                                cert("Vireo Imaging GmbH", globalsign, start - 800 * D, start - 75 * D, country="DE"),
                                status="untrusted_root", product="Vireo Scan", description="Vireo Scan",
                                version="8.0.0.2", signing_time=t - 3 * D)),
        dict(name="combo_selfsigned_fresh_desktop", schemas=["ecs", "ocsf"],
             expect=[UNTRUSTED, RECENT, UNUSUAL, RARE_PATH],
             desc="Self-signed certificate made yesterday, untrusted root, binary on the Desktop of one host.",
             make=lambda t: exe("C:\\Users\\{user}\\Desktop\\crackme.exe",
                                cert("Open Source Developer, Random Person", "Random Person Self-Signed", t - 1 * D,
                                     t + 364 * D, issuer_dn="CN=Random Person Self-Signed"),
                                status="untrusted_root", product="crackme", description="crackme", version="1.0.0.0")),
        # -- clock rollback before a driver load (Sigma rules of clock_rollback.yml)
        dict(name="clock_rollback_driver_sysmon", schemas=["winlogbeat"], clock="sysmon",
             expect=[SIGMA_TIME_SERVICE, SIGMA_DATE_SET, SIGMA_4616, EXPIRED],
             desc="Sysmon 1 'net stop w32time', Sysmon 1 'cmd.exe /c date 03-14-2021', Security 4616 by cmd.exe, "
                  "then Sysmon 6: a driver signed with a certificate that expired in 2023, no signing timestamp.",
             make=lambda t: exe("C:\\Windows\\System32\\drivers\\gdrv3.sys",
                                cert("Gilded Ridge Technology Co., Ltd.", "DigiCert EV Code Signing CA (SHA2)",
                                     start - 1500 * D, start - 1100 * D, country="TW"),
                                status="expired", product="Gilded Ridge Utility", description="GR low-level I/O driver",
                                version="1.0.0.7")),
        dict(name="clock_rollback_driver_ecs", schemas=["ecs"], clock="ecs",
             expect=[SIGMA_TIME_SERVICE, SIGMA_DATE_SET, EXPIRED],
             desc="Elastic Defend: 'sc.exe stop w32time', 'sc.exe config w32time start= disabled', PowerShell "
                  "Set-Date, then a driver signed with a certificate that expired in 2022, no signing timestamp.",
             make=lambda t: exe("C:\\Windows\\System32\\drivers\\rwdrv64.sys",
                                cert("Ravenwood Embedded Systems Inc", "Symantec Class 3 SHA256 Code Signing CA",
                                     start - 1900 * D, start - 1450 * D),
                                status="expired", product="Ravenwood HW Access", description="Hardware access driver",
                                version="3.2.0.1")),
        # -- the same detectors on the flat (NXLog/HELK) and evtx JSON shapes
        dict(name="clock_rollback_driver_evtx", schemas=["evtx"], clock="sysmon",
             expect=[SIGMA_TIME_SERVICE, SIGMA_DATE_SET, SIGMA_4616, EXPIRED],
             desc="evtx JSON: Sysmon 1 'net stop w32time', Sysmon 1 'cmd.exe /c date 03-14-2021', Security 4616 by "
                  "cmd.exe, then Sysmon 6: a driver signed with a certificate that expired in 2022, no timestamp.",
             make=lambda t: exe("C:\\Windows\\System32\\drivers\\amifldrv64.sys",
                                cert("Ambergate Firmware Tools Inc.", "DigiCert EV Code Signing CA (SHA2)",
                                     start - 1700 * D, start - 1300 * D),
                                status="expired", product="Ambergate Flash", description="Firmware flash driver",
                                version="2.0.0.3")),
        dict(name="bad_digest_flat", schemas=["flat", "evtx"], expect=[REVOKED],
             desc="Flat Sysmon 7 (NXLog/Logstash or HELK export): Signed 'failed: Invalid hash' for a patched vendor "
                  "binary.",
             make=lambda t: exe("C:\\Program Files\\Thornfield Capture\\tfcap.exe",
                                cert("Thornfield Capture Ltd", sectigo, t - 330 * D, t + 380 * D, country="GB"),
                                status="bad_digest", product="Thornfield Capture", description="Capture service",
                                version="5.0.2.0")),
        dict(name="rare_signed_dll_evtx", schemas=["evtx", "flat"], expect=[RARE_PATH],
             loader="C:\\Windows\\System32\\rundll32.exe",
             desc="evtx JSON Sysmon 7: rundll32.exe loads a validly signed DLL from AppData\\Roaming on one host; "
                  "signer seen on one host.",
             make=lambda t: exe("C:\\Users\\{user}\\AppData\\Roaming\\Marrowind\\mwhelper.dll",
                                cert("Marrowind Apps LLC", digicert, t - 240 * D, t + 490 * D),
                                product="Marrowind Helper", description="Marrowind helper", version="1.4.0.0",
                                ofn="mwhelper.dll")),
        dict(name="subject_mismatch_sideload_flat", schemas=["flat", "evtx", "winlogbeat"], expect=[MISMATCH],
             loader="C:\\Program Files\\Harbor Notes\\hnotes.exe",
             desc="Flat Sysmon 7: a side-loaded version.dll next to a vendor exe claims Microsoft (company, original "
                  "name version.dll) but is signed by 'Wexford Bay Trading Ltd'.",
             make=lambda t: exe("C:\\Program Files\\Harbor Notes\\version.dll",
                                cert("Wexford Bay Trading Ltd", sectigo, t - 300 * D, t + 420 * D, country="GB"),
                                company="Microsoft Corporation", product="Microsoft\u00ae Windows\u00ae Operating System",
                                description="Version Checking and File Installation Libraries", ofn="version.dll",
                                version="10.0.22621.1")),
        dict(name="ci_block_revoked_evtx", schemas=["evtx", "flat"], ci=(3033, 4), expect=[CI_ENF, REVOKED],
             desc="Code Integrity 3033 + 3089 VerificationError 4 in evtx JSON (or flat), one Correlation ActivityID.",
             make=lambda t: exe("C:\\Program Files\\Saltmarsh Tools\\smtray.dll",
                                cert("Saltmarsh Tools Ltd", globalsign, t - 520 * D, t + 210 * D, country="GB"),
                                status="revoked", product="Saltmarsh Tools", description="Tray helper",
                                version="2.2.0.0")),
        # -- evasions: expected to be missed by today's detectors (check.py reports them
        # separately; --strict-evasion fails on them)
        dict(name="evasion_path_8dot3_dll", schemas=["flat", "evtx", "winlogbeat", "ecs", "ocsf", "defender"], expect=[RARE_PATH],
             evasion="paths", loader="C:\\Windows\\System32\\rundll32.exe",
             desc="Rare signed DLL loaded from the 8.3 spelling of AppData (C:\\Users\\<u>\\APPDAT~1\\Local\\Temp): "
                  "the user-writable patterns spell AppData.",
             make=lambda t: exe("C:\\Users\\{user}\\APPDAT~1\\Local\\Temp\\x.dll",
                                cert("Larchfield Utilities LLC", sectigo, t - 210 * D, t + 500 * D),
                                product="Larchfield Helper", description="Helper library", version="1.0.3.0",
                                ofn="lfhelper.dll")),
        dict(name="evasion_path_trailing_dot", schemas=["ecs", "ocsf", "defender", "winlogbeat", "flat", "evtx"], expect=[RARE_PATH], evasion="paths",
             desc="Rare signed exe in a folder spelled with a trailing dot (AppData\\Local\\Temp.\\x.exe), which "
                  "Win32 path normalization strips but the raw path keeps.",
             make=lambda t: exe("C:\\Users\\{user}\\AppData\\Local\\Temp.\\x.exe",
                                cert("Fernhill Software Ltd", digicert, t - 190 * D, t + 540 * D, country="GB"),
                                product="Fernhill Update", description="Update check", version="2.1.0.0",
                                ofn="fhupd.exe")),
        dict(name="evasion_path_mock_windows_dir", schemas=["evtx", "flat", "winlogbeat", "ecs", "ocsf", "defender"], expect=[RARE_PATH],
             evasion="paths", loader="C:\\Windows \\System32\\ComputerDefaults.exe",
             desc="Mock trusted folder 'C:\\Windows \\System32' (trailing space, the UAC-bypass trick): a copied "
                  "auto-elevating exe loads a rare signed DLL there; neither user-writable nor a system folder.",
             make=lambda t: exe("C:\\Windows \\System32\\x.dll",
                                cert("Tamsin Digital Ltd", ssl, t - 260 * D, t + 450 * D, country="GB"),
                                product="Tamsin Helper", description="Helper library", version="1.2.0.0",
                                ofn="tdhelper.dll")),
        dict(name="evasion_lookalike_cyrillic_o", schemas=["ecs", "ocsf", "defender", "winlogbeat", "flat", "evtx"], expect=[MISMATCH], evasion="lookalike",
             desc="Company and signer both 'Micr\u043esoft Corporation' (Cyrillic o, U+043E) from a public CA: no "
                  "'microsoft' token, and company and signer agree.",
             make=lambda t: exe("C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeC2RClient.exe",
                                cert("Micr\u043esoft Corporation", ssl, t - 200 * D, t + 500 * D),
                                product="Microsoft Office", description="Microsoft Office Click-to-Run Client",
                                ofn="OfficeC2RClient.exe", version="16.0.18025.20140")),
        dict(name="evasion_lookalike_digit_zero", schemas=["ocsf", "ecs", "defender", "winlogbeat", "flat", "evtx"], expect=[MISMATCH], evasion="lookalike",
             desc="Company and signer both 'Micros0ft Corporation' (digit zero).",
             make=lambda t: exe("C:\\Program Files\\Microsoft Update Health Tools\\uhssvc.exe",
                                cert("Micros0ft Corporation", certum, t - 230 * D, t + 480 * D),
                                product="Microsoft Update Health Tools", description="Microsoft Update Health Service",
                                ofn="uhssvc.exe", version="5.72.0.0")),
        dict(name="evasion_lookalike_corp_foreign_ca", schemas=["defender", "ecs", "ocsf"], expect=[MISMATCH],
             evasion="lookalike",
             desc="Company 'Microsoft Corporation', signer 'Microsoft Corp.' issued by Sectigo Public Code Signing CA "
                  "R36 (Microsoft's own certificates chain to Microsoft roots).",
             make=lambda t: exe("C:\\Program Files\\Microsoft OneDrive\\OneDriveLauncher.exe",
                                cert("Microsoft Corp.", sectigo, t - 170 * D, t + 560 * D),
                                company="Microsoft Corporation", product="Microsoft OneDrive",
                                description="Microsoft OneDrive Launcher", ofn="OneDriveLauncher.exe",
                                version="24.211.1020.0001")),
        dict(name="evasion_lookalike_vendor_token", schemas=["winlogbeat", "flat", "evtx", "ecs", "ocsf", "defender"], expect=[MISMATCH],
             evasion="lookalike",
             desc="Signer 'Microsoft Update Services Ltd' (the vendor token inside a stranger's name) on a file whose "
                  "original name is svchost.exe (Sysmon 7: signer name only).",
             make=lambda t: exe("C:\\Program Files\\Common Files\\microsoft shared\\Update\\svchost.exe",
                                cert("Microsoft Update Services Ltd", globalsign, t - 180 * D, t + 520 * D,
                                     country="GB"),
                                company="Microsoft Corporation", product="Microsoft\u00ae Windows\u00ae Operating System",
                                description="Host Process for Windows Services", ofn="svchost.exe",
                                version="10.0.22621.1")),
        dict(name="evasion_expired_driver_sysmon6", schemas=["evtx", "flat", "winlogbeat"], expect=[EXPIRED],
             evasion="expiry", driver=True, runs=1,
             desc="Sysmon 6: a driver new to the fleet, SignatureStatus Expired, no signing time (Sysmon carries no "
                  "certificate dates).",
             make=lambda t: exe("C:\\Windows\\System32\\drivers\\yfhwio64.sys",
                                cert("Yellowfield Hardware Co., Ltd.", "DigiCert EV Code Signing CA (SHA2)",
                                     start - 1200 * D, start - 730 * D, country="TW"),
                                status="expired", product="Yellowfield HW I/O", description="Hardware I/O driver",
                                version="1.3.0.2")),
        dict(name="evasion_expired_backdated_ecs", schemas=["ecs", "ocsf"], expect=[EXPIRED], evasion="expiry",
             desc="Signing time 45 days before not-after, certificate expired two years before the file is first "
                  "seen on one host (a backdated or abused timestamp).",
             make=lambda t: exe("C:\\Program Files\\Brackenridge Utilities\\bkrsvc.exe",
                                cert("Brackenridge Utilities Ltd", "DigiCert SHA2 Assured ID Code Signing CA",
                                     t - 1100 * D, t - 735 * D, country="GB"),
                                status="expired", product="Brackenridge Service", description="Brackenridge Service",
                                version="3.0.1.0", signing_time=t - 780 * D)),
        dict(name="evasion_expired_backdated_defender", schemas=["defender"], expect=[EXPIRED], evasion="expiry",
             desc="Defender: CertificateCountersignatureTime before CertificateExpirationTime, certificate expired two "
                  "years before the file is first seen on one host.",
             make=lambda t: exe("C:\\Program Files\\Corriemoor Tools\\cmtagent.exe",
                                cert("Corriemoor Tools Ltd", sectigo, t - 1150 * D, t - 760 * D, country="GB"),
                                status="expired", product="Corriemoor Agent", description="Corriemoor Agent",
                                version="7.1.0.4", signing_time=t - 800 * D)),
    ]


# ---------------------------------------------------------------------------------------
# Catalog content

ECS_STATUS = {"valid": "trusted", "expired": "errorExpired", "revoked": "errorRevoked",
              "untrusted_root": "errorUntrustedRoot", "bad_digest": "errorBadDigest", "chain_error": "errorChaining"}
OCSF_STATE = {"valid": (1, "Valid"), "expired": (2, "Expired"), "revoked": (3, "Revoked"),
              "untrusted_root": (6, "Untrusted"), "chain_error": (8, "Chain error"), "bad_digest": (9, "Invalid digest")}
SYSMON_STATUS = {
    "valid": "Valid", "expired": "Expired", "unsigned": "Unavailable",
    "revoked": "A certificate was explicitly revoked by its issuer.",
    "untrusted_root": "A certificate chain processed, but terminated in a root certificate which is not trusted "
                      "by the trust provider.",
    "chain_error": "A certificate chain could not be built to a trusted root authority.",
}
CI_VE = {"valid": 0, "expired": 5, "revoked": 4, "untrusted_root": 7, "bad_digest": 1, "chain_error": 27, "unsigned": 3}
CI_AUDIT_POLICY = ("Contoso App Control Pilot (audit)", "CONTOSO-PILOT-2026.10",
                   "{4B7C2E91-0D3A-4F5E-9A61-2C8D7E0F1B34}")
CI_ENFORCED_POLICY = ("Contoso Kiosk Lockdown", "CONTOSO-KIOSK-2026.11", "{7D3E1A52-9B44-4C0E-A1F6-2E8B5C9D0A13}")
SYSMON_GUID = "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"
# (channel, provider, provider GUID, keywords, message title per event id) of flat/evtx records.
SYSMON_LOG = ("Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
              "0x8000000000000000", {1: "Process Create:", 6: "Driver loaded:", 7: "Image loaded:"})
SECURITY_LOG = ("Security", "Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}",
                "0x8020000000000000", {4616: "The system time was changed."})
CI_LOG = ("Microsoft-Windows-CodeIntegrity/Operational", "Microsoft-Windows-CodeIntegrity",
          "{4EE76BD8-3CF4-44A0-A0AC-3937643E37A3}", "0x8000000000000000",
          {3033: "Code Integrity determined that a process attempted to load a file that did not meet the signing "
                 "level requirements.",
           3076: "Code Integrity determined that a process attempted to load a file that did not meet the "
                 "Enterprise signing level requirements or violated code integrity policy. However, due to code "
                 "integrity auditing policy, the image was allowed to load.",
           3077: "Code Integrity determined that a process attempted to load a file that did not meet the "
                 "Enterprise signing level requirements or violated code integrity policy.",
           3089: "Signature information for another event. Match using the Correlation Id.",
           3099: "Refreshed and activated Code Integrity policy."})
CI_GUID = "{4ee76bd8-3cf4-44a0-a0ac-3937643e37a3}"
TENANT = "5e1f0c3a-7d2b-4a9e-8c61-0f3b2d4e6a70"

POP_WEIGHTS = {
    "major_vendor_windows": 0.52, "major_vendor_apps": 0.24, "whql_driver_tools": 0.035,
    "per_user_updaters": 0.075, "long_tail_vendors": 0.05, "internal_pki": 0.035, "expired_but_deployed": 0.012,
    "open_source_lesser_ca": 0.01, "unsigned": 0.01, "vendor_cert_renewal": 0.004, "dev_test_signed": 0.15,
}

S32 = "C:\\Windows\\System32"
# Inbox binaries the third build (Windows 11 24H2) signs as "Microsoft Windows Publisher".
WINDOWS_PUBLISHER_SIGNED = {"svchost.exe", "RuntimeBroker.exe", "taskhostw.exe", "sihost.exe", "ctfmon.exe",
                            "dllhost.exe", "conhost.exe", "backgroundTaskHost.exe", "smartscreen.exe",
                            "SearchProtocolHost.exe", "SearchFilterHost.exe", "CompPkgSrv.exe", "lsass.exe",
                            "services.exe", "usocoreworker.exe", "MoUsoCoreWorker.exe"}
WINDOWS_BINARIES = [
    ("svchost.exe", S32, "Host Process for Windows Services"), ("RuntimeBroker.exe", S32, "Runtime Broker"),
    ("conhost.exe", S32, "Console Window Host"), ("backgroundTaskHost.exe", S32, "Background Task Host"),
    ("taskhostw.exe", S32, "Host Process for Windows Tasks"), ("dllhost.exe", S32, "COM Surrogate"),
    ("SearchProtocolHost.exe", S32, "Microsoft Windows Search Protocol Host"),
    ("SearchFilterHost.exe", S32, "Microsoft Windows Search Filter Host"), ("cmd.exe", S32, "Windows Command Processor"),
    ("WmiPrvSE.exe", S32 + "\\wbem", "WMI Provider Host"), ("smartscreen.exe", S32, "Windows Defender SmartScreen"),
    ("explorer.exe", "C:\\Windows", "Windows Explorer"), ("sihost.exe", S32, "Shell Infrastructure Host"),
    ("ctfmon.exe", S32, "CTF Loader"), ("powershell.exe", S32 + "\\WindowsPowerShell\\v1.0", "Windows PowerShell"),
    ("audiodg.exe", S32, "Windows Audio Device Graph Isolation"), ("wermgr.exe", S32, "Windows Problem Reporting"),
    ("rundll32.exe", S32, "Windows host process (Rundll32)"), ("msiexec.exe", S32, "Windows\u00ae installer"),
    ("consent.exe", S32, "Consent UI for administrative applications"), ("notepad.exe", S32, "Notepad"),
    ("CompPkgSrv.exe", S32, "Component Package Support Server"), ("usocoreworker.exe", S32, "UsoCoreWorker"),
    ("MoUsoCoreWorker.exe", S32, "MoUSO Core Worker Process"), ("sppsvc.exe", S32, "Microsoft Software Protection Platform Service"),
    ("CompatTelRunner.exe", S32, "Microsoft Compatibility Telemetry"), ("DeviceCensus.exe", S32, "Device Census"),
    ("taskmgr.exe", S32, "Task Manager"), ("mmc.exe", S32, "Microsoft Management Console"),
    ("regsvr32.exe", S32, "Microsoft(C) Register Server"), ("SecurityHealthService.exe", S32, "Windows Security Health Service"),
    ("spoolsv.exe", S32, "Spooler SubSystem App"), ("fontdrvhost.exe", S32, "Usermode Font Driver Host"),
    ("dwm.exe", S32, "Desktop Window Manager"), ("userinit.exe", S32, "Userinit Logon Application"),
    ("LogonUI.exe", S32, "Windows Logon User Interface Host"), ("SgrmBroker.exe", S32, "System Guard Runtime Monitor Broker"),
    ("WUDFHost.exe", S32, "Windows Driver Foundation - User-mode Driver Framework Host Process"),
    ("TrustedInstaller.exe", "C:\\Windows\\servicing", "Windows Modules Installer"),
    ("gpupdate.exe", S32, "Microsoft\u00ae Windows\u00ae Group Policy Update Utility"), ("whoami.exe", S32, "whoami"),
    ("ipconfig.exe", S32, "IP Configuration Utility"), ("net.exe", S32, "Net Command"), ("net1.exe", S32, "Net Command"),
    ("sc.exe", S32, "Service Control Manager Configuration Tool"), ("schtasks.exe", S32, "Task Scheduler Configuration Tool"),
    ("reg.exe", S32, "Registry Console Tool"), ("tasklist.exe", S32, "Lists the current running tasks"),
    ("findstr.exe", S32, "Find String (QGREP) Utility"), ("where.exe", S32, "Where - Lists location of files"),
    ("wevtutil.exe", S32, "Eventing Command Line Utility"), ("dism.exe", S32, "Dism Image Servicing Utility"),
    ("cleanmgr.exe", S32, "Disk Space Cleanup Manager for Windows"), ("mstsc.exe", S32, "Remote Desktop Connection"),
    ("calc.exe", S32, "Windows Calculator"), ("SnippingTool.exe", S32, "Snipping Tool"),
    ("control.exe", S32, "Windows Control Panel"), ("SystemSettingsBroker.exe", S32, "System Settings Broker"),
    ("ApplicationFrameHost.exe", S32, "Application Frame Host"), ("UserOOBEBroker.exe", S32, "User OOBE Broker"),
    ("WerFault.exe", S32, "Windows Problem Reporting"), ("wscript.exe", S32, "Microsoft \u00ae Windows Based Script Host"),
    ("cscript.exe", S32, "Microsoft \u00ae Console Based Script Host"), ("netsh.exe", S32, "Network Command Shell"),
    ("icacls.exe", S32, "icacls"), ("robocopy.exe", S32, "Microsoft Robocopy"), ("xcopy.exe", S32, "Extended Copy Utility"),
    ("timeout.exe", S32, "timeout - pauses command processing"), ("quser.exe", S32, "Query User Utility"),
    ("shutdown.exe", S32, "Windows Shutdown and Annotation Tool"), ("msinfo32.exe", S32, "System Information"),
    ("perfmon.exe", S32, "Resource and Performance Monitor"), ("eventvwr.exe", S32, "Event Viewer Snapins Launcher"),
    ("ping.exe", S32, "TCP/IP Ping Command"), ("nslookup.exe", S32, "nslookup"), ("systeminfo.exe", S32, "Displays system information"),
    ("vssvc.exe", S32, "Microsoft\u00ae Volume Shadow Copy Service"), ("PickerHost.exe", S32, "PickerHost"),
    ("OpenWith.exe", S32, "Pick an app"), ("mobsync.exe", S32, "Microsoft Sync Center"), ("bcdedit.exe", S32, "Boot Configuration Data Editor"),
    ("certutil.exe", S32, "CertUtil.exe"), ("hostname.exe", S32, "Hostname APP"), ("winver.exe", S32, "Version Reporter Applet"),
    ("SearchIndexer.exe", S32, "Microsoft Windows Search Indexer"), ("lsass.exe", S32, "Local Security Authority Process"),
    ("services.exe", S32, "Services and Controller app"), ("winlogon.exe", S32, "Windows Logon Application"),
    ("csrss.exe", S32, "Client Server Runtime Process"), ("smss.exe", S32, "Windows Session Manager"),
    ("wininit.exe", S32, "Windows Start-Up Application"), ("LockApp.exe", "C:\\Windows\\SystemApps\\Microsoft.LockApp_cw5n1h2txyewy", "LockApp"),
    ("StartMenuExperienceHost.exe", "C:\\Windows\\SystemApps\\Microsoft.Windows.StartMenuExperienceHost_cw5n1h2txyewy", "Start"),
    ("TextInputHost.exe", "C:\\Windows\\SystemApps\\MicrosoftWindows.Client.CBS_cw5n1h2txyewy\\InputApp", "TextInputHost"),
    ("ShellExperienceHost.exe", "C:\\Windows\\SystemApps\\ShellExperienceHost_cw5n1h2txyewy", "Windows Shell Experience Host"),
    ("SystemSettings.exe", "C:\\Windows\\ImmersiveControlPanel", "Settings"), ("mshta.exe", S32, "Microsoft (R) HTML Application host"),
    ("WerFaultSecure.exe", S32, "Windows Fault Reporting"), ("DataExchangeHost.exe", S32, "Data Exchange Host"),
    ("wbengine.exe", S32, "Microsoft\u00ae Block Level Backup Engine Service EXE"), ("takeown.exe", S32, "Takes ownership of a file"),
    ("msdt.exe", S32, "Diagnostics Troubleshooting Wizard"), ("resmon.exe", S32, "Resource and Performance Monitor"),
]

BIG_VENDORS = [
    ("Google LLC", "Google LLC", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("Adobe Inc.", "Adobe Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("Mozilla Corporation", "Mozilla Corporation", "DigiCert SHA2 Assured ID Code Signing CA"),
    ("Cisco Systems, Inc.", "Cisco Systems, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("Intel Corporation", "Intel Corporation", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("NVIDIA Corporation", "NVIDIA Corporation", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("VMware, Inc.", "VMware, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("Oracle America, Inc.", "Oracle America, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("Zoom Video Communications, Inc.", "Zoom Video Communications, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("Citrix Systems, Inc.", "Citrix Systems, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1"),
    ("Dell Inc", "Dell Inc", "DigiCert SHA2 Assured ID Code Signing CA"),
]

# (vendor, path, description, product, share of hosts, weight, versions, rollout day or None)
MSO = "C:\\Program Files\\Microsoft Office\\root\\Office16"
BIG_APPS = [
    ("Microsoft Corporation", MSO + "\\OUTLOOK.EXE", "Microsoft Outlook", "Microsoft Office", 0.92, 1.0,
     ["16.0.17928.20156", "16.0.18025.20140"], 1.3),
    ("Microsoft Corporation", MSO + "\\WINWORD.EXE", "Microsoft Word", "Microsoft Office", 0.92, 0.7,
     ["16.0.17928.20156", "16.0.18025.20140"], 1.3),
    ("Microsoft Corporation", MSO + "\\EXCEL.EXE", "Microsoft Excel", "Microsoft Office", 0.9, 0.6,
     ["16.0.17928.20156", "16.0.18025.20140"], 1.3),
    ("Microsoft Corporation", MSO + "\\POWERPNT.EXE", "Microsoft PowerPoint", "Microsoft Office", 0.85, 0.25,
     ["16.0.17928.20156", "16.0.18025.20140"], 1.3),
    ("Microsoft Corporation", "C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeClickToRun.exe",
     "Microsoft Office Click-to-Run", "Microsoft Office", 0.92, 0.35, ["16.0.17928.20156"], None),
    ("Microsoft Corporation", "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", "Microsoft Edge",
     "Microsoft Edge", 1.0, 1.4, ["130.0.2849.80", "131.0.2903.51"], 0.4),
    ("Microsoft Corporation", "C:\\Program Files (x86)\\Microsoft\\EdgeUpdate\\MicrosoftEdgeUpdate.exe",
     "Microsoft Edge Update", "Microsoft Edge Update", 1.0, 0.25, ["1.3.195.35"], None),
    ("Microsoft Corporation", "C:\\Program Files\\WindowsApps\\MSTeams_24295.606.3238.6194_x64__8wekyb3d8bbwe\\ms-teams.exe",
     "Microsoft Teams", "Microsoft Teams", 0.6, 0.8, ["24295.606.3238.6194"], None),
    ("Google LLC", "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", "Google Chrome", "Google Chrome",
     0.75, 1.6, ["130.0.6723.117", "131.0.6778.70"], 0.8),
    ("Google LLC", "C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe", "Google Installer", "Google Update",
     0.75, 0.2, ["1.3.36.372"], None),
    ("Adobe Inc.", "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe", "Adobe Acrobat", "Adobe Acrobat",
     0.55, 0.45, ["24.4.20220.0", "24.5.20320.0"], 1.7),
    ("Adobe Inc.", "C:\\Program Files (x86)\\Common Files\\Adobe\\ARM\\1.0\\AdobeARM.exe", "Adobe Reader and Acrobat Manager",
     "Adobe Reader and Acrobat Manager", 0.55, 0.1, ["1.824.460.1042"], None),
    ("Mozilla Corporation", "C:\\Program Files\\Mozilla Firefox\\firefox.exe", "Firefox", "Firefox", 0.22, 1.2,
     ["132.0.2", "133.0"], 2.1),
    ("Cisco Systems, Inc.", "C:\\Program Files (x86)\\Cisco\\Cisco Secure Client\\UI\\csc_ui.exe",
     "Cisco Secure Client - User Interface", "Cisco Secure Client", 0.7, 0.2, ["5.1.6.103"], None),
    ("Cisco Systems, Inc.", "C:\\Program Files (x86)\\Cisco\\Cisco Secure Client\\vpnagent.exe",
     "Cisco Secure Client - AnyConnect VPN Agent", "Cisco Secure Client", 0.7, 0.1, ["5.1.6.103"], None),
    ("Intel Corporation", "C:\\Program Files\\Intel\\Intel(R) Management Engine Components\\LMS\\LMS.exe",
     "Local Manageability Service", "Intel(R) Management Engine", 0.5, 0.1, ["2406.5.5.0"], None),
    ("NVIDIA Corporation", "C:\\Program Files\\NVIDIA Corporation\\NvContainer\\nvcontainer.exe", "NVIDIA Container",
     "NVIDIA Container", 0.25, 0.25, ["1.41.3400.3211"], None),
    ("VMware, Inc.", "C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe", "VMware Tools Core Service",
     "VMware Tools", 0.12, 0.3, ["12.4.5.23787"], None),
    ("Oracle America, Inc.", "C:\\Program Files\\Java\\jre-1.8\\bin\\java.exe", "Java(TM) Platform SE binary",
     "Java(TM) Platform SE 8", 0.2, 0.25, ["8.0.4310.10"], None),
    ("Zoom Video Communications, Inc.", "C:\\Program Files\\Zoom\\bin\\Zoom.exe", "Zoom Meetings", "Zoom Meetings",
     0.15, 0.4, ["6.2.7.49583"], None),
    ("Citrix Systems, Inc.", "C:\\Program Files (x86)\\Citrix\\ICA Client\\SelfServicePlugin\\SelfService.exe",
     "Citrix Workspace", "Citrix Workspace", 0.3, 0.2, ["24.9.10.238"], None),
    ("Dell Inc", "C:\\Program Files\\Dell\\CommandUpdate\\dcu-cli.exe", "Dell Command | Update", "Dell Command | Update",
     0.35, 0.05, ["5.4.0.0"], None),
]

# (vendor CN, PE company, issuer, path under C:\Users\<u>\, description, product, share, versions, rollout day)
PER_USER = [
    ("Microsoft Corporation", "Microsoft Corporation", "Microsoft Code Signing PCA 2011",
     "AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe", "Microsoft OneDrive", "Microsoft OneDrive", 0.85,
     ["24.201.1006.0005", "24.211.1020.0001"], 1.1),
    ("Microsoft Corporation", "Microsoft Corporation", "Microsoft Code Signing PCA 2011",
     "AppData\\Local\\Microsoft\\OneDrive\\OneDriveStandaloneUpdater.exe", "Standalone Updater", "Microsoft OneDrive",
     0.85, ["24.201.1006.0005"], None),
    ("Microsoft Corporation", "Microsoft Corporation", "Microsoft Code Signing PCA 2011",
     "AppData\\Local\\Microsoft\\Teams\\Update.exe", "Microsoft Teams (work or school) updater", "Microsoft Teams",
     0.45, ["1.7.00.13456"], None),
    ("Microsoft Corporation", "Microsoft Corporation", "Microsoft Code Signing PCA 2011",
     "AppData\\Local\\Programs\\Microsoft VS Code\\Code.exe", "Visual Studio Code", "Visual Studio Code", 0.2,
     ["1.95.2", "1.95.3"], 1.9),
    ("Slack Technologies, LLC", "Slack Technologies Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
     "AppData\\Local\\slack\\slack.exe", "Slack", "Slack", 0.3, ["4.41.97", "4.41.98"], 0.5),
    ("Slack Technologies, LLC", "Slack Technologies Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
     "AppData\\Local\\slack\\Update.exe", "Slack updater", "Slack", 0.3, ["1.5.2"], None),
    ("Zoom Video Communications, Inc.", "Zoom Video Communications, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
     "AppData\\Roaming\\Zoom\\bin\\Zoom.exe", "Zoom Meetings", "Zoom Meetings", 0.4, ["6.2.7.49583", "6.2.10.50214"],
     1.6),
    ("Zoom Video Communications, Inc.", "Zoom Video Communications, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
     "AppData\\Roaming\\Zoom\\bin\\installer.exe", "Zoom Installer", "Zoom Meetings", 0.4, ["6.2.7.49583"], None),
    ("Google LLC", "Google LLC", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
     "AppData\\Local\\Google\\Update\\GoogleUpdate.exe", "Google Installer", "Google Update", 0.18, ["1.3.36.372"], None),
    ("Spotify AB", "Spotify Ltd", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
     "AppData\\Roaming\\Spotify\\Spotify.exe", "Spotify", "Spotify", 0.08, ["1.2.50.335"], None),
    ("Discord Inc.", "Discord Inc.", "Sectigo Public Code Signing CA EV R36",
     "AppData\\Local\\Discord\\Update.exe", "Squirrel Update", "Discord", 0.04, ["1.0.9174"], None),
    ("Cisco Systems, Inc.", "Cisco Systems, Inc.", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1",
     "AppData\\Local\\CiscoSparkLauncher\\CiscoCollabHost.exe", "Cisco Webex", "Webex", 0.1, ["44.10.0.31000"], None),
]

# (path, description, product, Contoso cert index, share, weight)
INTERNAL_APPS = [
    ("C:\\Program Files\\Contoso\\Agent\\ContosoAgent.exe", "Contoso Endpoint Agent", "Contoso Agent", 0, 0.95, 1.0),
    ("C:\\ProgramData\\Contoso\\Inventory\\invscan.exe", "Contoso Inventory Scanner", "Contoso Inventory", 0, 0.6, 0.5),
    ("C:\\Program Files\\Contoso\\Payroll\\payroll.exe", "Contoso Payroll", "Contoso Payroll", 1, 0.25, 0.6),
    ("AppData\\Local\\Apps\\2.0\\X7QK2LMA.B3N\\4NRJ1ZV0.T2P\\cont..tion_8f3a1c2d9e4b7a60_0003.0002_6c1e0d2b9a3f4e57\\Expenses.exe",
     "Contoso Expenses (ClickOnce)", "Contoso Expenses", 1, 0.2, 0.5),
    ("C:\\Program Files\\Contoso\\PrintBridge\\printbridge.exe", "Contoso PrintBridge", "Contoso PrintBridge", 0, 0.4, 0.2),
    ("C:\\Program Files\\Contoso\\LabTools\\labcal.exe", "Contoso Lab Calibration", "Contoso LabTools", 0, 0.03, 0.8),
]

# (vendor, country, issuer, path, description, days since expiry at window start, share)
EXPIRED_DEPLOYED = [
    ("Brightline Imaging GmbH", "DE", "Sectigo Public Code Signing CA R36",
     "C:\\Program Files (x86)\\Brightline\\Scan\\blscan.exe", "Brightline Scan", 400, 0.08),
    ("Harbor Logistics Software Inc.", "US", "DigiCert SHA2 Assured ID Code Signing CA",
     "C:\\Program Files (x86)\\Harbor Logistics\\ERP Client\\hlerp.exe", "Harbor ERP Client", 150, 0.2),
    ("Veridian Label Systems Ltd", "GB", "GlobalSign GCC R45 CodeSigning CA 2020",
     "C:\\Program Files\\Veridian\\LabelDesigner\\vlabel.exe", "Veridian Label Designer", 60, 0.04),
    ("Kettering Audio Devices Inc.", "US", "DigiCert SHA2 Assured ID Code Signing CA",
     "C:\\Program Files\\Kettering\\AudioControl\\kadctl.exe", "Kettering Audio Control", 10, 0.15),
]

# (signer CN, PE company, issuer, path (absolute or under C:\Users\<u>\), description, share)
OPEN_SOURCE = [
    ("Igor Pavlov", "Igor Pavlov", "Certum Code Signing 2021 CA", "C:\\Program Files\\7-Zip\\7zFM.exe", "7-Zip File Manager", 0.02),
    ("Open Source Developer, Dominik Reichl", "Dominik Reichl", "Certum Code Signing 2021 CA",
     "C:\\Program Files\\KeePass Password Safe 2\\KeePass.exe", "KeePass", 0.012),
    ("DroidMonkey Apps, LLC", "KeePassXC Team", "SSL.com EV Code Signing Intermediate CA RSA R3",
     "C:\\Program Files\\KeePassXC\\KeePassXC.exe", "KeePassXC", 0.006),
    ("Martin Prikryl", "Martin Prikryl", "Certum Extended Validation Code Signing 2021 CA",
     "AppData\\Local\\Programs\\WinSCP\\WinSCP.exe", "WinSCP", 0.01),
    ("Open Source Developer, Jan Kowalski", "Jan Kowalski", "Certum Code Signing 2021 CA",
     "AppData\\Local\\Programs\\tinyterm\\tinyterm.exe", "tinyterm", 0.0025),
    ("Open Source Developer, Luca Bianchi", "Luca Bianchi", "Certum Code Signing 2021 CA",
     "C:\\Program Files\\shotcut-lite\\shotcut.exe", "Shotcut Lite", 0.004),
    ("Wireshark Foundation", "The Wireshark developer community, https://www.wireshark.org/", "SSL.com Code Signing Intermediate CA RSA R1",
     "C:\\Program Files\\Wireshark\\Wireshark.exe", "Wireshark", 0.01),
]

UNSIGNED = [
    ("C:\\Tools\\Sysinternals\\handle64.exe", 0.02),
    ("AppData\\Local\\Temp\\is-4RT2A.tmp\\setup.tmp", 0.05),
    ("C:\\Program Files\\Legacy Reports\\legrep.exe", 0.05),
    ("C:\\ProgramData\\chocolatey\\bin\\shimgen.exe", 0.03),
    ("Desktop\\portable\\putty.exe", 0.02),
]

OEMS = [("Realtek Semiconductor Corp.", "Rtk"), ("Synaptics Incorporated", "Syn"), ("Dell Inc.", "Dell"),
        ("HP Inc.", "HP"), ("Lenovo", "Lnv"), ("Logitech", "Logi"), ("Conexant Systems", "Cnxt"),
        ("Qualcomm Technologies Inc.", "Qc"), ("Broadcom Corporation", "Bcm"), ("Elan Microelectronics Corp.", "Elan"),
        ("Dolby Laboratories", "Dolby"), ("Waves Audio Ltd.", "Waves"), ("Goodix Technology", "Gdx"),
        ("MediaTek Inc.", "Mtk"), ("Cirrus Logic", "Cir"), ("Fortemedia", "Fm"), ("Alps Alpine", "Alps"),
        ("Intel Corporation", "Ic"), ("Advanced Micro Devices, Inc.", "Amd"), ("Thunderbolt Software", "Tbt")]
DRIVER_WORDS = ["Audio", "Touchpad", "Camera", "Fingerprint", "Bluetooth", "Wlan", "Hotkey", "Power", "Sensor",
                "Display", "Dock", "Thermal", "Card", "Hid", "Usb", "Storage", "Gpu", "Net", "Smartcard", "Pen"]

VENDOR_A = ["Nordlicht", "Tidewater", "Quarry", "Pinecrest", "Blue Harbor", "Aldergrove", "Brightwater", "Cobalt",
            "Driftwood", "Emberline", "Foxglove", "Granite", "Heron", "Ironbark", "Juniper", "Kestrel", "Lakeshore",
            "Marigold", "Northwind", "Oakridge", "Palisade", "Quillon", "Redwood", "Saltmarsh", "Thornfield",
            "Umbra", "Vellum", "Willow", "Xylem", "Yellowpine", "Zephyr", "Amberley", "Birchwood", "Cedarline",
            "Dunmore", "Elmstead", "Fairhaven", "Glenrock", "Hollowell", "Inverness", "Jasper", "Kingsbury",
            "Larchmont", "Millbrook", "Newhaven", "Orchard", "Penrose", "Ravenna", "Stonegate", "Tamarind"]
VENDOR_B = ["Software", "Data Tools", "Systems", "Labs", "Digital", "Technologies", "Solutions", "Analytics",
            "Imaging", "Audio", "Networks", "Instruments", "Medical", "Engineering", "Media", "Logistics",
            "Robotics", "Security", "Interactive", "Informatics"]
VENDOR_SUFFIX = ["GmbH", "Ltd", "LLC", "Inc.", "B.V.", "Oy", "AB", "S.A.", "Pty Ltd", "s.r.o.", "Inc.", "LLC", "Ltd"]
COUNTRY = {"GmbH": "DE", "Ltd": "GB", "B.V.": "NL", "Oy": "FI", "AB": "SE", "S.A.": "ES", "Pty Ltd": "AU",
           "s.r.o.": "CZ"}
PRODUCT_WORDS = ["Studio", "Sync", "Manager", "Viewer", "Agent", "Monitor", "Designer", "Connect", "Client",
                 "Console", "Capture", "Scheduler", "Reporter", "Bridge", "Assistant", "Explorer"]
DEV_PROJECTS = ["contoso-agent", "payroll-core", "kbfilter", "printbridge", "labcal", "invscan", "shellext",
                "telemetry-svc", "usbguard", "netprobe"]

NOTES = (
    "Synthetic fleet. Each host reports executions in one schema (ecs, ocsf, defender, winlogbeat); hosts with "
    "App Control also send Code Integrity events (flat EventData with HostId, or Winlogbeat on Winlogbeat hosts): "
    "a daily 3099 and 3076 audit + 3089 for internal-PKI apps. Defender hosts send DeviceProcessEvents plus one "
    "DeviceFileCertificateInfo per new file (split), one row joined upstream (joined), or the streaming-export "
    "envelope; their alerts carry only the SHA1 when SHA256 is empty, so a checker matches host + (sha256 or sha1 "
    "or executable). Code Integrity 3033 carries no file hash: match on host + executable (\\Device\\ path). "
    "expected_detectors follow docs/detections.md section 3 with state filled from this file alone (replay "
    "--state-dir, learning.min_history 0s). Benign cold start: with an empty store every file, signer and issuer "
    "is new on day 0, so prevalence detectors (rare user path, unusual issuer, subject-mismatch low) may raise "
    "low alerts early on widely deployed software. The expired_but_deployed population has status expired and "
    "a signing time before not_after; with an empty store its hashes are 'first seen' at the window start, after "
    "not_after. dev_test_signed (hosts dev-*) is untrusted by design and is tolerated only by path/host-group "
    "exclusions in config. intel/abusech.csv lists serial and SHA-256 thumbprint (no issuer) of the scenario "
    "certificates marked intel, among decoys. Clock-rollback scenarios expect Sigma rule ids "
    "(rules/content/sigma/clock_rollback.yml) and list every file they ran in 'files'; their Security 4616 "
    "alert names no file and is matched on host + event time. Sysmon hosts ship through Winlogbeat, flat "
    "NXLog/Logstash or HELK-style JSON ('flat') or evtx JSON ('evtx'); flat and evtx records name the host only by "
    "its FQDN (Hostname / Computer), so their scenarios' host and host_name are the FQDN. Scenarios with "
    "evasion: true (evasion_class paths, lookalike, expiry) are evasions today's detectors are expected to miss; "
    "check.py scores them apart. file_populations maps the sha256 and sha1 of every benign file to its population."
)


# ---------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=2000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--events-per-host-day", type=int, default=40,
                    help="executions per host and day (Winlogbeat and Defender hosts may emit 2 events for one)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--schemas", default=",".join(ALL_SCHEMAS),
                    help="comma-separated subset of " + ",".join(ALL_SCHEMAS))
    ap.add_argument("--start", default="2026-11-16T00:00:00Z", help="window start (UTC)")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--dev-fraction", type=float, default=0.03, help="share of hosts that are dev-* machines")
    ap.add_argument("--ci-fraction", type=float, default=0.35, help="share of hosts sending Code Integrity events")
    ap.add_argument("--long-tail-vendors", type=int, default=320)
    ap.add_argument("--intel-decoys", type=int, default=250, help="blocklist rows for certificates not in the fleet")
    ap.add_argument("--no-lab-populations", dest="lab_populations", action="store_false",
                    help="leave out the populations added from real lab telemetry (Store apps, Microsoft's other "
                         "signer names, bundled third-party DLLs, VirtualBox/HP WHQL files, legacy software, driver "
                         "loads)")
    ap.add_argument("--cert-renewals", type=int, default=0,
                    help="hard benign case: long-tail vendors whose certificate was issued days before the window "
                         "(cs.certificate.recently_issued cannot tell them from an attack); default 0")
    args = ap.parse_args(argv)
    if args.hosts < 10 or args.days < 1 or args.events_per_host_day < 1:
        ap.error("need --hosts >= 10, --days >= 1, --events-per-host-day >= 1")
    Sim(args).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
