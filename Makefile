# whoisd — top-level Makefile.
#
# `make` builds every binary into build/bin/.  `make test` installs the
# missing Debian packages (make deps), builds, runs the C unit tests
# (cmocka) and then the integration tests (pytest).  SANITIZE=1 builds
# with AddressSanitizer and UBSan into build-san/ instead.

VERSION		= 0.1.0
PROTO_CURRENT	= 2
# `make PROTO_VERSION=1` builds the previous protocol version into
# build-proto1/, for the mixed-version upgrade tests.
PROTO_VERSION	?= $(PROTO_CURRENT)

PREFIX		?= /usr/local
SYSCONFDIR	?= /etc
DESTDIR		?=

PKGS		= libevent libevent_pthreads sqlite3 zlib msgpack libsystemd libidn2 \
		  libcrypto libcares jansson libpsl libcurl \
		  libssl libevent_openssl

CC		?= cc
PYTHON		= /usr/bin/python3
# The test runner's summary must be the last line of `make test`.
MAKEFLAGS	+= --no-print-directory

ifeq ($(SANITIZE),1)
B		= build-san
SANFLAGS	= -fsanitize=address,undefined -fno-omit-frame-pointer \
		  -fno-sanitize-recover=undefined
OPT		= -O1
else
B		= build
SANFLAGS	=
OPT		= -O2
endif

ifneq ($(PROTO_VERSION),$(PROTO_CURRENT))
B		:= $(B)-proto$(PROTO_VERSION)
endif

WARN		= -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
		  -Wshadow -Wpointer-arith
CPPFLAGS	+= -D_GNU_SOURCE -I. -DWHOISD_VERSION='"$(VERSION)"' \
		   -DPROTO_VERSION=$(PROTO_VERSION)
CFLAGS		+= -std=c11 $(WARN) $(OPT) -g $(SANFLAGS) -MMD -MP
PKG_CFLAGS	= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	= $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS		+= $(PKG_LIBS) -lm
# Every binary links the same libraries; each keeps only those it uses
# (libcurl is whoisctl's alone).
LDFLAGS		+= $(SANFLAGS) -Wl,--as-needed

# Libraries shared by every binary.
COMMON_SRCS	= $(wildcard common/*.c)
PROTO_SRCS	= $(wildcard proto/*.c)

# Each daemon folder: main.c holds main(); every other file goes into a
# per-daemon archive so unit tests can link the logic without main().
DAEMONS		= whoisd query cache errdb whoisctl
BIN_whoisd	= whoisd
BIN_query	= whoisd-query
BIN_cache	= whoisd-cache
BIN_errdb	= whoisd-errdb
BIN_whoisctl	= whoisctl

# Test-only programs.
TESTPROGS	= regsim echod loadgen

obj		= $(patsubst %.c,$(B)/obj/%.o,$(1))

LIBCOMMON	= $(B)/lib/libcommon.a
LIBPROTO	= $(B)/lib/libproto.a
dlib		= $(B)/lib/libd_$(1).a
DLIBS		= $(foreach d,$(DAEMONS),$(call dlib,$(d))) \
		  $(B)/lib/libd_regsim.a

BINS		= $(foreach d,$(DAEMONS),$(B)/bin/$(BIN_$(d))) \
		  $(B)/bin/whoisd-regsim $(B)/bin/test-echod $(B)/bin/whoisd-loadgen

UNIT_SRCS	= $(wildcard tests/unit/test_*.c)
UNIT_BINS	= $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))

# The LD_PRELOAD shim of the storage fault tests: built without the
# sanitizers, so it can be preloaded into either build.
FAULT_SHIM	= $(B)/lib/libfaultfs.so

.PHONY: all deps run demo test unit integration bench bench-upgrade clean install fuzz prev-proto
all: $(BINS) $(UNIT_BINS) $(FAULT_SHIM)

$(FAULT_SHIM): $(wildcard tests/faults/*.c)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -O2 -g -D_GNU_SOURCE -fPIC -shared -o $@ $^ -ldl

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBCOMMON): $(call obj,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIBPROTO): $(call obj,$(PROTO_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# One archive per daemon folder (all files but main.c).
define daemon_rules
$(call dlib,$(1)): $(call obj,$(filter-out daemons/$(1)/main.c,$(wildcard daemons/$(1)/*.c)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^ $(B)/obj/empty.o
$(B)/bin/$(BIN_$(1)): $(call obj,daemons/$(1)/main.c) $(call dlib,$(1)) $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
$(call dlib,$(1)): $(B)/obj/empty.o
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rules,$(d))))

# An empty object keeps `ar` happy for a folder that has only main.c.
$(B)/obj/empty.o:
	@mkdir -p $(dir $@)
	echo 'typedef int whoisd_empty_unit;' | $(CC) -x c -c -o $@ -

$(B)/lib/libd_regsim.a: $(call obj,$(filter-out tests/regsim/main.c,$(wildcard tests/regsim/*.c))) $(B)/obj/empty.o
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/bin/whoisd-regsim: $(call obj,tests/regsim/main.c) $(B)/lib/libd_regsim.a $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/test-echod: $(call obj,$(wildcard tests/echod/*.c)) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/whoisd-loadgen: $(call obj,$(wildcard tests/bench/loadgen*.c)) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lpthread

# Unit tests link every archive; only the objects they use are pulled in.
# tests/unit/unit_util.c holds what several of them share.
$(B)/tests/%: $(call obj,tests/unit/%.c tests/unit/unit_util.c) $(DLIBS) \
	    $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

# schema/X.sql is the only copy of each schema: C gets it as the array
# schema_X_sql[] (the file's bytes and a NUL) from $(B)/gen/schema/X_sql.h.
CPPFLAGS	+= -I$(B)/gen
$(B)/gen/schema/%_sql.h: schema/%.sql
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@{ echo '/* Generated from $< by the Makefile: do not edit. */'; \
	  echo 'static const char schema_$*_sql[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/ \([0-9a-f][0-9a-f]\)/ 0x\1,/g' \
	      -e 's/^ /\t/'; \
	  echo '	0x00'; echo '};'; } > $@.tmp && mv $@.tmp $@
# docs/openapi.json, the API's contract, is served by the front as built
# in: the array openapi_json[] from $(B)/gen/docs/openapi_json.h.
$(B)/gen/docs/%_json.h: docs/%.json
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@{ echo '/* Generated from $< by the Makefile: do not edit. */'; \
	  echo 'static const char $*_json[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/ \([0-9a-f][0-9a-f]\)/ 0x\1,/g' \
	      -e 's/^ /\t/'; \
	  echo '	0x00'; echo '};'; } > $@.tmp && mv $@.tmp $@
$(B)/obj/daemons/whoisd/http.o: $(B)/gen/docs/openapi_json.h
$(B)/obj/daemons/cache/cache_db.o: $(B)/gen/schema/cache_sql.h
$(B)/obj/daemons/errdb/errdb_db.o: $(B)/gen/schema/errdb_sql.h
# The web page's files, installed below (http_www's default); the stamp
# changes with PREFIX, so `make install PREFIX=/usr` rebuilds main.o.
$(B)/obj/daemons/whoisd/main.o: CPPFLAGS += \
    -DWHOISD_WWW='"$(PREFIX)/share/whoisd/www"'
$(B)/obj/daemons/whoisd/main.o: $(B)/gen/prefix.stamp
$(B)/gen/prefix.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PREFIX)' > $@.tmp; \
	    if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi
FORCE:

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- deps
DEBS		= build-essential pkg-config libevent-dev libsqlite3-dev zlib1g-dev \
		  libmsgpack-dev libsystemd-dev libidn2-dev libssl-dev libcmocka-dev \
		  python3-pytest python3-msgpack python3-cryptography whois curl \
		  sqlite3 procps iproute2 \
		  systemd-container libc-ares-dev nsd libjansson-dev \
		  libpsl-dev publicsuffix libcurl4-openssl-dev openssl \
		  python3-jsonschema nodejs php-cli \
		  chromium chromium-driver python3-selenium \
		  mandoc debhelper lintian prometheus
deps:
	@missing=""; for p in $(DEBS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
	    echo "deps: missing Debian packages; run as root:"; \
	    echo "    apt-get install -y$$missing"; exit 1; \
	fi

# ---------------------------------------------------------------- tests
unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; exit $$fail

integration: $(BINS)
	WHOISD_BUILD=$(B) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

test: deps
	$(MAKE) all
	$(MAKE) prev-proto
	$(MAKE) unit
	$(MAKE) integration

# The daemons built with the previous protocol version, for test_versions.
prev-proto:
	$(MAKE) PROTO_VERSION=$$(($(PROTO_CURRENT) - 1)) \
	    $(foreach d,$(DAEMONS),$(B)-proto$$(($(PROTO_CURRENT) - 1))/bin/$(BIN_$(d)))

# ---------------------------------------------------------------- running
run: deps
	$(MAKE) all
	tests/run-suite.sh $(B) etc

demo: deps
	$(MAKE) all
	tests/run-suite.sh $(B) demo

# make bench needs the reference servers and tools too.
BENCH_DEBS	= nginx libnet-server-perl gnuplot-nox wrk nsd
bench: deps
	@$(MAKE) deps DEBS="$(BENCH_DEBS)"
	$(MAKE) all $(B)/bench/limitd $(B)/bench/bulkfill
	tests/bench/run.sh $(B)
	$(MAKE) bench-rdap
	$(PYTHON) tests/bench/bulk_post.py --build $(B)

# The RDAP channel's figures (docs/performance.md).
.PHONY: bench-rdap
bench-rdap: all
	WHOISD_BUILD=$(B) $(PYTHON) tests/bench/rdap_bench.py

# POST /v1/check of 100 and 1,000 cached names against nginx serving the
# same bytes (docs/performance.md, "Bulk POST from the cache").
.PHONY: bench-bulk
bench-bulk: deps
	@$(MAKE) deps DEBS="$(BENCH_DEBS)"
	$(MAKE) all
	$(PYTHON) tests/bench/bulk_post.py --build $(B)

# The upgrade from a build without link authentication, under load:
# OLD is that build's bin/ (e.g. a worktree of the last such commit).
bench-upgrade: all
	@test -n "$(OLD)" || { echo "usage: make bench-upgrade OLD=DIR/bin"; exit 2; }
	WHOISD_BUILD=$(B) $(PYTHON) tests/bench/upgrade.py $(OLD)

# Hostile peers and a long mixed load with reloads (docs/performance.md,
# "Under attack"): BUILD is the build tree measured, BEFORE (optional)
# another one measured back to back with it, e.g. an older commit's.
BUILD		?= $(B)
BEFORE		?=
.PHONY: bench-hostile bench-mixed
bench-hostile:
	$(PYTHON) tests/bench/hostile.py --build $(BUILD) \
	    $(if $(BEFORE),--before $(BEFORE)) $(if $(ATTACKS),--attacks $(ATTACKS))
# DURATION: seconds of load (600 by default).
bench-mixed:
	$(PYTHON) tests/bench/mixed.py --build $(BUILD) \
	    $(if $(DURATION),--seconds $(DURATION))

$(B)/bench/limitd: $(call obj,tests/bench/limitd.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
# The benchmark fill writes through the cache's storage layer; the
# cache's unit test links it too (before the archives it needs).
$(B)/bench/bulkfill: $(call obj,tests/bench/bulkfill.c tests/bench/cache_fill.c) $(call dlib,cache) $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/tests/test_cache_db: $(call obj,tests/unit/test_cache_db.c tests/unit/unit_util.c tests/bench/cache_fill.c) $(DLIBS) $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell pkg-config --libs cmocka)

# Every tree a build writes: plain, sanitized, and the previous protocol
# version of each (prev-proto), plus the fuzzing tree.
clean:
	rm -rf build build-san build-proto* build-san-proto* build-fuzz

# ---------------------------------------------------------------- install
# The layout a Debian package would use: binaries in PREFIX/bin, units in
# PREFIX/lib/systemd/system (ExecStart follows PREFIX), configs in
# SYSCONFDIR/whoisd/, state in /var/lib/whoisd (StateDirectory=).
BINDIR		= $(PREFIX)/bin
UNITDIR		= $(PREFIX)/lib/systemd/system
INSTALL_BINS	= whoisd whoisd-query whoisd-cache whoisd-errdb whoisctl
UNITS		= $(wildcard deploy/*.service deploy/*.socket deploy/*.target)

# Only the daemons: installing must not need cmocka or the test programs.
install: $(foreach b,$(INSTALL_BINS),$(B)/bin/$(b))
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/whoisd $(DESTDIR)$(PREFIX)/lib/sysusers.d \
	    $(DESTDIR)$(PREFIX)/lib/tmpfiles.d \
	    $(DESTDIR)$(PREFIX)/share/whoisd/schema \
	    $(DESTDIR)$(PREFIX)/share/whoisd/www \
	    $(DESTDIR)$(PREFIX)/share/doc/whoisd
	for b in $(INSTALL_BINS); do install -m 0755 $(B)/bin/$$b $(DESTDIR)$(BINDIR)/; done
	for u in $(UNITS); do \
	    sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	        $$u > $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	done
	install -m 0644 deploy/whoisd.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/whoisd.conf
	install -m 0644 deploy/whoisd.tmpfiles $(DESTDIR)$(PREFIX)/lib/tmpfiles.d/whoisd.conf
	for c in etc/*.conf; do \
	    sed -e 's|^\(registries[[:space:]]*\)etc/|\1$(SYSCONFDIR)/whoisd/|' \
	        -e 's|^\(dns_servers[[:space:]]*\)etc/|\1$(SYSCONFDIR)/whoisd/|' \
	        -e 's|^\(tld_whois[[:space:]]*\)etc/|\1$(SYSCONFDIR)/whoisd/|' \
	        -e 's|^\(rdap_bootstrap[[:space:]]*\)etc/|\1$(SYSCONFDIR)/whoisd/|' \
	        -e 's|^\(db_path[[:space:]]*\).*/\([^/]*\)$$|\1/var/lib/whoisd/\2|' \
	        -e 's|^\(spool_dir[[:space:]]*\).*$$|\1/var/lib/whoisd/spool|' \
	        $$c > $(DESTDIR)$(SYSCONFDIR)/whoisd/$$(basename $$c); \
	    chmod 0644 $(DESTDIR)$(SYSCONFDIR)/whoisd/$$(basename $$c); \
	done
	install -m 0644 etc/rdap-dns.json $(DESTDIR)$(SYSCONFDIR)/whoisd/
	install -m 0644 schema/*.sql $(DESTDIR)$(PREFIX)/share/whoisd/schema/
	install -m 0644 www/*.html www/*.js www/*.css \
	    $(DESTDIR)$(PREFIX)/share/whoisd/www/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/whoisd/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/

# ---------------------------------------------------------------- man pages
# mdoc, under docs/man/.  The config-key lists in them come from the
# daemons' --help (docs/man/keys.py): `make man-keys` rewrites them after
# a key is added; tests/integration/test_man.py fails until then.
# `mandoc -Tlint` also reports, as STYLE, every .Xr to a page of ours
# that is not installed yet: the lint here is for warnings and worse.
MANDIR		= $(PREFIX)/share/man
MAN5		= $(wildcard docs/man/*.5)
MAN8		= $(wildcard docs/man/*.8)
.PHONY: man-lint man-keys
man-lint:
	mandoc -Tlint -Wwarning $(MAN5) $(MAN8)
man-keys: $(foreach d,whoisd query cache errdb,$(B)/bin/$(BIN_$(d)))
	$(PYTHON) docs/man/keys.py $(B)/bin update

# ---------------------------------------------------------------- Debian
# `make deb` builds whoisd_VERSION_ARCH.deb into $(B)/deb/ from a copy of
# the working tree (debian/, dpkg-buildpackage -us -uc -b) and runs
# lintian on it; `make deb-test` checks the package: its contents
# (tests/integration/test_deb.py, ~20 s) and dpkg -i, a rolling restart,
# an upgrade and dpkg --purge under systemd in a container
# (test_systemd_deb.py, ~60 s).  Both also run in `make test`.
DEB_DEBS	= debhelper lintian dpkg-dev
DEB_B		= $(B)/deb
DEB_SRC		= $(DEB_B)/whoisd-$(VERSION)
.PHONY: deb deb-test
deb:
	@test "$$(dpkg-parsechangelog -S Version)" = "$(VERSION)" || \
	    { echo "deb: debian/changelog is not at $(VERSION)"; exit 1; }
	rm -rf $(DEB_B) && mkdir -p $(DEB_SRC)
	git ls-files -co --exclude-standard | while read -r f; do \
	    [ -e "$$f" ] || [ -L "$$f" ] && echo "$$f"; done | \
	    tar -cf - -T - | tar -C $(DEB_SRC) -xf -
	# A package build of its own: not this make's variables (B=,
	# SANITIZE=1 of a `make test SANITIZE=1` that runs test_deb).
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    -u SANITIZE dpkg-buildpackage -us -uc -b
	lintian --fail-on error $(DEB_B)/whoisd_*.deb

deb-test:
	WHOISD_BUILD=$(B) $(PYTHON) -m pytest -q -p no:cacheprovider \
	    tests/integration/test_deb.py tests/integration/test_systemd_deb.py \
	    $(PYTEST_ARGS)

# ---------------------------------------------------------------- fuzz
# libFuzzer targets: every tests/fuzz/fuzz_NAME.c, linked against the
# same archives as the daemons (so a split or renamed source needs no
# change here), all built by clang into build-fuzz/ with the objects
# instrumented for coverage.  `make fuzz FUZZ_SECONDS=N` runs each target
# N seconds from its seeds (tests/fuzz/corpus/NAME/); a finding is saved
# under FUZZ_CRASHES/NAME/ and fails the run.  FUZZ_TARGETS="msg spool"
# picks targets.  `make fuzz-smoke` is the short run CI can afford.
FUZZ_DEBS	= clang libclang-rt-14-dev
FUZZ_CC		= clang
FUZZ_B		= build-fuzz
FUZZ_SANFLAGS	= -fsanitize=fuzzer-no-link,address,undefined \
		  -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SECONDS	?= 60
FUZZ_SMOKE_SECONDS ?= 8
FUZZ_CRASHES	?= $(FUZZ_B)/crashes
FUZZ_TARGETS	?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-smoke fuzz-build fuzz-bins fuzz-clean
fuzz: fuzz-build
	FUZZ_CRASHES=$(FUZZ_CRASHES) tests/fuzz/run.sh $(FUZZ_B) \
	    $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS)

fuzz-build: deps
	@$(MAKE) deps DEBS="$(FUZZ_DEBS)"
	$(MAKE) -j2 B=$(FUZZ_B) CC=$(FUZZ_CC) OPT=-O1 \
	    SANFLAGS="$(FUZZ_SANFLAGS)" FUZZ_TARGETS="$(FUZZ_TARGETS)" fuzz-bins

# Only meaningful inside fuzz-build (B, CC and SANFLAGS set as above).
fuzz-bins: $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_TARGETS))
.SECONDARY: $(patsubst %,$(B)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_TARGETS))

$(B)/fuzz/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c) $(DLIBS) $(LIBPROTO) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-clean:
	rm -rf $(FUZZ_B)
