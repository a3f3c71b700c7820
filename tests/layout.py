#!/usr/bin/env python3
"""The tree's calls between files, from the built objects' symbol tables.

    layout.py BUILDDIR SRCDIR cycles     print every call cycle between files
                                         of lib/ and of cmd/ (exit 1 if any)
    layout.py BUILDDIR SRCDIR edges      print "caller -> callee: symbols"
    layout.py BUILDDIR SRCDIR unmapped   print every lib/ source that
                                         lib/README does not name (exit 1)
    layout.py BUILDDIR SRCDIR unused     print functions no other file calls
                                         and its own file does not use

A file calls another when its object leaves a symbol undefined that the
other's object defines (nm).  Objects built from one source for several
programs are one file here.  Generated sources (the Lua scripts as C
strings) are left out: they define data, never call.
"""
import os
import re
import subprocess
import sys


def objects(builddir, srcdir):
    """{source path relative to the top: [object paths]} for lib/ and cmd/;
    an object left over from a source since removed is not read."""
    out = {}
    for top in ("lib", "cmd"):
        for dirpath, dirs, files in os.walk(os.path.join(builddir, top)):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            rel = os.path.relpath(dirpath, builddir)
            for f in files:
                if not f.endswith(".o"):
                    continue
                # automake names an object PROGRAM-SOURCE.o (per-target
                # flags): the program's canonical name has no '-'.
                base = f[:-2]
                if "-" in base:
                    base = base.split("-", 1)[1]
                if base.endswith("-lua"):
                    continue
                src = os.path.join(rel, base + ".c")
                if not os.path.exists(os.path.join(srcdir, src)):
                    continue
                out.setdefault(src, []).append(os.path.join(dirpath, f))
    return out


def symbols(paths):
    defined, undefined = set(), set()
    res = subprocess.run(["nm", "-P"] + paths, capture_output=True,
                         text=True, check=True)
    for line in res.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or line.endswith(":"):
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRCVW" and kind.isupper():
            defined.add(name)
    return defined, undefined


def graph(builddir, srcdir):
    objs = objects(builddir, srcdir)
    info = {src: symbols(paths) for src, paths in objs.items()}
    owner = {}
    for src, (defs, _) in info.items():
        for name in defs:
            owner.setdefault((src.split("/")[0], name), src)
    edges = {}
    for src, (defs, undefs) in info.items():
        side = src.split("/")[0]
        for name in undefs - defs:
            callee = owner.get((side, name))
            if callee is None and side == "cmd":
                callee = owner.get(("lib", name))
            if callee and callee != src:
                edges.setdefault(src, {}).setdefault(callee, set()).add(name)
    return info, edges


def cycles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return comps


def mapped(srcdir):
    with open(os.path.join(srcdir, "lib", "README")) as f:
        text = f.read()
    return set(re.findall(r"[\w./-]+\.(?:c|h|lua)\b", text))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    builddir, srcdir, what = sys.argv[1:]
    if what != "unmapped":
        info, edges = graph(builddir, srcdir)
        if not info:
            sys.exit("layout.py: no objects under %s: build first" % builddir)
    if what == "edges":
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print("%s -> %s: %s" % (a, b, " ".join(sorted(edges[a][b]))))
    elif what == "cycles":
        comps = cycles(edges)
        for comp in comps:
            print("cycle: " + " ".join(comp))
            for a in comp:
                for b in sorted(edges.get(a, {})):
                    if b in comp:
                        print("  %s -> %s: %s" % (
                            a, b, " ".join(sorted(edges[a][b]))))
        sys.exit(1 if comps else 0)
    elif what == "unmapped":
        names = mapped(srcdir)
        missing = []
        for dirpath, dirs, files in os.walk(os.path.join(srcdir, "lib")):
            for f in sorted(files):
                if not re.search(r"\.(c|h|lua)$", f) or f.endswith("-lua.c"):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f),
                                      os.path.join(srcdir, "lib"))
                if rel not in names and f not in names:
                    missing.append("lib/" + rel)
        for m in missing:
            print("not in lib/README: " + m)
        sys.exit(1 if missing else 0)
    elif what == "unused":
        used = set()
        for src, (_, undefs) in info.items():
            used |= undefs
        for src, (defs, _) in sorted(info.items()):
            for name in sorted(defs):
                if name not in used and not name.startswith("flexiai_") \
                        and name != "main" and src.startswith("lib/"):
                    print("%s: %s" % (src, name))
    else:
        sys.exit(__doc__)


main()
