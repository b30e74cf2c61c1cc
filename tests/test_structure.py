"""The house a newcomer walks into: no import cycle between the packages of `app`, services that leave the
transaction to their caller, and no module that grows past what one concern needs."""

import ast
import re
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"


def unit_of(module: str, root: Path = APP) -> str:
    """The package a module belongs to, for the graph: `app.risk`, `app.api`, each room of `app.services`
    (`app.services.cases`), and each module directly in `app` (`app.db`) on its own."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "services":
        return ".".join(parts[:3])
    if len(parts) >= 2 and (root / parts[1]).is_dir():
        return ".".join(parts[:2])
    return module if len(parts) == 2 else "app"


def module_name(path: Path, root: Path = APP) -> str:
    return ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")


def is_module(name: str, root: Path = APP) -> bool:
    path = root.parent / name.replace(".", "/")
    return path.is_dir() or path.with_suffix(".py").exists()


def imports_of(path: Path, root: Path = APP) -> set[str]:
    """Every `app` module the file imports, at the top or inside a function (a lazy import is still a
    dependency: it only hides the cycle until the function runs)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("app.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module != "app" and node.module.startswith("app."):
                found.add(node.module)
            for alias in node.names:  # `from app.services.cases import escalation` names a module
                candidate = f"{node.module}.{alias.name}"
                if candidate.startswith("app.") and is_module(candidate, root):
                    found.add(candidate)
    return found


def package_graph(root: Path = APP) -> dict[str, dict[str, list[str]]]:
    """unit -> {unit it imports: [the importing module -> imported module, ...]}"""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(root.rglob("*.py")):
        source = module_name(path, root)
        for target in imports_of(path, root):
            a, b = unit_of(source, root), unit_of(target, root)
            if a != b and "app" not in (a, b):
                graph[a][b].append(f"{source} -> {target}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Each strongly connected group of more than one unit (Tarjan), as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def explain(graph: dict[str, dict[str, list[str]]], group: list[str]) -> str:
    lines = [" <-> ".join(group)]
    for a in group:
        for b in group:
            if b in graph.get(a, {}):
                lines += [f"  {edge}" for edge in graph[a][b][:3]]
    return "\n".join(lines)


def test_no_import_cycle_between_the_packages_of_app() -> None:
    graph = package_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(explain(graph, group) for group in found)


def test_the_cycle_check_finds_a_cycle(tmp_path: Path) -> None:
    """The check itself can fail: on a small tree where two packages import each other, one of them
    lazily and by `from package import module`, the same code finds the cycle."""
    fake = {
        "app/__init__.py": "",
        "app/risk/__init__.py": "",
        "app/risk/scorer.py": "from app.services.platform import audit\n",
        "app/services/__init__.py": "",
        "app/services/platform/__init__.py": "",
        "app/services/platform/audit.py": "def f():\n    from app.risk import scorer\n",
        "app/services/cases/__init__.py": "",
        "app/services/cases/cases.py": "import app.risk.scorer\n",
    }
    for name, text in fake.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    graph = package_graph(tmp_path / "app")
    assert cycles(graph) == [["app.risk", "app.services.platform"]]
    assert "app.risk" in graph["app.services.cases"]


def test_the_risk_engine_and_the_worker_stand_only_on_the_platform() -> None:
    """The scorer and training use audit, leases, policy and access (the platform room), never the rooms
    that use them; the domain rooms may use the engine."""
    graph = package_graph()
    for engine in ("app.risk", "app.services.platform"):
        rooms = {u for u in graph.get(engine, {}) if u.startswith("app.services.")}
        assert rooms <= {"app.services.platform"}, (engine, rooms)


DELIVERY_STATE = re.compile(r"\.(claimed_until|claim_token|next_attempt_at)\s*=|\.attempts\s*\+=|skip_locked")


def test_one_delivery_core_claims_retries_and_parks_for_both_outboxes() -> None:
    """Webhooks and the relief platform's callbacks supply only their messages and signing: claiming,
    backing off, parking and replaying are written once, in the platform's delivery core."""
    core = APP / "services" / "platform" / "delivery.py"
    elsewhere = [
        f"{path.relative_to(APP.parent)}:{number}"
        for path in sorted(APP.rglob("*.py"))
        if path != core
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DELIVERY_STATE.search(line)
    ]
    assert elsewhere == [], "delivery state handled outside services/platform/delivery.py"
    for kind in ("services/platform/outbox.py", "services/relief/relief_outbox.py"):
        text = (APP / kind).read_text(encoding="utf-8")
        assert "delivery.deliver_due(" in text, kind
        assert "delivery.replay(" in text, kind


MAX_LINES = 500
# Modules allowed past MAX_LINES for now, each with why. An entry goes once its module is back under.
LONG_MODULES: dict[str, str] = {}


def long_modules(root: Path = APP, limit: int = MAX_LINES) -> dict[str, int]:
    """Every module under `root` longer than `limit` lines: its path (from `root`'s parent) -> lines."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found[path.relative_to(root.parent).as_posix()] = lines
    return found


def test_no_module_of_app_grows_past_the_limit() -> None:
    """A module past MAX_LINES mixes concerns: split it along them (modules named for what they hold),
    or, for a reason, list it in LONG_MODULES."""
    found = long_modules()
    over = {path: lines for path, lines in found.items() if path not in LONG_MODULES}
    assert not over, f"modules over {MAX_LINES} lines (split them along their concerns): {over}"
    back_under = sorted(set(LONG_MODULES) - set(found))
    assert not back_under, f"no longer over {MAX_LINES} lines, remove from LONG_MODULES: {back_under}"


def test_the_size_check_finds_a_long_module(tmp_path: Path) -> None:
    """The check itself can fail: a module one line past the limit, in a package, is found; one at the
    limit is not."""
    root = tmp_path / "app"
    (root / "services").mkdir(parents=True)
    (root / "short.py").write_text("x = 1\n" * MAX_LINES)
    (root / "services" / "long.py").write_text("x = 1\n" * (MAX_LINES + 1))
    assert long_modules(root) == {"app/services/long.py": MAX_LINES + 1}


# what opens a transaction, an engine or reads the process's settings on its own
OWN_RESOURCES = {
    "session_scope",
    "get_engine",
    "get_sessionmaker",
    "make_engine",
    "engine_for",
    "sessions_for",
    "get_settings",
}


OPENERS = {"create_engine", "sessionmaker", "Session"}  # SQLAlchemy's own, called directly


def own_resources(path: Path) -> list[str]:
    """The names of OWN_RESOURCES the file imports from app.db / app.config, or reaches as attributes."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module in ("app.db", "app.config"):
            found += [alias.name for alias in node.names if alias.name in OWN_RESOURCES]
        elif isinstance(node, ast.Attribute) and node.attr in OWN_RESOURCES:
            found.append(node.attr)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in OPENERS:
            found.append(node.func.id)
    return found


def test_services_and_the_engine_never_open_their_own_session_or_engine() -> None:
    """The caller (a route's dependency, a CLI command, a worker job) owns the transaction and passes the
    session, or its session factory, and the settings: one engine per process, settings from one place."""
    found = {
        str(path.relative_to(APP.parent)): names
        for package in (APP / "services", APP / "risk")
        for path in sorted(package.rglob("*.py"))
        if (names := own_resources(path))
    }
    assert found == {}


def test_the_resource_check_finds_a_service_opening_a_session(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from app import db\nfrom app.db import session_scope\n\n"
        "def f():\n    engine = db.get_engine()\n    with session_scope() as s:\n        pass\n"
        "    with Session(engine) as t:\n        pass\n"
    )
    assert sorted(own_resources(sneaky)) == ["Session", "get_engine", "session_scope"]
