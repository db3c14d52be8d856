# SPDX-License-Identifier: MIT
#
# kubuf: top-level build.
#
#   make             the library, the kubuf program, the test programs, and
#                    the module when the running kernel's headers exist
#   make test        install what is missing, build, run every test: host
#                    unit tests and the whole suite in each kernel of the
#                    main set of tests/vm/kernels.conf under QEMU
#   make test-debug  the whole suite in the debug kernel (KASAN, lockdep,
#                    kmemleak, fault injection), built from Debian's
#                    linux-source first unless cached
#   make test-storm  the whole suite in 6.12 with a handled signal every
#                    millisecond in every test process
#   make fuzz        the fuzzer alone, for long, in the debug kernel:
#                    SECONDS=1800 PROCS=4 SEED=(random) LANE=debug
#   make demo        install what is missing, build, run `kubuf demo` in a VM
#   make stream      `kubuf stream $(ARGS)` in a VM (LANE=6.12): a million
#                    records through a ring, every one checked
#   make module      the module only (KDIR=... for another kernel)
#   make install     install module, library, header and program (as root)
#   make check       checkpatch and sparse on the module (developers)

VERSION   := 0.1.0
PREFIX    ?= /usr/local
LIBDIR    ?= $(PREFIX)/lib
KDIR      ?= /lib/modules/$(shell uname -r)/build
B         := build

CC        ?= cc
WARN      := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter -Werror
CFLAGS    ?= -O2 -g
CPPFLAGS  += -Iinclude/uapi -Ilib/include -D_GNU_SOURCE
SAN       := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer

LIB_SRC   := $(wildcard lib/src/*.c)
GUEST_SRC := $(wildcard tests/guest/*.c)
FUZZ_SRC  := $(wildcard tests/guest/fuzz/*.c)
HOST_SRC  := $(wildcard tests/host/*.c)
TOOL_SRC  := $(wildcard tools/*.c)
HDRS      := $(wildcard include/uapi/linux/*.h) lib/include/kubuf.h \
             $(wildcard lib/src/*.h) $(wildcard tests/guest/*.h) \
             $(wildcard tests/guest/fuzz/*.h) $(wildcard tools/*.h)

LIB_OBJ   := $(patsubst lib/src/%.c,$(B)/lib/%.o,$(LIB_SRC))
LIB_PIC   := $(patsubst lib/src/%.c,$(B)/lib/%.pic.o,$(LIB_SRC))
GUEST_BIN := $(patsubst tests/guest/%.c,$(B)/guest/%,$(GUEST_SRC)) \
             $(B)/guest/t_fuzz $(B)/guest/kubuf
HOST_BIN  := $(patsubst tests/host/%.c,$(B)/host/%,$(HOST_SRC))
# The ring's two-thread test, also under ThreadSanitizer and uninstrumented.
HOST_BIN  += $(B)/host/test_ring-tsan $(B)/host/test_ring-plain

all: userspace $(if $(wildcard $(KDIR)/Makefile),module,module-skip)

userspace: $(B)/lib/libkubuf.a $(B)/lib/libkubuf.so $(B)/lib/kubuf.pc \
           $(B)/kubuf $(GUEST_BIN) $(HOST_BIN)

# --- library -------------------------------------------------------------
$(B)/lib/%.o: lib/src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -fvisibility=hidden -c -o $@ $<

$(B)/lib/%.pic.o: lib/src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -fvisibility=hidden -fPIC -c -o $@ $<

$(B)/lib/libkubuf.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

$(B)/lib/libkubuf.so: $(LIB_PIC) lib/libkubuf.map
	$(CC) -shared -Wl,-soname,libkubuf.so.1 \
		-Wl,--version-script=lib/libkubuf.map -o $@ $(LIB_PIC)

$(B)/lib/kubuf.pc: lib/kubuf.pc.in Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' $< > $@

# --- the kubuf program ---------------------------------------------------
$(B)/kubuf: $(TOOL_SRC) $(B)/lib/libkubuf.a $(HDRS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $(TOOL_SRC) $(B)/lib/libkubuf.a \
		-pthread

# --- programs that run in the test guests: static, no dependencies --------
$(B)/guest/%: tests/guest/%.c $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -static -o $@ $< \
		$(B)/lib/libkubuf.a -pthread

# The fuzzer: a directory of files, one per area of operations.
$(B)/guest/t_fuzz: $(FUZZ_SRC) $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -static -o $@ $(FUZZ_SRC) \
		$(B)/lib/libkubuf.a -pthread

$(B)/guest/kubuf: $(TOOL_SRC) $(B)/lib/libkubuf.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -static -o $@ $(TOOL_SRC) \
		$(B)/lib/libkubuf.a -pthread

# --- host unit tests: the library's sources, under ASan and UBSan ----------
$(B)/host/%: tests/host/%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/guest -O1 -g $(WARN) $(SAN) -o $@ $< \
		$(LIB_SRC) -pthread

# ThreadSanitizer checks the ring's barriers (at half the records: slower).
$(B)/host/%-tsan: tests/host/%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/guest -O1 -g $(WARN) -fsanitize=thread \
		-DKUBUF_TEST_SCALE=50 -o $@ $< $(LIB_SRC) -pthread

# Uninstrumented and optimized: other timings, other interleavings.
$(B)/host/%-plain: tests/host/%.c $(LIB_SRC) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/guest -O2 -g $(WARN) -o $@ $< \
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
	$(MAKE) userspace
	bash tests/vm/run.sh --host-tests $(B)/host --self-test

test-debug: setup
	$(MAKE) userspace
	bash tests/vm/run.sh --set debug

test-storm: setup
	$(MAKE) userspace
	bash tests/vm/run.sh --set storm

# The time bound and the rest reach the fuzzer through the kernel
# command line; its seed and operation counts end the output.
SECONDS ?= 1800
PROCS   ?= 4
fuzz: setup
	$(MAKE) userspace
	bash tests/vm/run.sh --lane $(or $(LANE),debug) --filter t_fuzz/fuzz \
		--guest-env KUBUF_FUZZ_SECONDS=$(SECONDS) \
		--guest-env KUBUF_FUZZ_PROCS=$(PROCS) \
		$(if $(SEED),--guest-env KUBUF_FUZZ_SEED=$(SEED)) \
		--test-timeout $$(($(SECONDS) + 300)) \
		--guest-timeout $$(($(SECONDS) + 900))

demo: setup
	$(MAKE) userspace
	bash tests/vm/run.sh --mode demo

# `kubuf stream $(ARGS)` in a guest: by default a million records, checked.
stream: setup
	$(MAKE) userspace
	bash tests/vm/run.sh --lane $(or $(LANE),6.12) --run 'stream $(ARGS)' \
		--guest-timeout 3600

# --- developers' checks: checkpatch and sparse on every kernel -------------
check: setup
	bash scripts/check.sh

# --- installation ----------------------------------------------------------
install: all
	$(MAKE) -C kernel KDIR=$(KDIR) install
	install -D -m 0644 include/uapi/linux/kubuf.h $(DESTDIR)$(PREFIX)/include/linux/kubuf.h
	install -D -m 0644 include/uapi/linux/kubuf_ring.h $(DESTDIR)$(PREFIX)/include/linux/kubuf_ring.h
	install -D -m 0644 lib/include/kubuf.h $(DESTDIR)$(PREFIX)/include/kubuf.h
	install -D -m 0644 $(B)/lib/libkubuf.a $(DESTDIR)$(LIBDIR)/libkubuf.a
	install -D -m 0755 $(B)/lib/libkubuf.so $(DESTDIR)$(LIBDIR)/libkubuf.so.1
	ln -sf libkubuf.so.1 $(DESTDIR)$(LIBDIR)/libkubuf.so
	install -D -m 0644 $(B)/lib/kubuf.pc $(DESTDIR)$(LIBDIR)/pkgconfig/kubuf.pc
	install -D -m 0755 $(B)/kubuf $(DESTDIR)$(PREFIX)/bin/kubuf
	install -D -m 0644 packaging/70-kubuf.rules $(DESTDIR)/etc/udev/rules.d/70-kubuf.rules
	-ldconfig

clean:
	rm -rf $(B)
	-$(MAKE) -C kernel KDIR=$(KDIR) clean 2>/dev/null

.PHONY: all userspace module module-skip setup test test-debug test-storm \
	fuzz demo stream check install clean
