#!/usr/bin/env python3
"""Count import cycles (strongly connected components) among modelvault_jlab modules.

Counts every import, at any depth (lazy in-function imports and `if TYPE_CHECKING:` ones
too, as grimp/import-linter do; --skip-type-checking leaves the latter out); a package's import of its own submodule counts as an edge.
"""
import ast, sys
from pathlib import Path

root = Path("modelvault_jlab")
pkg = root.name
mods = {}
for p in root.rglob("*.py"):
    rel = p.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    ispkg = parts[-1] == "__init__"
    if ispkg:
        parts = parts[:-1]
    mods[".".join(parts)] = (p, ispkg)

def resolve(name):
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None

edges = {m: set() for m in mods}
class V(ast.NodeVisitor):
    def __init__(s, m, ispkg): s.m, s.ispkg = m, ispkg
    def visit_If(s, node):
        t = node.test
        if "--skip-type-checking" in sys.argv and (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"):
            for n in node.orelse: s.visit(n)
            return
        s.generic_visit(node)
    def add(s, name):
        r = resolve(name)
        if r and r != s.m: edges[s.m].add(r)
    def visit_Import(s, node):
        for a in node.names:
            if a.name.startswith(pkg): s.add(a.name)
    def visit_ImportFrom(s, node):
        if node.level:
            base = s.m.split(".") if s.ispkg else s.m.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        if not mod.startswith(pkg): return
        for a in node.names:
            full = mod + "." + a.name
            s.add(full if full in mods else mod)
for m, (p, ispkg) in mods.items():
    V(m, ispkg).visit(ast.parse(p.read_text()))
# Tarjan
idx, low, st, on, sccs, c = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
for v in sorted(mods):
    if v not in idx: sc(v)
# ignore cycles that only exist through a package __init__ re-export of its children? report all
for comp in sccs: print("cycle:", " <-> ".join(comp))
print(len(sccs), "import cycles")
sys.exit(1 if sccs else 0)
