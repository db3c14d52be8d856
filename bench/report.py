#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench's report: bench/results/bench.{md,json} and the plots.

usage: bench/report.py RESULTS-DIR

Reads, from RESULTS-DIR:
  guest.jsonl  the "@json" lines of kubuf-bench in the bench lane's guest
               (stream, cmd, setup, wake; bench/guest/gbench.c)
  edu.jsonl    the same from the edu device's guest (optional)
  guest.env    how the guests ran: accel=tcg|kvm, icount=0|1 (run.sh)
  ring.json    ringbench's figures, the ring alone natively (optional)
and writes bench.md (every table, each target beside its result, met or
MISSED), bench.json (the raw figures and the targets) and, with gnuplot,
stream-instructions.png, stream-throughput.png, ring-throughput.png and
ring-instructions.png. How each figure is obtained: bench/README.md.
"""
import json
import math
import os
import shutil
import subprocess
import sys

SIZES = [8, 64, 512, 4096, 65536]
KUBUF = ["kubuf-kbuf-poll", "kubuf-kbuf-busy", "kubuf-ubuf-poll",
         "kubuf-ubuf-busy"]
DESIGNS = KUBUF + ["read", "ucopy", "bpf-ringbuf"]


def load_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def load_env(path):
    env = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    env[k] = v
    return env


def size_name(s):
    return "%d KiB" % (s // 1024) if s >= 1024 else "%d B" % s


def fmt(v, digits=3):
    """A figure for a table: integers whole, others to @digits
    significant digits, never in exponent notation."""
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or v == int(v) and abs(v) >= 1000:
        return "{:,}".format(int(v)).replace(",", " ")
    if v == 0:
        return "0"
    places = max(0, digits - 1 - int(math.floor(math.log10(abs(v)))))
    if places == 0:
        return "{:,.0f}".format(v).replace(",", " ")
    return "%.*f" % (places, v)


class Report:
    def __init__(self, d):
        self.dir = d
        self.guest = load_jsonl(os.path.join(d, "guest.jsonl"))
        self.edu = load_jsonl(os.path.join(d, "edu.jsonl"))
        self.env = load_env(os.path.join(d, "guest.env"))
        rp = os.path.join(d, "ring.json")
        self.ring = json.load(open(rp)) if os.path.exists(rp) else None
        self.md = []
        self.targets = []
        self.stream = {}
        for r in self.guest:
            if r.get("part") == "stream":
                self.stream[(r["design"], r["size"])] = r
        self.quick = any(r.get("part") == "env" and r.get("quick")
                         for r in self.guest)
        self.unit = ("instructions" if self.env.get("icount") == "1"
                     else "ns")

    # --- figures of one stream measurement -------------------------------
    def per_record(self, design, size, field):
        r = self.stream.get((design, size))
        if not r or not r["records"]:
            return None
        return r[field] / r["records"]

    def cost(self, design, size):
        return self.per_record(design, size, "ns")

    def copied_per_byte(self, design, size):
        r = self.stream.get((design, size))
        if not r or not r["records"]:
            return None
        return r["copied"] / (r["records"] * size)

    def guest_mbps(self, design, size):
        r = self.stream.get((design, size))
        if not r or not r["ns"]:
            return None
        return r["records"] * size / r["ns"] * 1e3   # bytes/ns -> MB/s

    # --- output helpers --------------------------------------------------
    def p(self, s=""):
        self.md.append(s)

    def table(self, head, rows, align=None):
        align = align or ["---"] + ["---:"] * (len(head) - 1)
        self.p("| " + " | ".join(head) + " |")
        self.p("|" + "|".join(align) + "|")
        for row in rows:
            self.p("| " + " | ".join(fmt(c) for c in row) + " |")
        self.p()

    def target(self, what, wanted, result, met):
        self.targets.append({"what": what, "target": wanted,
                             "result": result, "met": bool(met)})

    # --- sections --------------------------------------------------------
    def conditions(self):
        e = next((r for r in self.guest if r.get("part") == "env"), {})
        how = {"tcg1": "QEMU TCG with -icount shift=0: one nanosecond of "
                       "guest time per instruction executed, kernel and "
                       "application together, idle time skipped",
               "kvm0": "QEMU with KVM: real nanoseconds of this host"}
        self.p("# kubuf benchmark")
        self.p()
        self.p("- guest: Linux %s, one CPU, libkubuf %s; %s."
               % (e.get("kernel", "?"), e.get("libkubuf", "?"),
                  how.get(self.env.get("accel", "") +
                          self.env.get("icount", ""),
                          "accelerator %s" % self.env.get("accel", "?"))))
        self.p("- %s counts (`make bench%s`); kubuf %s; host %s."
               % ("small" if self.quick else "full",
                  "-quick" if self.quick else "",
                  self.env.get("version", "?"), self.env.get("host", "?")))
        self.p("- How each figure is obtained and how to read it: "
               "bench/README.md. Raw figures: bench.json.")
        self.p()

    def stream_tables(self):
        if not self.stream:
            return
        u = self.unit
        self.p("## Streaming, device to application: the whole path")
        self.p()
        self.p("Every design moves the same records: a 16-byte header "
               "(sequence number) written by the producer and the data "
               "bytes it does not write; the consumer checks every "
               "header. *zero* is what the copying designs' simulated "
               "device spends zeroing their data, measured alone (the "
               "bytes cleared as the guest kernel's memset clears them); "
               "*read − zero* and *ucopy − zero* are those designs "
               "without it.")
        self.p()
        heads = ["design"] + [size_name(s) for s in SIZES]

        def rows(fn, designs):
            return [[d] + [fn(d, s) for s in SIZES] for d in designs]

        self.p("**%s per record** (median of %s runs):" %
               (u, "three"))
        self.p()
        extra = []
        if any(("zero", s) in self.stream for s in SIZES):
            extra = [["zero"] + [self.cost("zero", s) for s in SIZES],
                     ["read − zero"] + [self.read_net(s) for s in SIZES],
                     ["ucopy − zero"] + [self.read_net(s, "ucopy")
                                         for s in SIZES]]
        self.table(heads, rows(self.cost, DESIGNS) + extra)
        self.p("**system calls per record:**")
        self.p()
        self.table(heads, rows(lambda d, s: self.per_record(d, s,
                                                            "syscalls"),
                               DESIGNS))
        self.p("**wakeups per record** (the module's: the consumer woken, "
               "and the device woken for room; read(), UCOPY and BPF never "
               "sleep here):")
        self.p()
        self.table(heads, rows(lambda d, s: self.per_record(d, s,
                                                            "wakeups"),
                               KUBUF))
        self.p("**context switches per record** (the whole guest's, "
               "/proc/stat):")
        self.p()
        self.table(heads, rows(lambda d, s: self.per_record(d, s, "ctxt"),
                               DESIGNS))
        pinned = [self.stream[k].get("pinned") for k in self.stream
                  if k[0] in KUBUF and "pinned" in self.stream[k]]
        if pinned:
            self.p("**pages pinned per record**: %s in every kubuf run "
                   "(the module's count of pinned pages, before the first "
                   "record and after the last: a registration's pages are "
                   "pinned once, when it is made)." %
                   ("0" if not any(pinned) else "up to %d pages"
                    % max(pinned)))
            self.p()
        self.p("**bytes the kernel copied per payload byte** (rchar and "
               "wchar of /proc/self/io; UCOPY's by its length):")
        self.p()
        self.table(heads, rows(self.copied_per_byte, DESIGNS))
        self.p("**MB/s of guest time** (payload bytes over guest time%s):"
               % (": under -icount, bytes per 10^9 instructions"
                  if u == "instructions" else ""))
        self.p()
        self.table(heads, rows(self.guest_mbps, DESIGNS))

    def read_net(self, s, design="read"):
        r, z = self.cost(design, s), self.cost("zero", s)
        return None if r is None or z is None else r - z

    @staticmethod
    def by_size(fn):
        """[(size, fn(size))] for the sizes measured."""
        vals = [(s, fn(s)) for s in SIZES]
        return [(s, v) for s, v in vals if v is not None]

    def stream_targets(self):
        if not self.stream:
            return
        for d in KUBUF:
            vals = self.by_size(lambda s: self.per_record(d, s, "syscalls"))
            bad = [s for s, v in vals if v > 0.001]
            self.target("system calls per record, %s, every size" % d,
                        "<= 0.001", self.worst(vals), not bad)
            if not d.endswith("busy"):
                vals = self.by_size(
                    lambda s: self.per_record(d, s, "wakeups"))
                bad = [s for s, v in vals if v > 0.001]
                self.target("wakeups per record, %s, every size" % d,
                            "<= 0.001", self.worst(vals), not bad)
            vals = self.by_size(lambda s: self.copied_per_byte(d, s))
            self.target("kernel bytes copied per payload byte, %s" % d,
                        "0 (the eventfd's 8 bytes per wait aside: < 0.001)",
                        self.worst(vals), all(v < 0.001 for _, v in vals))
            for s in [4096, 65536]:
                k, r = self.cost(d, s), self.read_net(s)
                if k is not None and r:
                    self.target("%s per record, %s / read() without its "
                                "zeroing, %s" % (self.unit, d, size_name(s)),
                                "<= 0.25", "%.3f" % (k / r), k / r <= 0.25)
            for s in SIZES:
                k, b = self.cost(d, s), self.cost("bpf-ringbuf", s)
                if k is not None and b:
                    self.target("%s per record, %s / BPF ring buffer, %s"
                                % (self.unit, d, size_name(s)),
                                "<= 1.00", "%.2f" % (k / b), k <= b)
        for d in ["read", "ucopy"]:
            vals = self.by_size(lambda s: self.copied_per_byte(d, s))
            if vals:
                self.target("kernel bytes copied per payload byte, %s "
                            "(the copying baseline)" % d, ">= 1",
                            self.worst(vals, low=True),
                            all(v >= 1 for _, v in vals))

    @staticmethod
    def worst(vals, low=False):
        if not vals:
            return "–"
        s, v = (min if low else max)(vals, key=lambda x: x[1])
        return "%s (at %s)" % (fmt(v, 4), size_name(s))

    def commands(self):
        rows = [r for r in self.guest if r.get("part") == "cmd"]
        if not rows:
            return
        self.p("## Commands, application to device")
        self.p()
        self.p("ECHO commands of 8 bytes through a command ring, "
               "completions through a reply ring. *busy*: queued while "
               "there is room, completions taken as they come; *idle*: "
               "one at a time, each waited for.")
        self.p()
        self.table(["mode", "commands", "system calls per command",
                    "kicks per command", "context switches per command",
                    "%s per command" % self.unit],
                   [[r["mode"], r["commands"],
                     r["syscalls"] / r["commands"],
                     r["kicks"] / r["commands"],
                     r["ctxt"] / r["commands"], r["ns"] / r["commands"]]
                    for r in rows])

    def setup(self):
        rows = {r["what"]: r for r in self.guest if r.get("part") == "setup"}
        if not rows:
            return
        mib = 1024.0 * 1024.0

        def per_mib(w):
            r = rows.get(w)
            return None if not r else r["ns"] / (r["bytes"] / mib)

        self.p("## Setup, per MiB")
        self.p()
        self.p("Registering (pin and map) anonymous memory already "
               "touched, and unregistering; allocating a driver buffer of "
               "pages, mapping it and touching every page; against "
               "copying the same bytes once (memcpy, in the guest). Huge: "
               "transparent huge pages (madvise), %s of the buffer."
               % ("all" if rows.get("register-huge", {}).get("huge_kb", 0)
                  * 1024 >= rows.get("register-huge", {}).get("bytes", 1)
                  else "part"))
        self.p()
        out = []
        for w, c in [("register-4k", "copy-4k"),
                     ("unregister-4k", "copy-4k"),
                     ("register-huge", "copy-huge"),
                     ("unregister-huge", "copy-huge"),
                     ("kbuf-alloc-map", "copy-4k"),
                     ("kbuf-free", "copy-4k"),
                     ("copy-4k", "copy-4k"), ("copy-huge", "copy-huge")]:
            a, b = per_mib(w), per_mib(c)
            if a is not None and b:
                out.append([w, a, a / b])
        out.append(["kbuf huge pages", "n/a", "n/a"])
        self.table(["what", "%s per MiB" % self.unit,
                    "ratio to copying once"], out)
        self.p("(kbuf huge pages: a driver buffer is made of pages of "
               "the base size; the module has no huge-page allocation.)")
        self.p()
        for w, c, lim, label in [("register-4k", "copy-4k", 0.2, "4 KiB"),
                                 ("register-huge", "copy-huge", 0.02,
                                  "huge")]:
            a, b = per_mib(w), per_mib(c)
            if a is not None and b:
                self.target("pin + map / copying once, %s pages" % label,
                            "<= %g" % lim, "%.3f" % (a / b), a / b <= lim)

    def wake(self):
        r = next((r for r in self.guest if r.get("part") == "wake"), None)
        if not r:
            return
        self.p("## Lost wakeups")
        self.p()
        self.p("A lossless bare stream of 8-byte records through a 4 KiB "
               "ring, woken for every record (wake_records 1), so that both "
               "sides sleep often: the consumer for data, the device for "
               "room. A wait of 10 s of guest time that ends with nothing "
               "would be a lost wakeup.")
        self.p()
        self.table(["records", "waits", "wakeups", "room wakeups (kicks)",
                    "timed out", "records wrong or missing",
                    "%s per record" % self.unit],
                   [[r["records"], r["waits"], r["wakeups"],
                     r["room_wakeups"], r["timeouts"], r["bad"],
                     r["ns"] / r["records"]]])
        ok = r["timeouts"] == 0 and r["bad"] == 0
        self.target("lost wakeups in a %s-record run" % fmt(r["records"]),
                    "0 in 10 000 000", "%d timed out, %d wrong"
                    % (r["timeouts"], r["bad"]),
                    ok and r["records"] >= 10000000)

    def edu_section(self):
        if not self.edu:
            return
        rows = [r for r in self.edu if r.get("part") == "edu"]
        if not rows:
            return
        self.p("## The edu device: interrupts per transfer batch")
        self.p()
        self.p("KUBUF_DEV_COPY on QEMU's edu device behind the emulated "
               "IOMMU: its DMA engine moves every byte (into its 4 KiB "
               "buffer, then out), at most 4095 bytes a transfer, two "
               "transfers a chunk, each ending in an interrupt; the "
               "processor copies none of them. The time a copy takes is "
               "the model's (QEMU's edu completes a transfer about 100 ms "
               "of guest time after it starts), not a cost, so it is not "
               "shown.")
        self.p()
        self.table(["into", "bytes", "transfers", "interrupts",
                    "interrupts per transfer", "interrupts per KiB"],
                   [[r["into"], r["bytes"], r["transfers"], r["irqs"],
                     r["irqs"] / r["transfers"] if r["transfers"] else None,
                     r["irqs"] / (r["bytes"] / 1024.0)] for r in rows])

    def ring_section(self):
        if not self.ring:
            return
        self.p("## The ring alone, natively")
        self.p()
        self.p(self.ring.get("conditions", "") + ".")
        self.p()
        rows = []
        for r in self.ring["results"]:
            rows.append([size_name(r["size"]), r["design"],
                         "single" if r["burst"] == 1 else
                         "burst %d" % r["burst"],
                         r["records_per_s"] / 1e6, r["bytes_per_s"] / 1e6,
                         100 * r["memcpy_fraction"],
                         r.get("instructions_per_record")])
        self.table(["size", "design", "mode", "Mrecords/s", "MB/s",
                    "% of memcpy", "instructions/record"], rows,
                   ["---:", "---", "---"] + ["---:"] * 4)
        for t in self.ring.get("targets", []):
            self.target("ring alone: " + t["what"], t["target"],
                        t["result"], t["met"])

    def target_table(self):
        self.p("## Targets")
        self.p()
        met = sum(t["met"] for t in self.targets)
        self.p("%d met, %d missed." % (met, len(self.targets) - met))
        self.p()
        self.table(["target", "wanted", "result", ""],
                   [[t["what"], t["target"], t["result"],
                     "met" if t["met"] else "MISSED"]
                    for t in self.targets],
                   ["---", "---:", "---:", "---"])

    # --- plots -----------------------------------------------------------
    def plots(self):
        if not shutil.which("gnuplot"):
            print("report: no gnuplot: no plots (apt-get install "
                  "gnuplot-nox)", file=sys.stderr)
            return []
        made = []
        if self.stream:
            made += self.plot("stream-instructions",
                              "Whole path: %s per record" % self.unit,
                              "%s per record" % self.unit, DESIGNS,
                              lambda d, s: self.cost(d, s), SIZES)
            made += self.plot("stream-throughput",
                              "Whole path: MB/s of guest time",
                              "MB/s (guest time)", DESIGNS,
                              self.guest_mbps, SIZES)
        if self.ring:
            rr = {}
            for r in self.ring["results"]:
                name = "%s %s" % (r["design"], "single" if r["burst"] == 1
                                  else "burst %d" % r["burst"])
                rr[(name, r["size"])] = r
            names = sorted({k[0] for k in rr})
            rsizes = sorted({k[1] for k in rr})
            made += self.plot("ring-throughput",
                              "Ring alone, two threads: records/s",
                              "Mrecords/s", names,
                              lambda d, s: rr[(d, s)]["records_per_s"] / 1e6
                              if (d, s) in rr else None, rsizes)
            made += self.plot("ring-instructions",
                              "Ring alone: instructions per record "
                              "(callgrind)", "instructions per record",
                              names,
                              lambda d, s: rr[(d, s)].get(
                                  "instructions_per_record")
                              if (d, s) in rr else None, rsizes)
        return made

    def plot(self, name, title, ylabel, designs, fn, sizes):
        dat = os.path.join(self.dir, name + ".dat")
        with open(dat, "w") as f:
            f.write("# size " + " ".join(d.replace(" ", "_")
                                         for d in designs) + "\n")
            for s in sizes:
                vals = []
                for d in designs:
                    v = fn(d, s)
                    vals.append("NaN" if v is None or v <= 0 else repr(v))
                f.write("%d %s\n" % (s, " ".join(vals)))
        png = os.path.join(self.dir, name + ".png")
        cmds = ["set terminal pngcairo size 900,560 noenhanced",
                "set output '%s'" % png, "set title '%s'" % title,
                "set logscale xy", "set xlabel 'record size (bytes)'",
                "set ylabel '%s'" % ylabel, "set key outside right",
                "set grid", "set xtics (%s)" % ", ".join(
                    "'%s' %d" % (size_name(s), s) for s in sizes)]
        cmds.append("plot " + ", ".join(
            "'%s' using 1:%d with linespoints title '%s'"
            % (dat, i + 2, d) for i, d in enumerate(designs)))
        res = subprocess.run(["gnuplot"], input="\n".join(cmds) + "\n",
                             text=True, capture_output=True)
        if res.returncode:
            print("report: gnuplot failed for %s: %s" % (name, res.stderr),
                  file=sys.stderr)
            return []
        return [name + ".png"]

    def write(self):
        self.stream_targets()
        body, self.md = self.md, []
        self.conditions()
        head = self.md
        self.md = []
        self.stream_tables()
        self.commands()
        self.setup()
        self.wake()
        self.edu_section()
        self.ring_section()
        sections = self.md
        self.md = []
        self.target_table()
        targets = self.md
        pngs = self.plots()
        self.md = head + targets + sections + body
        if pngs:
            self.p("## Plots")
            self.p()
            for png in pngs:
                self.p("![%s](%s)" % (png[:-4], png))
            self.p()
        with open(os.path.join(self.dir, "bench.md"), "w") as f:
            f.write("\n".join(self.md).rstrip() + "\n")
        with open(os.path.join(self.dir, "bench.json"), "w") as f:
            json.dump({"env": self.env, "guest": self.guest,
                       "edu": self.edu, "ring": self.ring,
                       "targets": self.targets}, f, indent=1)
        met = sum(t["met"] for t in self.targets)
        print("report: %s/bench.md, bench.json%s: %d targets met, %d missed"
              % (self.dir, "".join(", " + p for p in pngs), met,
                 len(self.targets) - met))


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    Report(sys.argv[1]).write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
