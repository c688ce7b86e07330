#!/usr/bin/env python3
"""Runs the shell examples of the documentation against a real server: the docs' commands work
verbatim.

Which blocks run:
  - fenced blocks tagged ```bash, ```sh or ```shell in README.md, NAMESPACES.md and
    observability/README.md whose text contains `localhost:8080` (the ones that talk to a server);
  - except a block whose previous non-blank line is the HTML comment `<!-- not-run -->` (docker,
    kubectl, commands needing other hosts or placeholders).
How they run:
  - one fresh server per document (free loopback ports, temp db, no API key), its blocks in
    document order, each as one script: ```bash blocks with bash, ```sh / ```shell with /bin/sh
    (a bash block is what a reader pastes into bash: the guide's loop uses `${env^}`), cwd a temp
    dir, `set -e`;
  - `localhost:8080` / `localhost:50051` are rewritten to the test server's ports;
  - `curl` is a shell function wrapping the real curl (`-sS -o <tmp> -w '%{http_code}'`, the body
    printed as usual) that checks the HTTP status of every call: 2xx by default; a comment line
    `# -> HTTP 429` (optionally followed by text the body must contain, e.g.
    `# -> HTTP 429 {"error": "Vector quota exceeded: 2 / 2 vectors"}`: for such an error object
    the body must contain the message, since the server writes compact JSON) sets the expectation for the
    commands after it, up to the next comment line at the start of a line (which resets it to 2xx);
  - a block passes when the script exits 0, no curl call missed its expectation (also inside
    pipes and $(...)), and at least one curl call ran.
Documented curl commands must therefore not use -o / -w themselves (checked).

Run: python3 tests/integration/test_doc_commands.py [-v] [--keep] [name-substring ...]
"""

import json
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
sys.dont_write_bytecode = True

import harness as h  # noqa: E402
from harness import expect, expect_eq, fail, short  # noqa: E402

NOT_RUN = "<!-- not-run -->"
SHELLS = {"bash": "bash", "sh": "/bin/sh", "shell": "/bin/sh"}
EXPECT_RE = re.compile(r"^#\s*->\s*HTTP\s+(\d{3})\b\s*(.*?)\s*$")

WRAPPER = r'''
VS_EXPECT=2xx
VS_EXPECT_BODY=
curl() {
  _vs_body=$(mktemp "$VS_TMP/body.XXXXXX") || return 99
  _vs_code=$(command curl -sS -o "$_vs_body" -w '%{http_code}' "$@")
  _vs_rc=$?
  cat "$_vs_body"
  printf '%s\t%s\t%s\n' "$_vs_code" "$VS_EXPECT" "$*" >> "$VS_LOG"
  if [ "$_vs_rc" -ne 0 ]; then
    printf 'curl exit %s: curl %s\n' "$_vs_rc" "$*" >> "$VS_FAILS"
    rm -f "$_vs_body"
    return "$_vs_rc"
  fi
  _vs_ok=0
  case "$VS_EXPECT" in
    2xx) case "$_vs_code" in 2??) _vs_ok=1 ;; esac ;;
    *) [ "$_vs_code" = "$VS_EXPECT" ] && _vs_ok=1 ;;
  esac
  if [ -n "$VS_EXPECT_BODY" ] && ! grep -qF -- "$VS_EXPECT_BODY" "$_vs_body"; then
    _vs_ok=0
  fi
  if [ "$_vs_ok" -ne 1 ]; then
    printf 'HTTP %s, expected %s %s: curl %s -> %s\n' "$_vs_code" "$VS_EXPECT" "$VS_EXPECT_BODY" "$*" \
      "$(head -c 300 "$_vs_body")" >> "$VS_FAILS"
    rm -f "$_vs_body"
    return 22
  fi
  rm -f "$_vs_body"
  return 0
}
set -e
'''


# ----------------------------------------------------------------------------- extraction

def extract_blocks(text):
    """-> [(first line number, lang, code, skipped)] of every fenced shell block."""
    lines = text.splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^```\s*([A-Za-z0-9_+-]*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        lang = m.group(1).lower()
        j = i + 1
        while j < len(lines) and not re.match(r"^```\s*$", lines[j]):
            j += 1
        expect(j < len(lines), "unterminated code fence at line %d" % (i + 1))
        prev = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        if lang in SHELLS:
            out.append((i + 1, lang, "\n".join(lines[i + 1:j]) + "\n", prev == NOT_RUN))
        i = j + 1
    return out


def selected_blocks(text):
    return [(ln, lang, code) for ln, lang, code, skipped in extract_blocks(text)
            if not skipped and "localhost:8080" in code]


def _quote_state(line, state):
    """Shell quote state after line, given the state before it (None, "'" or '"')."""
    i = 0
    while i < len(line):
        c = line[i]
        if state == "'":
            if c == "'":
                state = None
        elif state == '"':
            if c == "\\":
                i += 1
            elif c == '"':
                state = None
        else:
            if c == "\\":
                i += 1
            elif c in "'\"":
                state = c
            elif c == "#" and (i == 0 or line[i - 1] in " \t;"):
                break  # comment to end of line
        i += 1
    return state


def instrument(code, http_port, grpc_port):
    """The block with ports rewritten and expectation assignments after top-level comment lines."""
    code = code.replace("localhost:8080", "127.0.0.1:%d" % http_port)
    code = code.replace("localhost:50051", "127.0.0.1:%d" % grpc_port)
    out = []
    state = None
    continued = False
    for line in code.splitlines():
        out.append(line)
        top = state is None and not continued
        if top and line.startswith("#"):
            m = EXPECT_RE.match(line)
            if m:
                out.append("VS_EXPECT=%s; VS_EXPECT_BODY=%s" % (m.group(1), shlex.quote(expected_text(m.group(2)))))
            else:
                out.append("VS_EXPECT=2xx; VS_EXPECT_BODY=")
            continue
        state = _quote_state(line, state)
        continued = state is None and line.endswith("\\")
    return "\n".join(out) + "\n"


def expected_text(s):
    """What the body must contain for an annotation's text: for `{"error": "<message>"}` the
    message (the server writes compact JSON, the docs spaced), else the text as written."""
    try:
        j = json.loads(s)
    except ValueError:
        return s
    if isinstance(j, dict) and list(j) == ["error"] and isinstance(j["error"], str):
        return j["error"]
    return s


def curl_uses_output_flags(code):
    """The documented curl commands must leave -o / -w to the wrapper."""
    joined = re.sub(r"\\\n", " ", code)
    bad = []
    for m in re.finditer(r"(?:^|[;&|(`$]\s*|\s)curl\s([^\n;|&]*)", joined):
        args = m.group(1)
        if re.search(r"(^|\s)(-o|-w|--output|--write-out|-O|--remote-name)(\s|=|$)", args):
            bad.append("curl " + args.strip())
    return bad


# ----------------------------------------------------------------------------- running

def run_block(t, srv, lang, code, name):
    d = t.tmpdir(name)
    log = os.path.join(d, "calls.log")
    fails = os.path.join(d, "fails.log")
    script = os.path.join(d, "block.sh")
    with open(script, "w") as fh:
        fh.write(WRAPPER + instrument(code, srv.http_port, srv.grpc_port))
    env = h.clean_env({"VS_TMP": d, "VS_LOG": log, "VS_FAILS": fails, "LC_ALL": "C.UTF-8"})
    try:
        p = subprocess.run([SHELLS[lang], script], cwd=d, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    except subprocess.TimeoutExpired:
        fail("%s: did not finish within 300 s" % name)
    out = p.stdout.decode("utf-8", "replace")

    def rd(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    calls = [l for l in rd(log).splitlines() if l.strip()]
    misses = rd(fails).strip()
    return p.returncode, out, calls, misses


def run_document(t, rel, min_blocks):
    path = os.path.join(h.REPO, rel)
    expect(os.path.isfile(path), "%s is missing" % rel)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    blocks = selected_blocks(text)
    expect(len(blocks) >= min_blocks, "%s: only %d runnable blocks selected (expected >= %d)"
           % (rel, len(blocks), min_blocks))
    for ln, lang, code in blocks:
        bad = curl_uses_output_flags(code)
        expect(not bad, "%s line %d: documented curl uses -o/-w (the test needs them): %s" % (rel, ln, bad))
    srv = t.start()
    total = 0
    for ln, lang, code in blocks:
        name = "%s-L%d" % (re.sub(r"\W", "_", rel), ln)
        rc, out, calls, misses = run_block(t, srv, lang, code, name)
        where = "%s line %d" % (rel, ln)
        expect(not misses, "%s: %s" % (where, misses))
        expect_eq(rc, 0, "%s: exit status (output: %s; server log: %s)" % (where, short(out, 600), srv.log_tail()))
        expect(calls, "%s: the block ran no curl command" % where)
        total += len(calls)
        expect(srv.alive(), "%s: the server died (log: %s)" % (where, srv.log_tail()))
    print("  %s: %d blocks, %d curl calls, all as documented" % (rel, len(blocks), total), flush=True)


def test_readme_commands(t):
    run_document(t, "README.md", 1)


def test_namespaces_commands(t):
    run_document(t, "NAMESPACES.md", 15)


def test_observability_readme_commands(t):
    run_document(t, "observability/README.md", 1)


# ----------------------------------------------------------------------------- the machinery itself

def test_wrapper_catches_wrong_status_and_body(t):
    """The checks are not vacuous: an unexpected status or body fails the block."""
    srv = t.start()
    cases = [
        ("curl http://localhost:8080/health\n", True),
        ("curl http://localhost:8080/v1/vectors/nope\n", False),                    # 404, 2xx expected
        ("# -> HTTP 404\ncurl http://localhost:8080/v1/vectors/nope\n", True),
        ("# -> HTTP 404 {\"error\": \"Vector 'nope' not found\"}\ncurl http://localhost:8080/v1/vectors/nope\n",
         True),
        ("# -> HTTP 404 something else\ncurl http://localhost:8080/v1/vectors/nope\n", False),
        ("# -> HTTP 404\ncurl http://localhost:8080/v1/vectors/nope\n# back to 2xx\n"
         "curl http://localhost:8080/v1/vectors/nope\n", False),
        ("X=$(curl http://localhost:8080/v1/vectors/nope || true)\n", False),        # inside $(...)
        ("curl http://localhost:8080/v1/vectors/nope | cat\n", False),              # inside a pipe
        ("curl -X POST http://localhost:8080/v1/upsert \\\n  -H 'Content-Type: application/json' \\\n"
         "  -d '{\n  \"id\": \"q\",\n  \"vector\": [1, 2]\n}'\n", True),        # multi-line body
        ("false\ncurl http://localhost:8080/health\n", False),                      # set -e
    ]
    for i, (code, ok) in enumerate(cases):
        rc, out, calls, misses = run_block(t, srv, "bash", code, "case%d" % i)
        passed = rc == 0 and not misses and bool(calls)
        expect_eq(passed, ok, "case %d %r (rc %d, misses %r, out %s)" % (i, code, rc, misses, short(out)))
    rc, out, calls, misses = run_block(t, srv, "sh", "curl http://localhost:8080/health\n", "sh")
    expect(rc == 0 and not misses and calls, "a plain sh block failed: %s %s" % (misses, out))


def test_block_selection(t):
    text = ("intro\n```bash\ncurl http://localhost:8080/health\n```\n"
            "<!-- not-run -->\n\n```bash\ndocker logs vecstore-server; curl http://localhost:8080/health\n```\n"
            "```python\nprint('localhost:8080')\n```\n"
            "```bash\nls\n```\n"
            "```sh\ncurl -s http://localhost:8080/metrics\n```\n")
    sel = selected_blocks(text)
    expect_eq([(ln, lang) for ln, lang, _ in sel], [(2, "bash"), (16, "sh")], "selected blocks")
    # '#' lines inside quotes or continuations are not comments: nothing is inserted there.
    code = "curl -d '{\n# -> HTTP 404\n}' \\\n  http://localhost:8080/x\necho \"a\n# b\"\n"
    expect_eq(instrument(code, 1, 2), code.replace("localhost:8080", "127.0.0.1:1"), "instrumented quoted text")
    expect_eq(instrument("# -> HTTP 429 {\"error\": \"it's\"}\ncurl x\n# note\n", 1, 2),
              "# -> HTTP 429 {\"error\": \"it's\"}\nVS_EXPECT=429; VS_EXPECT_BODY='it'\"'\"'s'\ncurl x\n"
              "# note\nVS_EXPECT=2xx; VS_EXPECT_BODY=\n", "instrumented annotations")
    expect_eq(curl_uses_output_flags("curl -s -o /dev/null -w '%{http_code}' http://x\n"),
              ["curl -s -o /dev/null -w '%{http_code}' http://x"], "output flags found")


if __name__ == "__main__":
    h.main(globals())
