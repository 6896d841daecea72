"""Resolves the Pre-Depends/Depends closure of Debian packages from a Packages index.

Usage: deb-closure.py PACKAGES.xz NAME=VERSION|NAME...
Prints one line per package: name version filename sha256 size. A NAME=VERSION root must be
the index's version (the build pins what it tested); dependencies take the index's version.
Alternatives take the first that exists; virtual packages resolve through Provides.
"""

import lzma
import re
import sys


def clauses(field):
    out = []
    for clause in field.split(","):
        alts = []
        for alt in clause.split("|"):
            name = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip().split(":")[0]
            if name:
                alts.append(name)
        if alts:
            out.append(alts)
    return out


def parse(path):
    packages, provides = {}, {}
    with lzma.open(path, "rt", encoding="utf-8") as f:
        for stanza in f.read().split("\n\n"):
            fields, key = {}, None
            for line in stanza.split("\n"):
                if not line:
                    continue
                if line[0] in " \t":
                    fields[key] += "\n" + line
                    continue
                key, _, value = line.partition(":")
                fields[key] = value.strip()
            name = fields.get("Package")
            if not name:
                continue
            packages[name] = fields
            for alts in clauses(fields.get("Provides", "")):
                for alt in alts:
                    provides.setdefault(alt, []).append(name)
    return packages, provides


def main():
    packages, provides = parse(sys.argv[1])
    todo = []
    for root in sys.argv[2:]:
        name, _, version = root.partition("=")
        if name not in packages:
            sys.exit(f"{name} is not in the index")
        if version and packages[name]["Version"] != version:
            sys.exit(f"{name}: the index has {packages[name]['Version']}, pinned {version}")
        todo.append(name)
    seen = []
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        fields = packages[name]
        for alts in clauses(fields.get("Pre-Depends", "")) + clauses(fields.get("Depends", "")):
            if any(a in seen or any(p in seen for p in provides.get(a, [])) for a in alts):
                continue
            pick = next(
                (a if a in packages else provides[a][0] for a in alts if a in packages or provides.get(a)),
                None,
            )
            if pick is None:
                sys.exit(f"cannot resolve {' | '.join(alts)} (a dependency of {name})")
            todo.append(pick)
    for name in seen:
        f = packages[name]
        print(name, f["Version"], f["Filename"], f["SHA256"], f["Size"])


main()
