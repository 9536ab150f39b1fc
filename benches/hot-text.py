#!/usr/bin/env python3
"""Regenerate (or check) src/hot-text.ld: the functions a plain run of sockcat executes, which the
linker puts together at the start of the text (src/build.rs passes the script to the sockcat binary's
link).

Why: the kernel maps a binary's code 64 KiB at a time around each page a run touches (fault-around),
and the peak RSS that `cargo bench` reports counts those pages. Left where the linker puts them, the
~300 functions a plain `connect`/`listen` bulk transfer executes are spread over 40 of the 75 64-KiB
windows of the 4.8 MiB text (rustls and aws-lc made it that big), 2.0-2.5 MiB resident; gathered,
they take about 0.6 MiB.

How: each scenario below runs under valgrind's callgrind; every function of the sockcat binary it
executes becomes one input-section pattern, with the parts that change from build to build (the
legacy mangling's hash, the v0 mangling's crate disambiguators and back-references, aws-lc's version prefix) turned into
`*`, so the list survives a rebuild, a new rustc or a dependency update; a function renamed or added
on the plain path falls out of the list (the `--check` mode shows it, and the bench's peak RSS).

    cargo build --release && benches/hot-text.py            # rewrite src/hot-text.ld
    cargo build --release && benches/hot-text.py --check    # how much executed code lies outside

Needs valgrind and python3; loopback only. `--check` exits 1 when the scenarios execute code in more
than MAX_OUTSIDE_WINDOWS 64-KiB windows outside the gathered functions.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "src", "hot-text.ld")
START, END = "__sockcat_hot_start", "__sockcat_hot_end"
MAX_OUTSIDE_WINDOWS = 4
PREFIXES = ["", "unlikely.", "startup.", "exit.", "hot."]
BYTES = 32 << 20
ROUNDS = 5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """Is something listening on 127.0.0.1:port (/proc/net/tcp, state 0A)?"""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        return any(
            line.split()[1] == want and line.split()[3] == "0A" for line in list(f)[1:]
        )


def callgrind(out, argv, **kw):
    cmd = ["valgrind", "--tool=callgrind", "--demangle=no", "-q",
           "--callgrind-out-file=" + out] + argv
    return subprocess.Popen(cmd, **kw)


def transfer(binary, tmp, tag, stdin_kind):
    """listen --recv-only <- connect, BYTES from a regular file or a pipe; both under callgrind."""
    port = free_port()
    recv_out = os.path.join(tmp, tag + ".recv")
    send_out = os.path.join(tmp, tag + ".send")
    receiver = callgrind(recv_out, [binary, "listen", "--recv-only", "127.0.0.1", str(port)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not listening(port):
        if receiver.poll() is not None or time.monotonic() > deadline:
            sys.exit("hot-text: the receiver did not start listening")
        time.sleep(0.05)
    argv = [binary, "connect", "127.0.0.1", str(port)]
    if stdin_kind == "file":
        with open(os.path.join(tmp, "data"), "rb") as data:
            sender = callgrind(send_out, argv, stdin=data, stdout=subprocess.DEVNULL)
    else:
        sender = callgrind(send_out, argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)

        def feed():
            block = b"\0" * (1 << 20)
            for _ in range(BYTES >> 20):
                sender.stdin.write(block)
            sender.stdin.close()

        threading.Thread(target=feed, daemon=True).start()
    for p in (sender, receiver):
        if p.wait(timeout=300) != 0:
            sys.exit(f"hot-text: {' '.join(p.args)} failed")
    return [recv_out, send_out]


def run_scenarios(binary, tmp):
    """Callgrind profiles per scenario. The transfers run ROUNDS times each: what two threads do
    depends on timing (a contended lock, a waker), and the list should have what any run may do."""
    with open(os.path.join(tmp, "data"), "wb") as f:
        f.write(b"\0" * BYTES)
    out = os.path.join(tmp, "version")
    callgrind(out, [binary, "--version"], stdout=subprocess.DEVNULL).wait()
    runs = [[out], [], []]
    for i in range(ROUNDS):
        runs[1] += transfer(binary, tmp, f"file{i}", "file")
        runs[2] += transfer(binary, tmp, f"pipe{i}", "pipe")
    return runs


def executed(path, binary):
    """The functions of `binary` a callgrind profile shows executed (mangled names)."""
    names, objects, found = {}, {}, set()
    ob = fn = None
    real = os.path.realpath(binary)
    after_calls = False
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            key, eq, value = line.partition("=")
            if eq and key in ("ob", "cob", "fn", "cfn"):
                table = objects if key.endswith("ob") else names
                m = re.match(r"^\((\d+)\)(?: (.*))?$", value)
                if m:
                    if m.group(2) is not None:
                        table[m.group(1)] = m.group(2)
                    value = table[m.group(1)]
                if key == "ob":
                    ob = value
                elif key == "fn":
                    fn = value
                continue
            if line.startswith("calls="):
                after_calls = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False
                elif ob and fn and os.path.realpath(ob) == real:
                    found.add(re.sub(r"'\d+$", "", fn))
    return found


def pattern(name):
    """An input-section name pattern for a function, without what changes from build to build."""
    if name.startswith("_ZN"):
        name = re.sub(r"17h[0-9a-f]{16}E$", "17h*E", name)
    elif name.startswith("_R"):
        # A crate's disambiguator, and the back-references whose offsets its length shifts.
        name = re.sub(r"Cs[0-9A-Za-z]*_", "C*_", name)
        name = re.sub(r"B[0-9A-Za-z]*_", "B*_", name)
    name = re.sub(r"^aws_lc_\d+_\d+_\d+_", "aws_lc_*_", name)
    # LLVM's numbered clones (`.203`) are renumbered by any change.
    name = re.sub(r"\.\d+$", ".*", name)
    # crt's unnamed code, callgrind's pseudo-functions, anything a linker script could misread.
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.$*]*$", name):
        return None
    return name


def generate(binary):
    with tempfile.TemporaryDirectory(prefix="sockcat-hot-text-") as tmp:
        runs = [set().union(*(executed(p, binary) for p in run))
                for run in run_scenarios(binary, tmp)]
    per_run = [{p for p in map(pattern, run) if p} for run in runs]
    everywhere = sorted(set.intersection(*per_run))
    rest = sorted(set.union(*per_run) - set(everywhere))
    lines = [
        "/* GENERATED by benches/hot-text.py from callgrind runs of a release build: do not edit.",
        " * The functions a plain run executes (--version; listen --recv-only <- connect, from a file",
        " * and from a pipe), put first in the text so that they fill a few 64-KiB fault-around",
        " * windows instead of touching most of the binary's 4.8 MiB. src/build.rs passes this",
        " * script to the sockcat binary's link; README (Contributing) says when to regenerate it.",
        " * INSERT keeps the linker's own layout: this .text stands where its .text would, and the",
        " * linker adds every other function after these (lld; GNU ld makes a second .text).",
        " * First the functions every run executes, then the others; hashes and versions are `*`. */",
        "SECTIONS {",
        "  .text : {",
        f"    HIDDEN({START} = .);",
    ]
    for p in everywhere + rest:
        # Compilers' prefixes: LLVM's cold code, GCC's constructors and destructors.
        alternatives = " ".join(f".text.{prefix}{p}" for prefix in PREFIXES)
        lines.append(f"    *({alternatives})")
    lines += [f"    HIDDEN({END} = .);", "  }", "}", "INSERT BEFORE .init;", ""]
    with open(SCRIPT, "w") as f:
        f.write("\n".join(lines))
    print(f"hot-text: {len(everywhere) + len(rest)} functions ({len(everywhere)} in every run) "
          f"-> {os.path.relpath(SCRIPT, ROOT)}")


def readelf_symbols(binary):
    """The fields of each line of `readelf -sW` that describes a symbol."""
    out = subprocess.run(["readelf", "-sW", binary], capture_output=True, text=True,
                         check=True).stdout
    return (f for f in (line.split() for line in out.splitlines()) if len(f) >= 8)


def symbols(binary):
    table = {}
    for f in readelf_symbols(binary):
        if f[3] == "FUNC" and f[6] != "UND":
            table.setdefault(f[7], (int(f[1], 16), int(f[2], 0)))
    return table


def hot_range(binary):
    """[start, end) of the gathered functions (the script's two symbols), if the binary has them."""
    marks = {}
    for f in readelf_symbols(binary):
        if f[7] in (START, END):
            marks[f[7]] = int(f[1], 16)
    if START in marks and END in marks and marks[END] > marks[START]:
        return marks[START], marks[END]
    return None


def check(binary):
    hot = hot_range(binary)
    if hot is None:
        sys.exit(f"hot-text: {binary} has no {START} (built with SOCKCAT_HOT_TEXT=0?)")
    start, end = hot
    table = symbols(binary)
    with tempfile.TemporaryDirectory(prefix="sockcat-hot-text-") as tmp:
        funcs = set().union(*(executed(p, binary) for run in run_scenarios(binary, tmp)
                              for p in run))
    outside, windows, inside = [], set(), 0
    for name in sorted(funcs):
        if name not in table:
            continue
        addr, length = table[name]
        if start <= addr < end:
            inside += 1
            continue
        outside.append((length, name))
        windows.update(range(addr >> 16, ((addr + max(length, 1) - 1) >> 16) + 1))
    print(f"hot-text: the gathered functions take {(end - start) >> 10} KiB and hold {inside} of the "
          f"executed ones; "
          f"{len(outside)} lie outside, in {len(windows)} 64-KiB windows "
          f"(at most {MAX_OUTSIDE_WINDOWS} allowed)")
    for length, name in sorted(outside, reverse=True)[:20]:
        print(f"  {length:7} {name}")
    if len(windows) > MAX_OUTSIDE_WINDOWS:
        sys.exit("hot-text: regenerate src/hot-text.ld (benches/hot-text.py)")


def main():
    args = sys.argv[1:]
    checking = "--check" in args
    args = [a for a in args if a != "--check"]
    binary = args[0] if args else os.path.join(ROOT, "target", "release", "sockcat")
    if not os.path.exists(binary):
        sys.exit(f"hot-text: no {binary}: run `cargo build --release` first")
    (check if checking else generate)(binary)


if __name__ == "__main__":
    main()
