# SPDX-License-Identifier: MIT
#
# kubuf: top-level build.
#
#   make             the library, the kubuf program, the test programs, and
#                    the module when the running kernel's headers exist
#   make test        install what is missing, build, run every test: host
#                    unit tests, the install (tests/install/run.sh), and
#                    the whole suite in each kernel of the main and edu
#                    sets of tests/vm/kernels.conf under QEMU
#   make test-debug  the whole suite in the debug kernel (KASAN, lockdep,
#                    kmemleak, fault injection), built from Debian's
#                    linux-source first unless cached
#   make test-storm  the whole suite in 6.12 with a handled signal every
#                    millisecond in every test process
#   make test-edu    the edu lanes of make test alone: the whole suite
#                    with a real DMA device, QEMU's edu (kernel/edu/),
#                    behind an IOMMU (6.1, 6.12) and with bounce buffers
#                    (6.12); and the runner's self-test there, with a DMA
#                    into unmapped memory that must fail its test
#   make fuzz        the fuzzer alone, for long, in the debug kernel:
#                    SECONDS=1800 PROCS=4 SEED=(random) LANE=debug
#   make demo        install what is missing, build, run `kubuf demo` in a VM
#   make demo-pci    the same on a real DMA device: `kubuf demo` on QEMU's
#                    edu PCI device (/dev/kubuf-edu0) behind an IOMMU
#   make stream      `kubuf stream $(ARGS)` in a VM (LANE=6.12): a million
#                    records through a ring, every one checked
#   make module      the module only (KDIR=... for another kernel)
#   make install     everything: the module (for the kernel of KDIR) and
#                    what make install-user installs
#   make install-user the library, headers, pkg-config file, program, man
#                    pages, udev rule and sysusers entry: no kernel headers
#   make uninstall   remove what either installed (same variables)
#   make deb         the Debian packages in build/deb/, lintian-clean
#   make test-packages (root) build them, install them here (DKMS builds
#                    the module for each kernel), run README's example
#                    against them and in guests on DKMS's modules, remove
#   make check       checkpatch and sparse on the module (developers)
#   make bench       every benchmark (bench/README.md): the ring alone
#                    natively against ck_ring and DPDK's rte_ring, the
#                    whole path in a guest against read(), UCOPY and the
#                    BPF ring buffer, setup costs, a 10-million-record
#                    lost-wakeup run, the edu device; writes
#                    bench/results/bench.{md,json} and plots (minutes)
#   make bench-quick the same at small counts (a few minutes; CI runs it,
#                    so that the benchmarks cannot rot)
#   make bench-ring  the ring alone only: bench/results/ring.{md,json}
#
# Variables: PREFIX (/usr/local), LIBDIR, INCLUDEDIR, BINDIR, MANDIR,
# DESTDIR (a staging root: nothing then runs on the host, no depmod, no
# ldconfig), KDIR (the kernel tree the module is built for), CC, CFLAGS,
# CPPFLAGS, LDFLAGS (Debian's hardening flags reach every link), and
# WERROR=1 (warnings are errors; what make test and make check use).

VERSION   := 0.1.0
PREFIX    ?= /usr/local
LIBDIR    ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
# udev, systemd-modules-load and systemd-sysusers read /usr/lib/X.d for a
# distribution's files and /etc/X.d for the administrator's: a PREFIX=/usr
# install is a package's, anything else a local one.
SYSDIR    ?= $(if $(filter /usr,$(PREFIX)),/usr/lib,/etc)
UDEVRULESDIR   ?= $(SYSDIR)/udev/rules.d
MODULESLOADDIR ?= $(SYSDIR)/modules-load.d
SYSUSERSDIR    ?= $(SYSDIR)/sysusers.d
KDIR      ?= /lib/modules/$(shell uname -r)/build
B         := build

CC        ?= cc
WERROR    ?= 0
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter $(if $(filter 1,$(WERROR)),-Werror)
CFLAGS    ?= -O2 -g
# The project's own preprocessor flags, kept apart from the user's CPPFLAGS
# so that setting those on the command line adds to them: the ABI
# (<linux/kubuf.h>, <linux/kubuf_ring.h>), the ring's implementation the
# module shares (<kubuf/ring.h>), libkubuf's API (<kubuf.h>).
KUBUF_CPPFLAGS := -Iinclude/uapi -Iinclude -Ilib/include -D_GNU_SOURCE \
             -DKUBUF_VERSION='"$(VERSION)"'
SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
# Every compile and link below: the project's flags, then the user's.
COMPILE   := $(CC) $(KUBUF_CPPFLAGS) $(CPPFLAGS) $(WARN)

LIB_SRC   := $(wildcard lib/src/*.c)
GUEST_SRC := $(wildcard tests/guest/*.c)
FUZZ_SRC  := $(wildcard tests/guest/fuzz/*.c)
HOST_SRC  := $(wildcard tests/host/*.c)
TOOL_SRC  := $(wildcard tools/*.c)
HDRS      := $(wildcard include/uapi/linux/*.h) include/kubuf/ring.h \
             lib/include/kubuf.h \
             $(wildcard lib/src/*.h) $(wildcard tests/guest/*.h) \
             $(wildcard tests/guest/fuzz/*.h) $(wildcard tools/*.h)

LIB_OBJ   := $(patsubst lib/src/%.c,$(B)/lib/%.o,$(LIB_SRC))
LIB_PIC   := $(patsubst lib/src/%.c,$(B)/lib/%.pic.o,$(LIB_SRC))
GUEST_BIN := $(patsubst tests/guest/%.c,$(B)/guest/%,$(GUEST_SRC)) \
             $(B)/guest/t_fuzz $(B)/guest/kubuf $(B)/guest/kubuf-example
HOST_BIN  := $(patsubst tests/host/%.c,$(B)/host/%,$(HOST_SRC))
# The ring's two-thread test, also under ThreadSanitizer and uninstrumented.
HOST_BIN  += $(B)/host/test_ring-tsan $(B)/host/test_ring-plain

all: userspace $(if $(wildcard $(KDIR)/Makefile),module,module-skip)

userspace: $(B)/lib/libkubuf.a $(B)/lib/libkubuf.so $(B)/kubuf \
           $(GUEST_BIN) $(HOST_BIN)

# Everything compiled depends on the flags it was compiled with: building
# again with other CFLAGS, LDFLAGS or WERROR rebuilds it all.
FLAGS_NOW := $(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) WERROR=$(WERROR)
$(B)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
HDRS      += $(B)/flags

# --- library -------------------------------------------------------------
$(B)/lib/%.o: lib/src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) -fvisibility=hidden -c -o $@ $<

$(B)/lib/%.pic.o: lib/src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) -fvisibility=hidden -fPIC -c -o $@ $<

$(B)/lib/libkubuf.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

# Exported: exactly the functions lib/libkubuf.map lists, checked here (a
# KUBUF_API function missing from the list, or a name listed and gone).
$(B)/lib/libkubuf.so: $(LIB_PIC) lib/libkubuf.map
	$(CC) $(CFLAGS) -shared -Wl,-soname,libkubuf.so.1 \
		-Wl,--version-script=lib/libkubuf.map $(LDFLAGS) -o $@.tmp \
		$(LIB_PIC)
	@nm -D --defined-only $@.tmp | awk '$$2 == "T" { print $$3 }' | \
		sed 's/@.*//' | sort > $@.exported
	@sed -n 's/^\t\t\(kubuf_[a-z0-9_]*\);$$/\1/p' lib/libkubuf.map | \
		sort > $@.listed
	@diff -u $@.listed $@.exported > $@.diff || { cat $@.diff; \
		echo "libkubuf.so: exports differ from lib/libkubuf.map" >&2; \
		rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@

# --- the kubuf program ---------------------------------------------------
$(B)/kubuf: $(TOOL_SRC) $(B)/lib/libkubuf.a $(HDRS)
	$(COMPILE) $(CFLAGS) $(LDFLAGS) -o $@ $(TOOL_SRC) $(B)/lib/libkubuf.a \
		-pthread

# --- programs that run in the test guests: static, no dependencies --------
$(B)/guest/%: tests/guest/%.c $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) $(LDFLAGS) -static -o $@ $< \
		$(B)/lib/libkubuf.a -pthread

# The fuzzer: a directory of files, one per area of operations.
$(B)/guest/t_fuzz: $(FUZZ_SRC) $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) $(LDFLAGS) -static -o $@ $(FUZZ_SRC) \
		$(B)/lib/libkubuf.a -pthread

# README's example program, as an application builds it (t_stream runs it).
$(B)/guest/kubuf-example: examples/stream.c $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) $(LDFLAGS) -static -o $@ $< $(B)/lib/libkubuf.a

$(B)/guest/kubuf: $(TOOL_SRC) $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) $(LDFLAGS) -static -o $@ $(TOOL_SRC) \
		$(B)/lib/libkubuf.a -pthread

# --- host unit tests: the library's sources, under ASan and UBSan ----------
$(B)/host/%: tests/host/%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) -Itests/guest -O1 -g $(SAN) $(LDFLAGS) -o $@ $< \
		$(LIB_SRC) -pthread

# The program's helpers that need no device.
$(B)/host/test_tools: tests/host/test_tools.c tools/parse.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) -Itests/guest -Itools -O1 -g $(SAN) $(LDFLAGS) -o $@ $< \
		tools/parse.c $(LIB_SRC) -pthread

# ThreadSanitizer checks the ring's barriers (at half the records: slower).
$(B)/host/%-tsan: tests/host/%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) -Itests/guest -O1 -g -fsanitize=thread \
		-DKUBUF_TEST_SCALE=50 $(LDFLAGS) -o $@ $< $(LIB_SRC) -pthread

# Uninstrumented and optimized: other timings, other interleavings.
$(B)/host/%-plain: tests/host/%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) -Itests/guest -O2 -g $(LDFLAGS) -o $@ $< \
		$(LIB_SRC) -pthread

# --- the module ----------------------------------------------------------
module:
	$(MAKE) -C kernel KDIR=$(KDIR)

module-skip:
	@echo "note: no kernel headers at $(KDIR): module not built" \
	      "(install linux-headers-$$(uname -r), or make module KDIR=...)"

# --- tests and demo --------------------------------------------------------
setup:
	bash scripts/setup.sh

test: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --set main,edu --host-tests $(B)/host \
		--install-tests --self-test

test-debug: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --set debug

test-storm: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --set storm

test-edu: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --set edu --self-test

# The time bound and the rest reach the fuzzer through the kernel
# command line; its seed and operation counts end the output.
SECONDS ?= 1800
PROCS   ?= 4
fuzz: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --lane $(or $(LANE),debug) --filter t_fuzz/fuzz \
		--guest-env KUBUF_FUZZ_SECONDS=$(SECONDS) \
		--guest-env KUBUF_FUZZ_PROCS=$(PROCS) \
		$(if $(SEED),--guest-env KUBUF_FUZZ_SEED=$(SEED)) \
		--test-timeout $$(($(SECONDS) + 300)) \
		--guest-timeout $$(($(SECONDS) + 900))

demo: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --mode demo

# The demo on the edu device (kernel/edu/): every byte by its DMA engine.
demo-pci: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --set edu --lane 6.12-edu-iommu \
		--run '--device /dev/kubuf-edu0 demo'

# `kubuf stream $(ARGS)` in a guest: by default a million records, checked.
stream: setup
	$(MAKE) userspace WERROR=1
	bash tests/vm/run.sh --lane $(or $(LANE),6.12) --run 'stream $(ARGS)' \
		--guest-timeout 3600

# --- developers' checks: checkpatch and sparse on every kernel -------------
check: setup
	bash scripts/check.sh

# --- installation ----------------------------------------------------------
# What make install-user puts where, as MODE:SOURCE:DESTINATION (under
# DESTDIR): the one list both install-user and uninstall read.
MAN_PAGES  := $(wildcard man/*.[1-9])
USER_FILES := \
	0644:include/uapi/linux/kubuf.h:$(INCLUDEDIR)/linux/kubuf.h \
	0644:include/uapi/linux/kubuf_ring.h:$(INCLUDEDIR)/linux/kubuf_ring.h \
	0644:lib/include/kubuf.h:$(INCLUDEDIR)/kubuf.h \
	0644:$(B)/lib/libkubuf.a:$(LIBDIR)/libkubuf.a \
	0755:$(B)/lib/libkubuf.so:$(LIBDIR)/libkubuf.so.1 \
	0644:$(B)/kubuf.pc:$(LIBDIR)/pkgconfig/kubuf.pc \
	0755:$(B)/kubuf:$(BINDIR)/kubuf \
	0644:packaging/70-kubuf.rules:$(UDEVRULESDIR)/70-kubuf.rules \
	0644:packaging/kubuf-sysusers.conf:$(SYSUSERSDIR)/kubuf.conf \
	$(foreach m,$(MAN_PAGES),0644:$m:$(MANDIR)/man$(subst .,,$(suffix $m))/$(notdir $m))
MODULE_FILES := \
	0644:packaging/kubuf-modules-load.conf:$(MODULESLOADDIR)/kubuf.conf
field = $(word $1,$(subst :, ,$2))
# $(call install_files,LIST)
install_files = $(foreach f,$1,install -D -m $(call field,1,$f) \
	$(call field,2,$f) $(DESTDIR)$(call field,3,$f) &&) :
# $(call uninstall_files,LIST)
uninstall_files = rm -f $(foreach f,$1,$(DESTDIR)$(call field,3,$f))
# On the system itself, not in a staging root: make what was installed
# take effect.
on_system = $(if $(DESTDIR),@:,$1)

# The library and the program alone, without the test programs.
user: $(B)/lib/libkubuf.a $(B)/lib/libkubuf.so $(B)/kubuf

# Made at install time, for the PREFIX and LIBDIR of the install.
$(B)/kubuf.pc: lib/kubuf.pc.in FORCE
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' $< > $@

install: install-module install-user

install-module: module
	$(MAKE) -C kernel KDIR=$(KDIR) INSTALL_MOD_PATH=$(DESTDIR) install
	$(call install_files,$(MODULE_FILES))

install-user: user $(B)/kubuf.pc
	$(call install_files,$(USER_FILES))
	ln -sf libkubuf.so.1 $(DESTDIR)$(LIBDIR)/libkubuf.so
	$(call on_system,ldconfig)
	$(call on_system,! command -v systemd-sysusers > /dev/null || \
		systemd-sysusers $(SYSUSERSDIR)/kubuf.conf)

# The group stays: files and users may still name it.
uninstall: uninstall-user $(if $(wildcard $(KDIR)/Makefile),uninstall-module)

uninstall-module:
	$(MAKE) -C kernel KDIR=$(KDIR) INSTALL_MOD_PATH=$(DESTDIR) uninstall
	$(call uninstall_files,$(MODULE_FILES))

uninstall-user:
	$(call uninstall_files,$(USER_FILES))
	rm -f $(DESTDIR)$(LIBDIR)/libkubuf.so
	$(call on_system,ldconfig)

# --- Debian packages (debian/) ----------------------------------------------
# make deb: kubuf-dkms, libkubuf1, libkubuf-dev and kubuf-tools in
# build/deb/, checked by lintian. make test-packages (root): that, then
# installs them here, checks DKMS's builds and the example against the
# installed library, boots the lanes with DKMS's modules, and removes
# them (tests/packages/run.sh).
deb:
	bash tests/packages/run.sh --build-only

test-packages: setup
	bash tests/packages/run.sh

# --- benchmarks (bench/README.md) ------------------------------------------
# The peers come from Debian; valgrind gives the instruction counts.
BENCH_PKGS := libck-dev libdpdk-dev valgrind pkg-config clang libbpf-dev \
	      libelf-dev zlib1g-dev libzstd-dev gnuplot-nox python3
BENCH_RING_SRC := $(filter-out bench/ring/rte.c,$(wildcard bench/ring/*.c))
BENCH_RING_HDR := $(wildcard bench/ring/*.h) include/kubuf/ring.h \
             include/uapi/linux/kubuf_ring.h $(B)/flags
BENCH_RESULTS ?= bench/results

# DPDK's flags (its -march among them) reach only the file that uses it.
$(B)/bench/rte.o: bench/ring/rte.c $(BENCH_RING_HDR)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) -O2 $$(pkg-config --cflags libdpdk) -c -o $@ $<

$(B)/bench/ringbench: $(BENCH_RING_SRC) $(B)/bench/rte.o $(BENCH_RING_HDR) \
		     $(B)/lib/libkubuf.a
	$(COMPILE) $(CFLAGS) -O2 $(LDFLAGS) -o $@ $(BENCH_RING_SRC) \
		$(B)/bench/rte.o $(B)/lib/libkubuf.a -lrte_ring -lrte_eal \
		-pthread

# The guest's benchmark (bench/guest/): static, with libbpf for the BPF
# ring buffer it is measured against.
BENCH_GUEST_SRC := bench/guest/gbench.c bench/guest/bpfrb.c
$(B)/bench/rb.bpf.o: bench/guest/rb.bpf.c
	@mkdir -p $(@D)
	clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c -o $@ $<

$(B)/guest/kubuf-bench: $(BENCH_GUEST_SRC) bench/guest/bpfrb.h \
		       $(B)/bench/rb.bpf.o $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(COMPILE) $(CFLAGS) $(LDFLAGS) -static -Ibench/guest \
		-DBPFRB_OBJ='"$(B)/bench/rb.bpf.o"' -o $@ $(BENCH_GUEST_SRC) \
		$(B)/lib/libkubuf.a -lbpf -lelf -lz -lzstd

bench-setup:
	bash scripts/setup.sh $(BENCH_PKGS)

bench-ring: bench-setup
	$(MAKE) $(B)/bench/ringbench
	$(B)/bench/ringbench --out $(BENCH_RESULTS)

# Everything (bench/run.sh): the ring alone natively, the whole path in a
# guest against read(), UCOPY and the BPF ring buffer, the edu device;
# then bench/results/bench.{md,json} and the plots.
bench: setup bench-setup
	bash bench/run.sh --out $(BENCH_RESULTS)

bench-quick: setup bench-setup
	bash bench/run.sh --quick --out $(BENCH_RESULTS)

clean:
	rm -rf $(B)
	$(MAKE) -C kernel clean

FORCE:

.PHONY: all userspace user module module-skip setup test test-debug \
	test-storm test-edu fuzz demo demo-pci stream check install install-module \
	install-user uninstall uninstall-module uninstall-user bench-setup \
	deb test-packages \
	bench bench-ring bench-quick clean FORCE
