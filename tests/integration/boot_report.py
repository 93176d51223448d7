# SPDX-License-Identifier: GPL-2.0-or-later
"""Size and stack report of the boot reader (docs/BOOT.md).

usage: boot_report.py ARCHIVE OBJDIR

Code size: the archive members that the API pulls in (ld -r -u ...), text
and read-only data, without and with the decryption entry points.  Writable
globals: .data and .bss of every member must be empty.  Stack: the call
graph gcc writes with -fcallgraph-info=su (one .ci file per member, frame
sizes included), worst path from any API entry; an indirect call goes to
any function of the archive whose address is taken for an es_io or a
directory callback (the caller's own callbacks count as 0 bytes: they are
the caller's), a function is not entered twice on one path (the verifying
source calls the lower source, never itself).  Without .ci files (not gcc
12) the worst single frame from -fstack-usage is reported instead.

Prints "name value" lines; exit 1 when a target is missed.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

API = ["erofs_boot_open", "erofs_boot_unlock", "erofs_boot_lookup", "erofs_boot_stat",
       "erofs_boot_read", "erofs_boot_readdir"]
# a boot loader that never calls erofs_boot_unlock() links none of the
# decryption (lib/keys/, the portable AES, HMAC/HKDF): --gc-sections drops it
UNLOCK = ["erofs_boot_unlock"]
# functions reached through a pointer: the es_io callbacks and the lookup's
# directory callback (lib/read/, boot/boot.c)
INDIRECT = ["vio_read", "vio_stat", "raw_read", "raw_stat", "mem_read", "mem_stat",
            "lookup_cb"]
# where an indirect call can only go to the caller's own function (the read
# callback), or to the lower source (the verifying source sits on the raw one)
CALLER_CALLBACKS = ["raw_read", "raw_stat"]
LOWER_ONLY = {n: ["raw_read", "raw_stat"] for n in
              ["vio_read", "vio_stat", "fetch_data_block", "leaf_digest", "lower_read"]}
CODE_MAX = 32 * 1024
CODE_DEC_MAX = 48 * 1024
STACK_MAX = 8 * 1024


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def sections(obj):
    """{section: size} summed over the members of obj (size -A)."""
    out = {}
    for line in run("size", "-A", obj).splitlines():
        f = line.split()
        if len(f) >= 2 and f[0].startswith(".") and f[1].isdigit():
            out[f[0]] = out.get(f[0], 0) + int(f[1])
    return out


def pulled_size(archive, syms, tmp):
    defined = set(l.split()[-1] for l in run("nm", "--defined-only", archive).splitlines()
                  if len(l.split()) == 3)
    syms = [s for s in syms if s in defined]
    obj = os.path.join(tmp, "pulled.o")
    args = ["ld", "-r", "--gc-sections", "-o", obj]
    for s in syms:
        args += ["-u", s]
    subprocess.run(args + [archive], check=True)
    secs = sections(obj)
    text = sum(v for k, v in secs.items() if k.startswith(".text"))
    ro = sum(v for k, v in secs.items() if k.startswith(".rodata"))
    return text, ro, syms


def writable(archive):
    bad = []
    member = None
    for line in run("size", "-A", archive).splitlines():
        m = re.match(r"^(\S+)\s+\(ex (\S+)\):", line)
        if m:
            member = m.group(1)
            continue
        f = line.split()
        # .data.rel.ro: constant tables of pointers, read-only once relocated
        if len(f) >= 2 and f[1].isdigit() and int(f[1]) and \
           ((f[0].startswith(".data") and not f[0].startswith(".data.rel.ro")) or
                f[0].startswith(".bss")):
            bad.append("%s %s %s" % (member, f[0], f[1]))
    return bad


def stack(objdir):
    nodes = {}      # title -> (name, frame bytes)
    edges = {}      # title -> set(titles)
    node_re = re.compile(r'node: \{ title: "([^"]+)" label: "([^"\\]+)(?:\\n[^"]*?)?'
                         r'(?:\\n(\d+) bytes \(([\w,]+)\))?"')
    edge_re = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
    dynamic = []
    for ci in glob.glob(os.path.join(objdir, "*.ci")):
        for line in open(ci):
            m = node_re.match(line)
            if m:
                title, name, size, kind = m.groups()
                if size is not None:
                    nodes[title] = (name, int(size))
                    if kind not in ("static", "dynamic,bounded"):
                        dynamic.append(name)
                else:
                    nodes.setdefault(title, (name, None))
                continue
            m = edge_re.match(line)
            if m:
                edges.setdefault(m.group(1), set()).add(m.group(2))
    by_name = {}
    for title, (name, size) in nodes.items():
        if size is not None:
            by_name.setdefault(name, []).append(title)
    def named(names):
        return [t for n in names for t in by_name.get(n, [])]

    def resolve(title, caller):
        if title == "__indirect_call":
            name = nodes[caller][0]
            if name in CALLER_CALLBACKS:
                return []
            if name in LOWER_ONLY:
                return named(LOWER_ONLY[name])
            return named(INDIRECT)
        if nodes.get(title, (None, None))[1] is None:
            name = nodes.get(title, (title, None))[0]
            return by_name.get(name, [])      # defined in another member
        return [title]

    def worst(title, caller, on_path):
        best, best_path = 0, []
        for t in resolve(title, caller):
            if t in on_path:
                continue
            own = nodes[t][1]
            sub, sub_path = 0, []
            on_path.add(t)
            for callee in edges.get(t, ()):
                s, p = worst(callee, t, on_path)
                if s > sub:
                    sub, sub_path = s, p
            on_path.discard(t)
            if own + sub > best:
                best, best_path = own + sub, [(nodes[t][0], own)] + sub_path
        return best, best_path

    result = (0, [])
    for api in API:
        for t in by_name.get(api, []):
            r = worst(t, None, set())
            if r[0] > result[0]:
                result = r
    return result, dynamic


def main():
    archive, objdir = sys.argv[1], sys.argv[2]
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        text, ro, _ = pulled_size(archive, [a for a in API if a not in UNLOCK], tmp)
        dtext, dro, dsyms = pulled_size(archive, API, tmp)
    print("code_without_decryption %d bytes (text %d + rodata %d)" % (text + ro, text, ro))
    print("code_with_decryption %d bytes (text %d + rodata %d; with %s)"
          % (dtext + dro, dtext, dro, " ".join(UNLOCK)))
    if text + ro >= CODE_MAX:
        failed.append("code without decryption is not under %d bytes" % CODE_MAX)
    if dtext + dro >= CODE_DEC_MAX:
        failed.append("code with decryption is not under %d bytes" % CODE_DEC_MAX)
    bad = writable(archive)
    print("writable_globals %s" % ("none" if not bad else "; ".join(bad)))
    if bad:
        failed.append("writable global state: " + "; ".join(bad))
    if glob.glob(os.path.join(objdir, "*.ci")):
        (worst, path), dynamic = stack(objdir)
        print("stack_worst %d bytes" % worst)
        print("stack_path " + " > ".join("%s(%d)" % p for p in path))
        if dynamic:
            failed.append("frames of dynamic size: " + " ".join(dynamic))
    else:
        frames = []
        for su in glob.glob(os.path.join(objdir, "*.su")):
            for line in open(su):
                f = line.rstrip("\n").split("\t")
                frames.append((int(f[1]), f[0].split(":")[-1]))
        worst = max(frames)[0] if frames else 0
        print("stack_worst_frame %d bytes (%s; no call graph from this compiler)"
              % (worst, max(frames)[1] if frames else "-"))
    if worst >= STACK_MAX:
        failed.append("stack use is not under %d bytes" % STACK_MAX)
    for f in failed:
        print("FAIL: " + f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
