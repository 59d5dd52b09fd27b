# The intercom: base unit, device agents, dashboard, broker configuration.
#   make            build every program into build/
#   make test       install missing packages, run every test
#   make check      the tests again, built with ASan and UBSan
#   make demo       run the whole system locally
#   make fuzz       run the fuzz targets for a bounded time (FUZZ_SECONDS)
#   make bench      benchmarks (bench/)
#   make install    programs, units, examples, man pages (PREFIX, DESTDIR)
#   make deb        Debian packages (DEB_ARCH=armhf|arm64 for the Raspberry Pis)
#   make cross      the agents for a Raspberry Pi (ARCH=armhf|arm64), tested under qemu
#   make vm         the packages under a real systemd in a virtual machine

# CROSS=arm-linux-gnueabihf- (a Raspberry Pi 2B) or aarch64-linux-gnu- (a 4B):
# Debian's cross compiler, and the libraries of that architecture (multiarch,
# e.g. libmosquitto-dev:armhf) found through its pkg-config.
CROSS   ?=
ifneq ($(CROSS),)
CC          := $(CROSS)gcc
AR          := $(CROSS)ar
PKG_CONFIG  := $(CROSS)pkg-config
endif
CC      ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla \
           -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -MMD -MP \
           -Iclients/intercom -Iclients/common
LDLIBS  ?=
BUILD   ?= build
SAN     ?=
ifneq ($(SAN),)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

ifeq ($(V),)
Q := @
else
Q :=
endif

LIB_IC_SRC  := $(wildcard clients/intercom/*.c)
LIB_COM_SRC := $(wildcard clients/common/*.c)
BASE_SRC    := $(wildcard base-unit/*.c)
READ_SRC    := $(wildcard clients/read-unit/*.c)
UPD_SRC     := $(wildcard clients/updatable-unit/*.c)
CAM_SRC     := $(wildcard clients/camera-unit/*.c)
DASH_SRC    := $(wildcard dashboard/*.c)
UNIT_SRC    := $(wildcard tests/unit/*.c) base-unit/config.c base-unit/commands.c base-unit/frames.c base-unit/multipart.c base-unit/motion.c \
               clients/updatable-unit/controls.c clients/updatable-unit/gpio.c base-unit/outage.c \
               dashboard/parse.c dashboard/auth.c dashboard/settings.c dashboard/store.c dashboard/store_messages.c dashboard/model.c dashboard/events.c dashboard/metrics.c \
               dashboard/recorder.c dashboard/recorder_db.c dashboard/recorder_read.c

# The bridge tests: the base unit's own files but its loop, its MQTT session
# and its UDP sockets, with tests/unit/bridge/stubs.c in their place.
BRIDGE_TEST_SRC := $(wildcard tests/unit/bridge/*.c) tests/unit/runner.c \
               $(filter-out base-unit/main.c base-unit/mqtt.c base-unit/udp.c,$(BASE_SRC))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_IC  := $(BUILD)/libintercom.a
LIB_COM := $(BUILD)/libcommon.a
PROGRAMS := $(BUILD)/base-unit $(BUILD)/read-unit $(BUILD)/updatable-unit $(BUILD)/camera-unit \
            $(BUILD)/dashboard
BROKER_PLUGIN := $(BUILD)/intercom-clientid.so
BENCH_TOOLS := $(BUILD)/loadgen $(BUILD)/mqttbench $(BUILD)/httpbench $(BUILD)/sitesim

CRYPTO_LIBS := -lmbedcrypto
# sd_notify (clients/common/service.c), in every program through libcommon
COM_LIBS    := -lsystemd

.PHONY: all programs test check demo fuzz bench deps deps-demo clean unit install uninstall deb cross vm
all: $(PROGRAMS) $(BROKER_PLUGIN) $(BUILD)/unit-tests $(BUILD)/bridge-tests $(BENCH_TOOLS)
# What is installed (make install, the Debian packages), and no more.
programs: $(PROGRAMS) $(BROKER_PLUGIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_IC): $(call obj,$(LIB_IC_SRC))
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIB_COM): $(call obj,$(LIB_COM_SRC))
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/base-unit: $(call obj,$(BASE_SRC)) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lmosquitto -lcurl -lssl -lcrypto -lcjson -lturbojpeg $(CRYPTO_LIBS) $(COM_LIBS) -lm $(LDLIBS)

$(BUILD)/read-unit: $(call obj,$(READ_SRC)) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CRYPTO_LIBS) $(COM_LIBS) -lm $(LDLIBS)

$(BUILD)/updatable-unit: $(call obj,$(UPD_SRC)) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lgpiod $(CRYPTO_LIBS) $(COM_LIBS) -lm $(LDLIBS)

$(BUILD)/camera-unit: $(call obj,$(CAM_SRC)) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lturbojpeg $(CRYPTO_LIBS) $(COM_LIBS) -lm $(LDLIBS)

$(BUILD)/dashboard: $(call obj,$(DASH_SRC)) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lmicrohttpd -lmosquitto -lsqlite3 -lssl -lcrypto -lcjson $(CRYPTO_LIBS) $(COM_LIBS) -lpthread -lm $(LDLIBS)

# The broker's plugin (broker-conf/clientid.c): loaded into Mosquitto, so
# never built with the sanitizers, whose runtime Mosquitto does not have (the
# build's own CFLAGS are left out for that; dpkg-buildflags' hardening comes
# back in through PLUGIN_EXTRA).
PLUGIN_CFLAGS := -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 \
                 -Wstrict-prototypes -fPIC -shared
$(BROKER_PLUGIN): broker-conf/clientid.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CPPFLAGS) $(PLUGIN_CFLAGS) $(PLUGIN_EXTRA) -o $@ $<

# Include paths per program: each sees its own headers, the protocol
# library's and the common ones, nothing of another program's.
$(BUILD)/obj/base-unit/%.o:              CFLAGS += -Ibase-unit
$(BUILD)/obj/dashboard/%.o:              CFLAGS += -Idashboard
$(BUILD)/obj/clients/read-unit/%.o:      CFLAGS += -Iclients/read-unit
$(BUILD)/obj/clients/updatable-unit/%.o: CFLAGS += -Iclients/updatable-unit
$(BUILD)/obj/clients/camera-unit/%.o:    CFLAGS += -Iclients/camera-unit
$(BUILD)/obj/tests/unit/%.o:             CFLAGS += -Ibase-unit -Iclients/updatable-unit -Idashboard
$(BUILD)/obj/tests/unit/bridge/%.o:      CFLAGS += -Ibase-unit -Itests/unit

# libgpiod changed its API at 2.0 (Debian 13); the version comes from pkg-config,
# read when the object is built (after make deps has installed it).
GPIOD_MAJOR = $(firstword $(subst ., ,$(shell $(PKG_CONFIG) --modversion libgpiod 2>/dev/null)))
$(BUILD)/obj/clients/updatable-unit/gpio.o: CFLAGS += $(if $(filter-out 0 1,$(GPIOD_MAJOR)),-DGPIOD_API_V2)

# One version, from the VERSION file, compiled into one object.
VERSION := $(shell cat VERSION)
$(BUILD)/obj/clients/common/version.o: CFLAGS += -DINTERCOM_VERSION='"$(VERSION)"'
$(BUILD)/obj/clients/common/version.o: VERSION

# The dashboard serves its files from the source tree unless its config says otherwise.
$(BUILD)/obj/dashboard/settings.o: CFLAGS += -DDASHBOARD_STATIC_DIR='"$(abspath dashboard/static)"'

$(BUILD)/unit-tests: $(call obj,$(UNIT_SRC)) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcjson -lgpiod -lturbojpeg -lsqlite3 $(CRYPTO_LIBS) $(COM_LIBS) -lpthread -lm $(LDLIBS)

$(BUILD)/bridge-tests: $(call obj,$(BRIDGE_TEST_SRC)) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcjson -lcurl -lturbojpeg $(CRYPTO_LIBS) $(COM_LIBS) -lm $(LDLIBS)

$(BUILD)/loadgen: $(call obj,bench/loadgen.c) $(LIB_COM) $(LIB_IC)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CRYPTO_LIBS) $(COM_LIBS) -lm $(LDLIBS)

$(BUILD)/httpbench: $(call obj,bench/httpbench.c)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/mqttbench: $(call obj,bench/mqttbench.c)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lmosquitto -lpthread $(LDLIBS)

$(BUILD)/sitesim: $(call obj,bench/sitesim.c)
	@echo "  LD  $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lmosquitto $(LDLIBS)

# Debian packages, installed only when missing: what the demo runs (deps-demo),
# and what the tests add to it (deps). mk/deps says which and why.
deps:
	$(Q)mk/deps test
deps-demo:
	$(Q)mk/deps demo

unit: $(BUILD)/unit-tests $(BUILD)/bridge-tests
	$(Q)$(BUILD)/unit-tests && $(BUILD)/bridge-tests

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tests/run-all

check: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/san SAN=1 CC=gcc all
	$(Q)BUILD=build/san ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 tests/run-all

demo: deps-demo
	$(Q)$(MAKE) --no-print-directory $(PROGRAMS) $(BROKER_PLUGIN)
	$(Q)tests/demo

FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -DINTERCOM_VERSION='"$(VERSION)"' \
               -Iclients/intercom -Iclients/common -Ibase-unit
fuzz: deps
	@mkdir -p $(BUILD)/fuzz/corpus $(BUILD)/fuzz/seeds
	$(Q)clang $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/fuzz-datagram tests/fuzz/fuzz_datagram.c \
	   $(LIB_IC_SRC) $(CRYPTO_LIBS) -lm
	@# seeds: every vector datagram, as the base unit and as a device would get it
	$(Q)grep '^dgram_' tests/vectors/intercom-v1.txt | while read -r name hex; do \
	   { printf '\000'; echo "$$hex" | xxd -r -p; } > $(BUILD)/fuzz/seeds/$$name-base; \
	   { printf '\001'; echo "$$hex" | xxd -r -p; } > $(BUILD)/fuzz/seeds/$$name-device; done
	$(Q)clang $(FUZZ_CFLAGS) -Ibase-unit -o $(BUILD)/fuzz/fuzz-set tests/fuzz/fuzz_set.c \
	   base-unit/commands.c $(LIB_IC_SRC) $(CRYPTO_LIBS) -lcjson -lm
	$(Q)clang $(FUZZ_CFLAGS) -Ibase-unit -o $(BUILD)/fuzz/fuzz-frames tests/fuzz/fuzz_frames.c \
	   base-unit/frames.c $(LIB_IC_SRC) $(CRYPTO_LIBS) -lturbojpeg -lm
	$(Q)clang $(FUZZ_CFLAGS) -Idashboard -DDASHBOARD_STATIC_DIR='"."' -o $(BUILD)/fuzz/fuzz-http tests/fuzz/fuzz_http.c \
	   dashboard/parse.c dashboard/store.c dashboard/store_messages.c dashboard/model.c dashboard/events.c dashboard/metrics.c dashboard/settings.c $(filter-out %/mqttlink.c %/mqtttls.c,$(LIB_COM_SRC)) $(LIB_IC_SRC) $(CRYPTO_LIBS) $(COM_LIBS) -lcjson -lpthread -lm
	$(Q)clang $(FUZZ_CFLAGS) -Ibase-unit -o $(BUILD)/fuzz/fuzz-multipart tests/fuzz/fuzz_multipart.c base-unit/multipart.c
	@mkdir -p $(BUILD)/fuzz/corpus-set $(BUILD)/fuzz/corpus-frames $(BUILD)/fuzz/corpus-http $(BUILD)/fuzz/corpus-multipart
	@echo "fuzzing the datagram path for $(FUZZ_SECONDS) s"
	$(Q)$(BUILD)/fuzz/fuzz-datagram -max_total_time=$(FUZZ_SECONDS) -max_len=1400 -print_final_stats=1 \
	   $(BUILD)/fuzz/corpus $(BUILD)/fuzz/seeds > $(BUILD)/fuzz/fuzz.log 2>&1; \
	   rc=$$?; tail -n 6 $(BUILD)/fuzz/fuzz.log; exit $$rc
	@echo "fuzzing frame reassembly for $(FUZZ_SECONDS) s"
	$(Q)$(BUILD)/fuzz/fuzz-frames -max_total_time=$(FUZZ_SECONDS) -max_len=20000 -print_final_stats=1 \
	   $(BUILD)/fuzz/corpus-frames > $(BUILD)/fuzz/fuzz-frames.log 2>&1; \
	   rc=$$?; tail -n 6 $(BUILD)/fuzz/fuzz-frames.log; exit $$rc
	@echo "fuzzing the dashboard's request and message parsing for $(FUZZ_SECONDS) s"
	$(Q)$(BUILD)/fuzz/fuzz-http -max_total_time=$(FUZZ_SECONDS) -max_len=6000 -print_final_stats=1 \
	   $(BUILD)/fuzz/corpus-http tests/fuzz/seeds-http > $(BUILD)/fuzz/fuzz-http.log 2>&1; \
	   rc=$$?; tail -n 6 $(BUILD)/fuzz/fuzz-http.log; exit $$rc
	@echo "fuzzing the MJPEG stream parser for $(FUZZ_SECONDS) s"
	$(Q)$(BUILD)/fuzz/fuzz-multipart -max_total_time=$(FUZZ_SECONDS) -max_len=8000 -print_final_stats=1 \
	   $(BUILD)/fuzz/corpus-multipart tests/fuzz/seeds-multipart > $(BUILD)/fuzz/fuzz-multipart.log 2>&1; \
	   rc=$$?; tail -n 6 $(BUILD)/fuzz/fuzz-multipart.log; exit $$rc
	@echo "fuzzing set payloads for $(FUZZ_SECONDS) s"
	$(Q)$(BUILD)/fuzz/fuzz-set -max_total_time=$(FUZZ_SECONDS) -max_len=5000 -print_final_stats=1 \
	   $(BUILD)/fuzz/corpus-set tests/fuzz/seeds-set > $(BUILD)/fuzz/fuzz-set.log 2>&1; \
	   rc=$$?; tail -n 6 $(BUILD)/fuzz/fuzz-set.log; exit $$rc

bench: deps all
	$(Q)bench/run

# --- make install [PREFIX=/usr/local] [DESTDIR=] [sysconfdir=...] ---------
# The usual directory variables, each overridable. With PREFIX=/usr the
# configuration goes to /etc and the state to /var (docs/install.md).
PREFIX        ?= /usr/local
prefix        ?= $(PREFIX)
exec_prefix   ?= $(prefix)
bindir        ?= $(exec_prefix)/bin
libdir        ?= $(exec_prefix)/lib
libexecdir    ?= $(exec_prefix)/libexec
datarootdir   ?= $(prefix)/share
datadir       ?= $(datarootdir)
mandir        ?= $(datarootdir)/man
docdir        ?= $(datarootdir)/doc/intercom
sysconfdir    ?= $(if $(filter /usr,$(prefix)),/etc,$(prefix)/etc)
localstatedir ?= $(if $(filter /usr,$(prefix)),/var,$(prefix)/var)
systemdunitdir ?= $(prefix)/lib/systemd/system
sysusersdir   ?= $(prefix)/lib/sysusers.d
pkgdatadir    := $(datadir)/intercom
pkglibdir     := $(libdir)/intercom
INSTALL       ?= install

SUBST = sed -e 's|@bindir@|$(bindir)|g' -e 's|@libexecdir@|$(libexecdir)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' \
	    -e 's|@localstatedir@|$(localstatedir)|g' -e 's|@pkgdatadir@|$(pkgdatadir)|g' \
	    -e 's|@pkglibdir@|$(pkglibdir)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e '/@HARDENING@/{r packaging/systemd/hardening.in' -e 'd;}'
UNITS    := intercom-base-unit.service intercom-dashboard.service intercom-agent@.service intercom-broker.service
EXAMPLES := base-unit dashboard read-unit updatable-unit camera-unit
MANPAGES := $(wildcard packaging/man/*.8)

POSTINSTALL   ?= yes
# Everything installed, under $(DESTDIR). A configuration already there is
# never overwritten; run as root into the real system (no DESTDIR), it also
# makes the intercom user (systemd-sysusers) and gives it the configurations
# (POSTINSTALL=no: not that).
install: $(PROGRAMS) $(BROKER_PLUGIN)
	$(INSTALL) -d $(DESTDIR)$(bindir) $(DESTDIR)$(libexecdir)/intercom $(DESTDIR)$(pkglibdir) $(DESTDIR)$(docdir) \
	   $(DESTDIR)$(pkgdatadir)/dashboard $(DESTDIR)$(pkgdatadir)/broker $(DESTDIR)$(systemdunitdir) \
	   $(DESTDIR)$(sysusersdir) $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(pkgdatadir)/examples
	for p in base-unit dashboard read-unit updatable-unit camera-unit; do \
	   $(INSTALL) -m 0755 $(BUILD)/$$p $(DESTDIR)$(bindir)/intercom-$$p || exit 1; done
	$(SUBST) broker-conf/setup-broker > $(DESTDIR)$(bindir)/intercom-setup-broker
	chmod 0755 $(DESTDIR)$(bindir)/intercom-setup-broker
	$(SUBST) packaging/agent.in > $(DESTDIR)$(libexecdir)/intercom/agent
	chmod 0755 $(DESTDIR)$(libexecdir)/intercom/agent
	$(INSTALL) -m 0644 $(BROKER_PLUGIN) $(DESTDIR)$(pkglibdir)/intercom-clientid.so
	$(INSTALL) -m 0644 broker-conf/mosquitto.conf $(DESTDIR)$(pkgdatadir)/broker/mosquitto.conf
	$(INSTALL) -m 0644 dashboard/static/* $(DESTDIR)$(pkgdatadir)/dashboard/
	for u in $(UNITS); do $(SUBST) packaging/systemd/$$u.in > $(DESTDIR)$(systemdunitdir)/$$u || exit 1; done
	$(INSTALL) -m 0644 packaging/sysusers.conf $(DESTDIR)$(sysusersdir)/intercom.conf
	for e in $(EXAMPLES); do $(SUBST) packaging/examples/$$e.conf.in > $(DESTDIR)$(pkgdatadir)/examples/$$e.conf || exit 1; done
	for m in $(MANPAGES); do $(SUBST) $$m > $(DESTDIR)$(mandir)/man8/$$(basename $$m) || exit 1; done
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(docdir)/
	$(INSTALL) -m 0644 docs/*.md $(DESTDIR)$(docdir)/
	$(INSTALL) -d -m 0755 $(DESTDIR)$(sysconfdir)/intercom
	$(INSTALL) -d -m 0750 $(DESTDIR)$(sysconfdir)/intercom/agents
	for e in base-unit dashboard; do [ -e $(DESTDIR)$(sysconfdir)/intercom/$$e.conf ] || \
	   $(INSTALL) -m 0640 $(DESTDIR)$(pkgdatadir)/examples/$$e.conf $(DESTDIR)$(sysconfdir)/intercom/$$e.conf || exit 1; done
	@if [ "$(POSTINSTALL)" = yes ] && [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v systemd-sysusers > /dev/null; then \
	   systemd-sysusers $(sysusersdir)/intercom.conf && \
	   chgrp intercom $(sysconfdir)/intercom/agents $(sysconfdir)/intercom/base-unit.conf \
	      $(sysconfdir)/intercom/dashboard.conf && \
	   if command -v systemctl > /dev/null && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; fi

# --- make deb [DEB_ARCH=armhf|arm64] ---------------------------------------
# Debian packages with Debian's tooling (debhelper, packaging/debian/):
# intercom-site (the base unit and the agents), intercom-dashboard and
# intercom-broker, for this machine's architecture or, cross-built, for a
# Raspberry Pi's. Into $(BUILD)/debs/, then lintian. The version is VERSION's.
DEB_ARCH ?=
DEB_SRC  := $(BUILD)/deb-src/intercom-$(VERSION)
deb:
	$(Q)mk/deps deb $(DEB_ARCH)
	rm -rf $(BUILD)/deb-src && mkdir -p $(DEB_SRC) $(BUILD)/debs
	{ git ls-files -co --exclude-standard 2>/dev/null || find . -type f ! -path './build*' ! -path './.git/*'; } | \
	   grep -v -e '^build' -e 'node_modules' | tar -c -T - | tar -x -C $(DEB_SRC)
	cp -r packaging/debian $(DEB_SRC)/debian
	printf 'intercom (%s) unstable; urgency=medium\n\n  * Version %s.\n\n -- The intercom project <intercom@invalid.example>  %s\n' \
	   '$(VERSION)' '$(VERSION)' "$$(git log -1 --format=%aD 2>/dev/null || date -R)" > $(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -b -us -uc $(if $(DEB_ARCH),-a$(DEB_ARCH) -Pcross,)
	lintian --fail-on error $(BUILD)/deb-src/*.changes
	mv $(BUILD)/deb-src/*.deb $(BUILD)/debs/

# --- make cross [ARCH=armhf|arm64] ------------------------------------------
# The agents and the unit tests built with Debian's cross compiler for a
# Raspberry Pi (armhf: a 2B, 32-bit; arm64: a 4B) into build/ARCH, run under
# qemu-user: the unit tests, then the agents against this machine's base unit
# and broker (tests/cross/run).
ARCH ?= armhf
CROSS_armhf := arm-linux-gnueabihf-
CROSS_arm64 := aarch64-linux-gnu-
cross:
	$(Q)mk/deps cross $(ARCH)
	$(Q)$(MAKE) --no-print-directory programs
	$(Q)$(MAKE) --no-print-directory CROSS=$(CROSS_$(ARCH)) BUILD=build/$(ARCH) \
	   $(addprefix build/$(ARCH)/,read-unit updatable-unit camera-unit unit-tests bridge-tests)
	$(Q)tests/cross/run $(ARCH)

# --- make vm [VM_SUITE=bookworm|trixie] --------------------------------------
# The packages under a real systemd: a Debian of that suite in a KVM virtual
# machine (tests/vm/run). Needs root and /dev/kvm.
VM_SUITE ?= bookworm
vm: deb
	$(Q)mk/deps vm
	$(Q)tests/vm/run $(VM_SUITE)

uninstall:
	rm -f $(foreach p,base-unit dashboard read-unit updatable-unit camera-unit setup-broker,$(DESTDIR)$(bindir)/intercom-$(p))
	rm -rf $(DESTDIR)$(libexecdir)/intercom $(DESTDIR)$(pkglibdir) $(DESTDIR)$(pkgdatadir) $(DESTDIR)$(docdir)
	rm -f $(foreach u,$(UNITS),$(DESTDIR)$(systemdunitdir)/$(u)) $(DESTDIR)$(sysusersdir)/intercom.conf
	rm -f $(foreach m,$(MANPAGES),$(DESTDIR)$(mandir)/man8/$(notdir $(m)))
	@echo "left in place: $(sysconfdir)/intercom (your configuration) and $(localstatedir)/lib/intercom"

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
