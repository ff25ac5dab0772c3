"""Threat vocabularies: severity, STRIDE, and the MITRE ATT&CK Containers matrix (v18.1)."""

from __future__ import annotations

from enum import Enum


class Severity(str, Enum):
    """Finding severity, ordered from most to least severe by ``rank``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}

STRIDE = {
    "spoofing": "Spoofing",
    "tampering": "Tampering",
    "repudiation": "Repudiation",
    "information-disclosure": "Information Disclosure",
    "denial-of-service": "Denial of Service",
    "elevation-of-privilege": "Elevation of Privilege",
}

TACTICS = {
    "TA0001": "Initial Access",
    "TA0002": "Execution",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
    "TA0040": "Impact",
}

_EXEC, _PERS, _PRIV, _EVAS = "TA0002", "TA0003", "TA0004", "TA0005"
_CRED, _DISC, _LAT, _INIT, _IMP = "TA0006", "TA0007", "TA0008", "TA0001", "TA0040"
_ACCOUNTS = (_EVAS, _PERS, _PRIV, _INIT)

TECHNIQUES: dict[str, tuple[str, tuple[str, ...]]] = {
    "T1036": ("Masquerading", (_EVAS,)),
    "T1036.005": ("Match Legitimate Resource Name or Location", (_EVAS,)),
    "T1036.010": ("Masquerade Account Name", (_EVAS,)),
    "T1046": ("Network Service Discovery", (_DISC,)),
    "T1053": ("Scheduled Task/Job", (_EXEC, _PERS, _PRIV)),
    "T1053.007": ("Container Orchestration Job", (_EXEC, _PERS, _PRIV)),
    "T1059.013": ("Container CLI/API", (_EXEC,)),
    "T1068": ("Exploitation for Privilege Escalation", (_PRIV,)),
    "T1069": ("Permission Groups Discovery", (_DISC,)),
    "T1070": ("Indicator Removal", (_EVAS,)),
    "T1078": ("Valid Accounts", _ACCOUNTS),
    "T1078.001": ("Default Accounts", _ACCOUNTS),
    "T1078.003": ("Local Accounts", _ACCOUNTS),
    "T1098": ("Account Manipulation", (_PERS, _PRIV)),
    "T1098.006": ("Additional Container Cluster Roles", (_PERS, _PRIV)),
    "T1110": ("Brute Force", (_CRED,)),
    "T1110.001": ("Password Guessing", (_CRED,)),
    "T1110.003": ("Password Spraying", (_CRED,)),
    "T1110.004": ("Credential Stuffing", (_CRED,)),
    "T1133": ("External Remote Services", (_PERS, _INIT)),
    "T1136": ("Create Account", (_PERS,)),
    "T1136.001": ("Local Account", (_PERS,)),
    "T1190": ("Exploit Public-Facing Application", (_INIT,)),
    "T1204": ("User Execution", (_EXEC,)),
    "T1204.003": ("Malicious Image", (_EXEC,)),
    "T1485": ("Data Destruction", (_IMP,)),
    "T1490": ("Inhibit System Recovery", (_IMP,)),
    "T1496": ("Resource Hijacking", (_IMP,)),
    "T1496.001": ("Compute Hijacking", (_IMP,)),
    "T1496.002": ("Bandwidth Hijacking", (_IMP,)),
    "T1498": ("Network Denial of Service", (_IMP,)),
    "T1499": ("Endpoint Denial of Service", (_IMP,)),
    "T1525": ("Implant Internal Image", (_PERS,)),
    "T1528": ("Steal Application Access Token", (_CRED,)),
    "T1543": ("Create or Modify System Process", (_PERS, _PRIV)),
    "T1543.005": ("Container Service", (_PERS, _PRIV)),
    "T1550": ("Use Alternate Authentication Material", (_EVAS, _LAT)),
    "T1550.001": ("Application Access Token", (_EVAS, _LAT)),
    "T1552": ("Unsecured Credentials", (_CRED,)),
    "T1552.001": ("Credentials In Files", (_CRED,)),
    "T1552.007": ("Container API", (_CRED,)),
    "T1562": ("Impair Defenses", (_EVAS,)),
    "T1562.001": ("Disable or Modify Tools", (_EVAS,)),
    "T1609": ("Container Administration Command", (_EXEC,)),
    "T1610": ("Deploy Container", (_EVAS, _EXEC)),
    "T1611": ("Escape to Host", (_PRIV,)),
    "T1612": ("Build Image on Host", (_EVAS,)),
    "T1613": ("Container and Resource Discovery", (_DISC,)),
    "T1649": ("Steal or Forge Authentication Certificates", (_CRED,)),
}


def technique_url(technique: str) -> str:
    """The ATT&CK page of a technique or sub-technique."""
    return "https://attack.mitre.org/techniques/" + technique.replace(".", "/") + "/"


def tactic_url(tactic: str) -> str:
    """The ATT&CK page of a tactic."""
    return f"https://attack.mitre.org/tactics/{tactic}/"
