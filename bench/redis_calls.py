#!/usr/bin/env python3
"""Records llmgw's admission script calls to Redis, and replays them (bench/redis_instructions.sh).

  redis_calls.py capture PORT SECONDS FILE
      MONITORs the redis-server on 127.0.0.1:PORT for SECONDS and writes every EVALSHA and
      FCALL that a client sent (not the calls made inside scripts) to FILE, one JSON list of
      its arguments per line (the SHA1 or the function first).
  redis_calls.py load PORT SCRIPT_SOURCE [function|eval]
      Loads the batch script (SCRIPT_SOURCE: src/limits/limit_scripts.cpp, whose common and
      batch Lua are joined as llmgw joins them) and prints its SHA1; or, when the script has a
      function form and the last argument is "function" (the default), loads its library as
      llmgw names it and prints fcall:<its function>.
  redis_calls.py replay PORT FILE SHA1
      (FILE may be gzipped: FILE.gz)
      Sends the recorded calls of the script called most often (the batch script: llmgw's
      other scripts, such as the fleet size's, are called a few times a second) to SHA1 (by
      EVALSHA) or fcall:<function> (by FCALL), one at
      a time, each after the previous answer, as a worker of llmgw does. Prints `calls=N admissions=N settles=N usages=N`.
Standard library only; loopback only.
"""
import gzip
import hashlib
import json
import re
import socket
import struct
import sys
import time


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode("latin-1")
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("redis closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n + 2:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("redis closed the connection")
            self.buf += data
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.exact(n)
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise RuntimeError("unexpected reply %r" % line)

    def call(self, *args):
        self.sock.sendall(resp(list(args)))
        return self.reply()


# MONITOR quotes each argument as sdscatrepr does.
ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b"}


def unquote_all(text):
    args, i = [], 0
    while True:
        i = text.find('"', i)
        if i < 0:
            return args
        i += 1
        out = []
        while text[i] != '"':
            c = text[i]
            if c == "\\":
                e = text[i + 1]
                if e == "x":
                    out.append(chr(int(text[i + 2:i + 4], 16)))
                    i += 4
                    continue
                out.append(ESCAPES[e])
                i += 2
                continue
            out.append(c)
            i += 1
        args.append("".join(out))
        i += 1


def capture(port, seconds, path):
    conn = Conn(port)
    conn.sock.sendall(resp(["MONITOR"]))
    conn.line()  # +OK
    calls = 0
    deadline = time.monotonic() + seconds
    with open(path, "w") as out:
        while time.monotonic() < deadline:
            line = conn.line().decode("latin-1")
            m = re.match(r'\+[0-9.]+ \[\d+ ([^\]]+)\] "(?i:evalsha|fcall)" ', line)
            if not m or m.group(1) == "lua":
                continue
            args = unquote_all(line[m.end() - 1:])
            out.write(json.dumps(args) + "\n")
            calls += 1
    print("captured calls=%d" % calls)


def script_code(cpp):
    """The batch script's code, and whether it is a library's too (it defines `batch`)."""
    text = open(cpp).read()
    if cpp.endswith(".lua"):  # a script of its own, for experiments
        return text, "local function batch(" in text
    parts = dict(re.findall(r'constexpr const char\* (\w+) = R"lua\((.*?)\)lua";', text, re.S))
    code = parts["common_lua"] + parts["batch_lua"]
    return code, "local function batch(" in code


def load(port, cpp, how):
    """Loads the script (EVALSHA: prints its SHA1) or, with `how` "function" and a code that
    has a function form, the library as llmgw names it (prints fcall:<its function>)."""
    code, library = script_code(cpp)
    conn = Conn(port)
    if not library:
        print(conn.call("SCRIPT", "LOAD", code).decode())
        return
    source = code + "\nreturn batch(KEYS, ARGV)\n"
    if how != "function":
        print(conn.call("SCRIPT", "LOAD", source).decode())
        return
    name = "llmgw_limits_" + hashlib.sha1(source.encode("latin-1")).hexdigest()[:16]
    library = "#!lua name=%s\n%s\nredis.register_function('%s', batch)\n" % (name, code, name)
    conn.call("FUNCTION", "LOAD", "REPLACE", library)
    print("fcall:" + name)


def replay(port, path, sha):
    conn = Conn(port)
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        recorded = [json.loads(line) for line in f]
    shas = [args[0] for args in recorded]
    batch = max(set(shas), key=shas.count)
    calls = admissions = settles = usages = 0
    for args in recorded:
        if args[0] != batch:
            continue
        args = args[1:]
        numkeys = int(args[0])
        argv = args[1 + numkeys:]
        settles += int(argv[0])
        usages += int(argv[1])
        admissions += int(argv[4])
        if sha.startswith("fcall:"):
            conn.call("FCALL", sha[6:], *args)
        else:
            conn.call("EVALSHA", sha, *args)
        calls += 1
    print("calls=%d admissions=%d settles=%d usages=%d" % (calls, admissions, settles, usages))


def packed_limit(field, code, amount, third, capacity):
    """One limit of the former layout (5 texts) as one packed argument."""
    rate = code[0] == "r"
    window = 1.0 if third == "day" else 2.0
    data = code.encode() + struct.pack(
        "<ddd", float(int(amount)), float(int(third)) if rate else window, float(int(capacity)) if rate else 0.0)
    name = field.encode("latin-1")
    return (data + struct.pack("<i", len(name)) + name).decode("latin-1")


def converted(call):
    """A recorded call of the former layout in the packed one (other calls as they are)."""
    sha, numkeys = call[0], int(call[1])
    keys, argv = call[2:2 + numkeys], call[2 + numkeys:]
    if len(argv) < 6 or not all(a.isdigit() for a in argv[:6]):
        return call
    settles, usages, leases, returns, admissions, tiers = map(int, argv[:6])
    out, i, tier_sizes = argv[:6], 6, []
    for _ in range(tiers):
        n = int(argv[i])
        tier_sizes.append(n)
        out.append(argv[i])
        out += [packed_limit(*argv[i + 1 + 5 * j:i + 6 + 5 * j]) for j in range(n)]
        i += 1 + 5 * n
    for _ in range(settles):
        n = int(argv[i])
        out += argv[i:i + 6]
        out += [packed_limit(*argv[i + 6 + 5 * j:i + 11 + 5 * j]) for j in range(n)]
        i += 6 + 5 * n
    out += argv[i:i + 7 * usages + 3 * leases]
    i += 7 * usages + 3 * leases
    for _ in range(returns):
        out += [packed_limit(*argv[i:i + 5])] + argv[i + 5:i + 7]
        i += 7
    k = settles + usages + leases + returns
    out_keys, admission_keys, packed = keys[:k], [], b""

    def number(key):
        if key not in admission_keys:
            admission_keys.append(key)
        return admission_keys.index(key) + 1

    for _ in range(admissions):
        tier, tokens, cost, cap, member, lease_ms, mode = argv[i:i + 7]
        i += 7
        lease_key = hash_key = 0
        if int(cap) > 0:
            lease_key, k = number(keys[k]), k + 1
        if int(tier) > 0:
            hash_key, k = number(keys[k]), k + 1
        packed += struct.pack("<dddddddd", int(tier), int(tokens), int(cost), int(cap), int(lease_ms),
                              int(mode), hash_key, lease_key)
        name = member.encode("latin-1")
        packed += struct.pack("<i", len(name)) + name
        if int(mode) != 0:
            n = tier_sizes[int(tier) - 1]
            packed += b"".join(struct.pack("<d", int(w)) for w in argv[i:i + n])
            i += n
    if i != len(argv) or k != numkeys:
        raise ValueError("not a call of the former layout")
    if admissions:
        out.append(packed.decode("latin-1"))
    out_keys += admission_keys
    return [sha, str(len(out_keys))] + out_keys + out


def convert(old, new):
    with (gzip.open(old, "rt") if old.endswith(".gz") else open(old)) as f, open(new, "w") as out:
        for line in f:
            out.write(json.dumps(converted(json.loads(line))) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "capture":
        capture(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "load":
        load(int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "function")
    elif sys.argv[1] == "replay":
        replay(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "convert":
        convert(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
