"""The attack-path reporters: SARIF (a code flow per path), the ATT&CK Navigator layer and the
Markdown summary with its Mermaid diagram, over synthetic paths built from the data model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
from threat_paths import (
    NODE,
    WEB,
    all_paths,
    escape_then_secret,
    exposed_to_node,
    hostile_path,
    moved,
)

from kscan.app import ScanOptions, run
from kscan.model.taxonomy import TACTICS
from kscan.report import threats_markdown, threats_navigator, threats_sarif
from kscan.report.attack_paths import PathReportOptions
from kscan.threats.paths import AttackPath, Evidence, Node, NodeKind, Step

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"
SARIF_VALIDATE = REPO.parent / "shared" / "tools" / "sarif-validate"
EXAMPLE = REPO / "examples" / "insecure-deployment.yaml"


def sarif_log(paths: list[AttackPath], base: Path, **options: Any) -> dict[str, Any]:
    text = "".join(
        threats_sarif.render_paths(paths, PathReportOptions(base_dir=str(base), **options))
    )
    log: dict[str, Any] = json.loads(text)
    return log


def layer_of(paths: list[AttackPath], **options: Any) -> dict[str, Any]:
    text = "".join(threats_navigator.render_paths(paths, PathReportOptions(**options)))
    layer: dict[str, Any] = json.loads(text)
    return layer


def markdown_of(paths: list[AttackPath], base: Path, **options: Any) -> str:
    return "".join(
        threats_markdown.render_paths(paths, PathReportOptions(base_dir=str(base), **options))
    )


def mermaid_block(markdown: str) -> str:
    blocks = re.findall(r"^```mermaid\n(.*?)^```$", markdown, re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, markdown
    return str(blocks[0])


# --- SARIF -----------------------------------------------------------------------------------


def test_sarif_is_valid_against_the_schema(tmp_path: Path) -> None:
    log = sarif_log([*all_paths(str(tmp_path)), hostile_path(str(tmp_path))], tmp_path)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(log)
    assert len(log["runs"][0]["results"]) == 4


def test_sarif_result_walks_the_path_hop_by_hop(tmp_path: Path) -> None:
    path = exposed_to_node(str(tmp_path))
    (result,) = sarif_log([path], tmp_path)["runs"][0]["results"]
    assert result["ruleId"] == "KSP002"
    assert result["level"] == "error"
    assert result["message"]["text"].startswith(
        "Ingress 'shop/web' (the internet) reaches a node in 4 steps: "
    )
    (flow,) = result["codeFlows"]
    (thread,) = flow["threadFlows"]
    hops = thread["locations"]
    assert [hop["executionOrder"] for hop in hops] == [1, 2, 3, 4]
    for hop, step in zip(hops, path.steps, strict=True):
        location = hop["location"]
        assert step.action in location["message"]["text"]
        assert step.technique in location["message"]["text"]
        physical = location["physicalLocation"]
        first = step.evidence[0]
        assert physical["artifactLocation"] == {
            "uri": Path(first.path).relative_to(tmp_path).as_posix(),
            "uriBaseId": "%SRCROOT%",
        }
        assert physical["region"] == {"startLine": first.line, "startColumn": first.column}
    # the primary location is the first hop's evidence; the others are related locations
    assert result["locations"][0]["physicalLocation"] == hops[0]["location"]["physicalLocation"]
    related = [
        (r["physicalLocation"]["artifactLocation"]["uri"], r["physicalLocation"]["region"])
        for r in result["relatedLocations"]
    ]
    assert related == [
        ("deploy/service.yaml", {"startLine": 8, "startColumn": 5}),
        ("deploy/rbac.yaml", {"startLine": 9, "startColumn": 3}),
    ]
    assert [r["id"] for r in result["relatedLocations"]] == [1, 2]
    tags = result["properties"]["tags"]
    assert {"mitre-attack/T1190", "mitre-attack/T1528", "mitre-attack/T1611"} <= set(tags)
    assert {"mitre-attack/TA0001", "mitre-attack/TA0004"} <= set(tags)


def test_sarif_rule_and_level_follow_the_target(tmp_path: Path) -> None:
    log = sarif_log(all_paths(str(tmp_path)), tmp_path)
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert [(r["ruleId"], r["level"]) for r in run_["results"]] == [
        ("KSP001", "error"),  # the cluster, impact 4
        ("KSP002", "error"),  # a node, impact 3
        ("KSP004", "warning"),  # a secret, impact 2
    ]
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    for rule in rules:
        assert rule["help"]["text"] and rule["shortDescription"]["text"]
        assert float(rule["properties"]["security-severity"]) > 0
    assert run_["tool"]["driver"]["name"] == "kscan-threats"


def test_sarif_has_one_rule_per_node_kind() -> None:
    """Every kind a path may end at has its own rule; ids and names are unique."""
    rules = threats_sarif.path_rules()
    assert len({rule.id for rule in rules}) == len({rule.name for rule in rules}) == len(rules)
    ends = {
        kind: threats_sarif.rule_for(
            AttackPath((Step(WEB, Node(kind, kind, kind), "x", "TA0004", "T1611", ()),), 1)
        ).id
        for kind in get_args(NodeKind)
    }
    assert sorted(ends.values()) == [rule.id for rule in rules]


def test_sarif_fingerprints_survive_line_moves(tmp_path: Path) -> None:
    base = str(tmp_path)
    paths = all_paths(base)
    before = [r["partialFingerprints"] for r in sarif_log(paths, tmp_path)["runs"][0]["results"]]
    after = [
        r["partialFingerprints"]
        for r in sarif_log([moved(p, 7) for p in paths], tmp_path)["runs"][0]["results"]
    ]
    assert before == after
    assert len({f["kscan-path/v1"] for f in before}) == len(paths)
    # another field is another path
    path = paths[0]
    first = path.steps[0]
    changed_evidence = (Evidence(first.evidence[0].path, 20, 7, "/spec/x"),)
    changed = AttackPath(
        (Step(first.source, first.target, first.action, first.tactic, first.technique,
              changed_evidence), *path.steps[1:]),
        path.impact,
    )  # fmt: skip
    (other,) = sarif_log([changed], tmp_path)["runs"][0]["results"]
    assert other["partialFingerprints"] != before[0]


def test_sarif_step_without_evidence_is_shown_at_the_step_before(tmp_path: Path) -> None:
    """A location without a physical location makes GitHub reject the whole file."""
    path = escape_then_secret(str(tmp_path))
    (result,) = sarif_log([path], tmp_path)["runs"][0]["results"]
    hops = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert all("physicalLocation" in hop["location"] for hop in hops)
    assert hops[1]["location"]["physicalLocation"] == hops[0]["location"]["physicalLocation"]
    assert "enters a pod" in hops[1]["location"]["message"]["text"]


def test_sarif_leaves_out_paths_with_no_evidence_and_caps_results(tmp_path: Path) -> None:
    bare = AttackPath((Step(WEB, NODE, "escapes", "TA0004", "T1611", ()),), 3)
    paths = [bare, *all_paths(str(tmp_path))]
    assert [r["ruleId"] for r in sarif_log(paths, tmp_path)["runs"][0]["results"]] == [
        "KSP001",
        "KSP002",
        "KSP004",
    ]
    capped = sarif_log(paths, tmp_path, sarif_max_results=2)["runs"][0]["results"]
    assert [r["ruleId"] for r in capped] == ["KSP001", "KSP002"]
    assert sarif_log([], tmp_path)["runs"][0]["results"] == []


def test_sarif_category_names_the_run(tmp_path: Path) -> None:
    log = sarif_log(all_paths(str(tmp_path)), tmp_path, sarif_category="threats")
    assert log["runs"][0]["automationDetails"] == {"id": "threats/"}


@pytest.mark.slow  # installs the SARIF multitool from npm on first use
def test_sarif_passes_the_strict_validator(tmp_path: Path) -> None:
    if not SARIF_VALIDATE.is_file():
        pytest.skip(f"{SARIF_VALIDATE} is absent (../shared is not checked out here)")
    if shutil.which("npm") is None:
        pytest.skip("npm is needed to install the SARIF multitool")
    log = sarif_log([*all_paths(str(tmp_path)), hostile_path(str(tmp_path))], tmp_path)
    good = tmp_path / "paths.sarif"
    good.write_text(json.dumps(log))
    done = subprocess.run(
        [str(SARIF_VALIDATE), "--strict", str(good)], capture_output=True, text=True
    )
    if done.returncode == 2:
        pytest.skip(f"sarif-validate could not run: {done.stderr.strip()[-300:]}")
    assert done.returncode == 0, done.stdout + done.stderr
    # the validator can fail: a result without a location is what GitHub rejects
    del log["runs"][0]["results"][0]["locations"]
    bad = tmp_path / "bad.sarif"
    bad.write_text(json.dumps(log))
    done = subprocess.run([str(SARIF_VALIDATE), "--strict", str(bad)], capture_output=True)
    assert done.returncode == 1


# --- ATT&CK Navigator layer ------------------------------------------------------------------

_LAYOUTS = {"side", "flat", "mini"}
_AGGREGATES = {"average", "min", "max", "sum"}
_EXPANDED = {"none", "all", "annotated"}
_TECHNIQUE_ID = re.compile(r"T\d{4}(\.\d{3})?")
_ENTERPRISE_TACTICS = {
    "reconnaissance", "resource-development", "initial-access", "execution", "persistence",
    "privilege-escalation", "defense-evasion", "credential-access", "discovery",
    "lateral-movement", "collection", "command-and-control", "exfiltration", "impact",
}  # fmt: skip


def layer_problems(layer: Any) -> list[str]:
    """What a layer breaks of the Navigator's layer format 4.5 (mitre-attack/attack-navigator,
    layers/spec/v4.5/layerformat.md): the required properties of the layer (name, domain), its
    Version object (navigator at least 4.9.0, layer "4.5"), Technique objects (techniqueID
    "T####" or "T####.###"), the Gradient (two colors at least, maxValue > minValue),
    LegendItem, Metadata and Link objects, and the types and enumerations it gives."""
    problems: list[str] = []

    def need(ok: bool, what: str) -> None:
        if not ok:
            problems.append(what)

    if not isinstance(layer, dict):
        return ["a layer is a JSON object"]
    need(isinstance(layer.get("name"), str), "name: a string, required")
    need(
        layer.get("domain") in ("enterprise-attack", "mobile-attack", "ics-attack"),
        "domain: required, enterprise-attack, mobile-attack or ics-attack",
    )
    versions = layer.get("versions", {})
    need(isinstance(versions, dict), "versions: an object")
    if isinstance(versions, dict):
        need(versions.get("layer") == "4.5", 'versions.layer: required, "4.5"')
        navigator = versions.get("navigator")
        need(
            isinstance(navigator, str)
            and re.fullmatch(r"\d+\.\d+\.\d+", navigator) is not None
            and tuple(int(n) for n in navigator.split(".")) >= (4, 9, 0),
            "versions.navigator: required, at least 4.9.0",
        )
        need(isinstance(versions.get("attack", ""), str), "versions.attack: a string")
    for key in ("description", "customDataURL", "tacticRowBackground"):
        need(isinstance(layer.get(key, ""), str), f"{key}: a string")
    for key in (
        "hideDisabled",
        "showTacticRowBackground",
        "selectTechniquesAcrossTactics",
        "selectSubtechniquesWithParent",
        "selectVisibleTechniques",
    ):
        need(isinstance(layer.get(key, False), bool), f"{key}: a boolean")
    need(layer.get("sorting", 0) in (0, 1, 2, 3), "sorting: 0, 1, 2 or 3")
    filters = layer.get("filters", {})
    platforms = filters.get("platforms", []) if isinstance(filters, dict) else None
    need(
        isinstance(platforms, list) and all(isinstance(p, str) for p in platforms),
        "filters.platforms: an array of strings",
    )
    layout = layer.get("layout", {})
    if isinstance(layout, dict):
        need(layout.get("layout", "side") in _LAYOUTS, "layout.layout: side, flat or mini")
        need(layout.get("aggregateFunction", "average") in _AGGREGATES, "layout.aggregateFunction")
        need(
            layout.get("expandedSubtechniques", "none") in _EXPANDED, "layout.expandedSubtechniques"
        )
        for key in ("showID", "showName", "showAggregateScores", "countUnscored"):
            need(isinstance(layout.get(key, False), bool), f"layout.{key}: a boolean")
    else:
        problems.append("layout: an object")
    techniques = layer.get("techniques", [])
    need(isinstance(techniques, list), "techniques: an array")
    for number, technique in enumerate(techniques if isinstance(techniques, list) else []):
        where = f"techniques[{number}]"
        if not isinstance(technique, dict):
            problems.append(f"{where}: an object")
            continue
        need(
            isinstance(technique.get("techniqueID"), str)
            and _TECHNIQUE_ID.fullmatch(technique["techniqueID"]) is not None,
            f"{where}.techniqueID: required, T#### or T####.###",
        )
        if "tactic" in technique:
            need(technique["tactic"] in _ENTERPRISE_TACTICS, f"{where}.tactic: a tactic name")
        if "score" in technique:
            need(
                isinstance(technique["score"], int | float)
                and not isinstance(technique["score"], bool),
                f"{where}.score: a number",
            )
        for key in ("comment", "color"):
            need(isinstance(technique.get(key, ""), str), f"{where}.{key}: a string")
        for key in ("enabled", "showSubtechniques"):
            need(isinstance(technique.get(key, False), bool), f"{where}.{key}: a boolean")
        problems += _named_items(
            technique.get("metadata", []), f"{where}.metadata", "name", "value"
        )
        problems += _named_items(technique.get("links", []), f"{where}.links", "label", "url")
    if "gradient" in layer:
        gradient = layer["gradient"]
        need(
            isinstance(gradient.get("colors"), list) and len(gradient["colors"]) >= 2,
            "gradient.colors: required, two colors at least",
        )
        low, high = gradient.get("minValue"), gradient.get("maxValue")
        need(
            isinstance(low, int | float) and isinstance(high, int | float) and high > low,
            "gradient: minValue and maxValue required, maxValue > minValue",
        )
    for number, item in enumerate(layer.get("legendItems", [])):
        need(
            isinstance(item.get("label"), str) and isinstance(item.get("color"), str),
            f"legendItems[{number}]: label and color required",
        )
    problems += _named_items(layer.get("metadata", []), "metadata", "name", "value")
    problems += _named_items(layer.get("links", []), "links", "label", "url")
    return problems


def _named_items(items: Any, where: str, first: str, second: str) -> list[str]:
    """Metadata (name, value) or Link (label, url) objects, Divider objects among them."""
    if not isinstance(items, list):
        return [f"{where}: an array"]
    problems = []
    for number, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("divider"), bool):
            continue
        if not (
            isinstance(item, dict) and all(isinstance(item.get(k), str) for k in (first, second))
        ):
            problems.append(f"{where}[{number}]: {first} and {second} required")
        elif second == "url" and not re.match(r"[a-z][a-z0-9+.-]*://", item["url"]):
            problems.append(f"{where}[{number}].url: prefixed with a protocol")
    return problems


def test_layer_has_the_required_fields_of_format_4_5() -> None:
    layer = layer_of([*all_paths("/repo"), hostile_path("/repo")])
    assert layer_problems(layer) == []
    assert layer["versions"]["layer"] == "4.5"
    assert layer["domain"] == "enterprise-attack"
    assert layer["filters"] == {"platforms": ["Containers"]}
    assert layer_problems(layer_of([])) == []


def test_layer_check_catches_what_the_spec_requires() -> None:
    """The required-field check is not vacuous: each broken layer has the named problem."""
    good = layer_of(all_paths("/repo"))
    assert layer_problems({k: v for k, v in good.items() if k != "name"}) == [
        "name: a string, required"
    ]
    assert layer_problems({**good, "domain": "mitre-enterprise"})  # the v3 name
    assert layer_problems({**good, "versions": {"navigator": "4.8.3", "layer": "4.5"}})
    assert layer_problems({**good, "versions": {"navigator": "5.2.0", "layer": "4.4"}})
    assert layer_problems({**good, "techniques": [{"score": 1}]})
    assert layer_problems({**good, "techniques": [{"techniqueID": "T1611", "tactic": "TA0004"}]})
    assert layer_problems({**good, "gradient": {"colors": ["#fff"], "minValue": 0, "maxValue": 1}})
    assert layer_problems({**good, "gradient": {**good["gradient"], "maxValue": 0}})


def test_layer_scores_count_paths_once_and_findings() -> None:
    """T1078 is used twice by the path to the cluster and once by the path to a node: two paths.
    Findings of the example add to their techniques' scores and are named in the comments."""
    paths = all_paths("/repo")
    scores = {(t["techniqueID"], t.get("tactic")): t for t in layer_of(paths)["techniques"]}
    assert scores[("T1078", "privilege-escalation")]["score"] == 2
    assert scores[("T1528", "credential-access")]["score"] == 2
    assert scores[("T1611", "privilege-escalation")]["score"] == 2
    assert scores[("T1190", "initial-access")]["score"] == 1
    comment = scores[("T1528", "credential-access")]["comment"]
    assert comment.startswith("2 attack paths: ")
    assert "Container 'api' of Deployment 'shop/api' → ServiceAccount 'shop/api'" in comment
    assert "Container 'web' of Deployment 'shop/web' → ServiceAccount 'shop/web'" in comment
    findings = tuple(run(ScanOptions((str(EXAMPLE),), isolated=True)).result.findings)
    escapes = [f for f in findings if f.counts and f.rule.technique == "T1611"]
    assert escapes
    with_findings = {
        (t["techniqueID"], t.get("tactic")): t
        for t in layer_of(paths, findings=findings)["techniques"]
    }
    escape = with_findings[("T1611", "privilege-escalation")]
    assert escape["score"] == 2 + len(escapes)
    assert escape["comment"].startswith(f"2 attack paths and {len(escapes)} findings: ")
    assert f"({escapes[0].rule.id} {escapes[0].rule.name})" in escape["comment"]
    top = max(t["score"] for t in with_findings.values())
    assert layer_of(paths, findings=findings)["gradient"]["maxValue"] == top


def test_layer_places_a_technique_under_its_own_tactics() -> None:
    """The step from the node into a pod says lateral movement, but ATT&CK lists T1609 under
    Execution only: the Navigator would show nothing under lateral-movement."""
    techniques = layer_of([escape_then_secret("/repo")])["techniques"]
    (entry,) = [t for t in techniques if t["techniqueID"] == "T1609"]
    assert entry["tactic"] == "execution"
    assert threats_navigator.placed("T1078", "TA0008") == ""  # several tactics: all of them
    assert threats_navigator.placed("T1078", "TA0004") == "TA0004"
    assert all(threats_navigator.tactic_shortname(t) in _ENTERPRISE_TACTICS for t in TACTICS)


# --- Markdown and Mermaid --------------------------------------------------------------------

_NODE_LINE = re.compile(r'  (n\d+)\["([A-Za-z0-9 .,:/_\'()=@+#;-]*)"\]')
_EDGE_LINE = re.compile(r'  (n\d+) -->\|"([A-Za-z0-9 .,:/_\'()=@+#;-]*)"\| (n\d+)')


def diagram_parts(diagram: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    lines = diagram.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for line in lines[1:]:
        if node := _NODE_LINE.fullmatch(line):
            assert node[1] not in nodes
            nodes[node[1]] = node[2]
        elif edge := _EDGE_LINE.fullmatch(line):
            edges.append((edge[1], edge[3], edge[2]))
        else:
            assert re.fullmatch(r"  classDef \w+ [a-z:#0-9,-]+|  class n\d+(,n\d+)* \w+", line)
    assert all(s in nodes and t in nodes for s, t, _ in edges)
    return nodes, edges


def test_markdown_table_and_diagram_of_the_top_paths(tmp_path: Path) -> None:
    paths = all_paths(str(tmp_path))
    text = markdown_of(paths, tmp_path, top=2)
    assert text.startswith("## kscan attack paths\n\n3 attack paths, the first 2 shown. ")
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    assert rows == [
        "| 1 | 100 | Container 'api' of Deployment 'shop/api' | the cluster (cluster-admin) "
        "| cluster-admin | 3 | T1528, T1078 |",
        "| 2 | 80 | Ingress 'shop/web' (the internet) | a node | node | 4 "
        "| T1190, T1528, T1078, T1611 |",
    ]
    nodes, edges = diagram_parts(mermaid_block(text))
    # the two paths share no node: 4 + 5 boxes, 3 + 4 arrows, in path order
    assert list(nodes) == [f"n{i}" for i in range(1, 10)]
    assert nodes["n1"] == "Container 'api' of Deployment 'shop/api'"
    assert nodes["n9"] == "a node"
    assert len(edges) == 7
    assert edges[3] == (
        "n5",
        "n6",
        "sends requests to the exposed container (T1190 Exploit Public-Facing Applicat...",
    )  # labels are cut at 80 characters
    assert "deploy/web.yaml:18:7 (/spec/template/spec/serviceAccountName)" in text
    assert "Secret 'shop/db-credentials'" not in text  # the third path is not shown


def test_markdown_diagram_shares_nodes_between_paths(tmp_path: Path) -> None:
    paths = [exposed_to_node(str(tmp_path)), escape_then_secret(str(tmp_path))]
    nodes, edges = diagram_parts(mermaid_block(markdown_of(paths, tmp_path)))
    assert list(nodes.values()).count("a node") == 1
    assert list(nodes.values()).count("Container 'web' of Deployment 'shop/web'") == 1
    assert len(edges) == 4 + 3


def test_markdown_escapes_hostile_names(tmp_path: Path) -> None:
    """Object names are written as entity codes in the diagram and as escaped text in the
    table: no name ends a label, adds a Mermaid statement or a link, or injects HTML."""
    text = markdown_of([hostile_path(str(tmp_path))], tmp_path)
    nodes, edges = diagram_parts(mermaid_block(text))
    (label, _) = nodes.values()
    assert label == (
        "Container 'a#34;#93;#10;#37;#37;--#62;b#124;x#124;#96;c#96;#60;img src=x#62;"
        "#35;quot#59;#59; #91;l#93;(http://e) #123;y#125;'"
    )
    assert "#35;quot#59;" in label  # Mermaid's own entity syntax is escaped too
    assert edges[0][2].startswith("mounts #34;/#34; #124;read-write#124; #60;b#62;")
    assert "javascript" not in mermaid_block(text)  # node keys never reach the diagram
    outside = text.replace(mermaid_block(text), "")
    assert "<img" not in outside and "<b>" not in outside
    assert "\\[l\\](http://e)" in outside
    assert "\\`x\\`.yaml" in outside
    assert "\n%%" not in text


def test_markdown_without_paths(tmp_path: Path) -> None:
    assert markdown_of([], tmp_path) == "## kscan attack paths\n\nNo attack path found.\n"


def test_mermaid_labels_are_escaped() -> None:
    assert threats_markdown.mermaid_text('a"b') == "a#34;b"
    assert threats_markdown.mermaid_text("ünï") == "#252;n#239;"
    assert threats_markdown.mermaid_text("x" * 100) == "x" * 77 + "..."


MERMAID_PARSE = """
import { JSDOM } from "jsdom";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import(process.argv[2]);
mermaid.initialize({ startOnLoad: false });
let failures = 0;
for (const text of JSON.parse(process.argv[3])) {
  try {
    await mermaid.parse(text);  // throws on a syntax error
    console.log("ok");
  } catch (error) {
    failures += 1;
    console.log("error: " + String(error.message || error).split("\\n")[0]);
  }
}
process.exit(failures ? 1 : 0);
"""


@pytest.fixture(scope="module")
def mermaid_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mermaid 11 and 10 (GitHub renders with a recent one) and jsdom (mermaid.parse needs a
    DOM) from npm, in a temporary directory."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("node and npm are needed to run the Mermaid parser")
    directory = tmp_path_factory.mktemp("mermaid")
    try:
        done = subprocess.run(
            [
                *("npm", "install", "--no-audit", "--no-fund", "--silent"),
                *("mermaid@11", "mermaid10@npm:mermaid@10", "jsdom"),
            ],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("npm install of mermaid timed out (no registry?)")
    if done.returncode != 0:
        pytest.skip(f"npm could not install mermaid: {done.stderr.strip()[-300:]}")
    (directory / "parse.mjs").write_text(MERMAID_PARSE)
    return directory


def mermaid_parse(
    directory: Path, module: str, diagrams: list[str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "parse.mjs", module, json.dumps(diagrams)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow  # installs mermaid from npm
@pytest.mark.parametrize("module", ["mermaid", "mermaid10"])
def test_mermaid_parser_accepts_the_diagrams(
    mermaid_dir: Path, module: str, tmp_path: Path
) -> None:
    base = str(tmp_path)
    diagrams = [
        mermaid_block(markdown_of(all_paths(base), tmp_path)),
        mermaid_block(markdown_of([hostile_path(base), exposed_to_node(base)], tmp_path)),
    ]
    done = mermaid_parse(mermaid_dir, module, diagrams)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["ok", "ok"]
    # the parser can fail: the hostile label written raw breaks the diagram
    raw = 'flowchart LR\n  n1["Container \'a"]-->b|x|"] -->|"x"| n2["a node"]\n'
    done = mermaid_parse(mermaid_dir, module, [raw])
    assert done.returncode == 1 and done.stdout.startswith("error: "), done.stdout
