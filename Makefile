# ringmon - one non-recursive Makefile. `make` builds, `make test` tests,
# `make demo` runs the demo, `make bench` measures, `make install PREFIX=...`.
# Out-of-tree objects in $(BUILD); V=1 for verbose; SAN=asan|tsan for sanitizer builds.

PREFIX ?= /usr/local
DESTDIR ?=
SAN ?=
ifeq ($(SAN),)
BUILD ?= build
SANFLAGS :=
else ifeq ($(SAN),asan)
BUILD ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else ifeq ($(SAN),tsan)
BUILD ?= build/tsan
SANFLAGS := -fsanitize=thread -Wno-tsan
else
$(error SAN must be asan or tsan)
endif

CC ?= gcc
Q := $(if $(V),,@)
VERSION := 0.1.0
SOVERSION := 0

PKGS_PRODUCER := liburcu-bp liburcu-cds
PKGS_MONGO := libmongoc-1.0 libbson-1.0
PKGS_VIEWER := json-c ncursesw libmicrohttpd
PKGS_TEST := cmocka

# What a goal needs beyond the build libraries is installed by scripts/deps.sh
# (groups build, test, demo, bench, fuzz), never by plain `make`; NO_DEPS=1
# skips it (not Debian, not root, or you installed them yourself).
# (fuzz builds the readers alone with clang, from scripts/fuzz.sh)
NO_CHECK_GOALS := clean help deps uninstall fuzz
deps_group = $(if $(filter test test-% soak,$(1)),test,$(if $(filter demo,$(1)),demo,$(if $(filter bench,$(1)),bench,$(if $(filter fuzz,$(1)),fuzz))))
DEPS_GROUPS := $(sort $(foreach g,$(MAKECMDGOALS),$(call deps_group,$(g))))
ifneq ($(DEPS_GROUPS),)
ifeq ($(NO_DEPS),)
DEPS_RUN := $(shell scripts/deps.sh $(DEPS_GROUPS) >&2 && echo ok)
ifneq ($(DEPS_RUN),ok)
$(error packages for `make $(MAKECMDGOALS)` are missing: see above (or NO_DEPS=1 to try without them))
endif
endif
endif

# The build libraries, by pkg-config name; a missing one stops the build with
# the Debian package that provides it (scripts/deps.sh's build group).
ifeq ($(filter-out $(NO_CHECK_GOALS),$(or $(MAKECMDGOALS),all)),)
else
ifeq ($(shell command -v pkg-config),)
$(error pkg-config is missing: install it (Debian: apt-get install pkg-config))
endif
deb_of = $(patsubst libmicrohttpd,libmicrohttpd-dev,$(patsubst liburcu-%,liburcu-dev,$(patsubst libmongoc-1.0,libmongoc-dev,$(patsubst libbson-1.0,libbson-dev,$(patsubst json-c,libjson-c-dev,$(patsubst ncursesw,libncurses-dev,$(patsubst cmocka,libcmocka-dev,$(1))))))))
PKGS_NEEDED := $(PKGS_PRODUCER) $(PKGS_MONGO) $(PKGS_VIEWER) $(if $(filter test test-% soak,$(MAKECMDGOALS)),$(PKGS_TEST))
PKGS_MISSING := $(shell for p in $(PKGS_NEEDED); do pkg-config --exists $$p || echo $$p; done)
ifneq ($(PKGS_MISSING),)
$(error missing build libraries (pkg-config $(PKGS_MISSING)): install the Debian packages $(sort $(call deb_of,$(PKGS_MISSING))) (scripts/deps.sh build does it as root), or point PKG_CONFIG_PATH at them)
endif
endif

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers -Wno-format-truncation
BASEFLAGS := -std=c11 -fPIC -MMD -MP $(WARN) $(SANFLAGS) -Iinclude -Iproducer -Iringbuf -Iviewer -Ischema
URCU_CFLAGS := $(shell pkg-config --cflags $(PKGS_PRODUCER) 2>/dev/null)
URCU_LIBS := $(shell pkg-config --libs $(PKGS_PRODUCER) 2>/dev/null)
MONGO_CFLAGS := $(shell pkg-config --cflags $(PKGS_MONGO) 2>/dev/null)
MONGO_LIBS := $(shell pkg-config --libs $(PKGS_MONGO) 2>/dev/null)
VIEWER_CFLAGS := $(shell pkg-config --cflags $(PKGS_VIEWER) 2>/dev/null)
VIEWER_LIBS := $(shell pkg-config --libs $(PKGS_VIEWER) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
LDFLAGS_ALL := $(SANFLAGS) -pthread

RINGBUF_SRC := $(wildcard ringbuf/*.c)
# the core (libringmon): everything in producer/ but the MongoDB adapter and loadgen
PRODUCER_SRC := $(filter-out producer/mongo_% producer/loadgen%,$(wildcard producer/*.c))
MONGO_SRC := $(filter-out producer/mongo_preload%.c,$(wildcard producer/mongo_*.c))
PRELOAD_SRC := producer/mongo_preload.c producer/mongo_preload_load.c producer/mongo_getters.c \
	producer/mongo_real.c
# the MongoDB schema: linked by the adapter and by the readers (docs/mongodb.md)
SCHEMA_SRC := $(wildcard schema/*.c)
VIEWER_LIB_SRC := $(filter-out viewer/main.c,$(wildcard viewer/*.c))
VIEWER_MAIN := viewer/main.c
LOADGEN_SRC := $(wildcard producer/loadgen*.c)
HEADERS := include/ringmon/ringmon.h include/ringmon/ringmon_mongoc.h

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
RINGBUF_OBJ := $(call obj,$(RINGBUF_SRC))
PRODUCER_OBJ := $(call obj,$(PRODUCER_SRC))
MONGO_OBJ := $(call obj,$(MONGO_SRC) $(SCHEMA_SRC))
SCHEMA_OBJ := $(call obj,$(SCHEMA_SRC))
PRELOAD_OBJ := $(call obj,$(PRELOAD_SRC))
VIEWER_LIB_OBJ := $(call obj,$(VIEWER_LIB_SRC))
LOADGEN_OBJ := $(call obj,$(LOADGEN_SRC))

# libringmon: the core alone (no libmongoc). libringmon-mongoc: the MongoDB
# adapter, on libringmon. libringmon-preload: the LD_PRELOAD shim, on both.
# Each shared library links the one below dynamically: one producer per process.
SHLIBS := $(BUILD)/libringmon.so $(BUILD)/libringmon-mongoc.so $(BUILD)/libringmon-preload.so
STATIC_CORE := $(BUILD)/libringmon.a
STATIC_MONGO := $(BUILD)/libringmon-mongoc.a
BINS := $(BUILD)/ringmon $(BUILD)/ringmon-loadgen
PCS := $(BUILD)/ringmon.pc $(BUILD)/ringmon-mongoc.pc

TEST_SRC := $(wildcard tests/test_*.c)
TEST_HELPERS := $(wildcard tests/helper_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_PROGS := $(patsubst tests/prog_%.c,$(BUILD)/tests/prog_%,$(wildcard tests/prog_*.c))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all python test test-repeat test-unit test-e2e bench demo install uninstall clean fuzz soak check-headers deps help
all: $(SHLIBS) $(STATIC_CORE) $(STATIC_MONGO) $(BINS) $(PCS)

$(BUILD)/obj/producer/%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) -fvisibility=hidden
$(BUILD)/obj/producer/mongo_%.o: CFLAGS_EXTRA = $(MONGO_CFLAGS) -fvisibility=hidden
$(BUILD)/obj/ringbuf/%.o: CFLAGS_EXTRA = -fvisibility=hidden
$(BUILD)/obj/viewer/%.o: CFLAGS_EXTRA = $(VIEWER_CFLAGS)
$(BUILD)/obj/schema/%.o: CFLAGS_EXTRA = -fvisibility=hidden
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(CFLAGS_EXTRA) -c $< -o $@

# shlib OBJS, MAP, LIBS: a versioned shared library with hidden symbols
# but those its version script exports; finds its sibling libraries by $ORIGIN
define shlib
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(notdir $@).$(SOVERSION) -Wl,--version-script=$(2) -Wl,-z,defs \
		-Wl,-rpath,'$$ORIGIN' -o $@ $(1) $(LDFLAGS_ALL) $(3)
	$(Q)ln -sf $(notdir $@) $@.$(SOVERSION)
endef

$(BUILD)/libringmon.so: $(PRODUCER_OBJ) $(RINGBUF_OBJ) producer/libringmon.map
	$(call shlib,$(PRODUCER_OBJ) $(RINGBUF_OBJ),producer/libringmon.map,$(URCU_LIBS))

$(BUILD)/libringmon-mongoc.so: $(MONGO_OBJ) producer/libringmon-mongoc.map $(BUILD)/libringmon.so
	$(call shlib,$(MONGO_OBJ),producer/libringmon-mongoc.map,-L$(BUILD) -lringmon $(MONGO_LIBS) -ldl)

$(BUILD)/libringmon-preload.so: $(PRELOAD_OBJ) producer/libringmon-preload.map $(BUILD)/libringmon-mongoc.so
	$(call shlib,$(PRELOAD_OBJ),producer/libringmon-preload.map,-ldl)

$(STATIC_CORE): $(PRODUCER_OBJ) $(RINGBUF_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(STATIC_MONGO): $(MONGO_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/ringmon: $(call obj,$(VIEWER_MAIN)) $(VIEWER_LIB_OBJ) $(SCHEMA_OBJ) $(RINGBUF_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(VIEWER_LIBS) -lm

# static: a program that runs anywhere without the libraries installed
$(BUILD)/ringmon-loadgen: $(LOADGEN_OBJ) $(STATIC_MONGO) $(STATIC_CORE)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $(LOADGEN_OBJ) $(STATIC_MONGO) $(STATIC_CORE) $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS) -ldl
$(BUILD)/obj/producer/loadgen%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS)

$(BUILD)/%.pc: producer/%.pc.in Makefile
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# ---- tests ----
# Tests and benchmarks link the static archives: one copy of each, in the program.
TEST_LINK := $(STATIC_MONGO) $(STATIC_CORE) $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS) -ldl
$(BUILD)/obj/tests/%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS) $(VIEWER_CFLAGS) -Wno-unused-parameter
$(BUILD)/obj/bench/%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS) $(VIEWER_CFLAGS)
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(call obj,$(TEST_HELPERS)) $(STATIC_MONGO) $(STATIC_CORE) $(VIEWER_LIB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $< $(call obj,$(TEST_HELPERS)) $(VIEWER_LIB_OBJ) $(TEST_LINK) $(CMOCKA_LIBS) $(VIEWER_LIBS) -lm
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(STATIC_MONGO) $(STATIC_CORE) $(VIEWER_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(VIEWER_LIB_OBJ) $(TEST_LINK) $(VIEWER_LIBS) -lm
# bench_mongo answers itself: bench/mongo_responder.c, on loopback and in-process
$(BUILD)/obj/bench/bench_mongo.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS) -Ibench
$(BUILD)/bench/bench_mongo: $(BUILD)/obj/bench/bench_mongo.o $(BUILD)/obj/bench/mongo_responder.o $(STATIC_MONGO) $(STATIC_CORE)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $(filter %.o,$^) $(TEST_LINK)
$(BUILD)/obj/bench/bench_mongo_shared.o: bench/bench_mongo.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(MONGO_CFLAGS) -Ibench -DBENCH_MONGO_SHARED -c $< -o $@
$(BUILD)/bench/bench_mongo_shared: $(BUILD)/obj/bench/bench_mongo_shared.o $(BUILD)/obj/bench/mongo_responder.o $(SHLIBS)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $(filter %.o,$^) $(LDFLAGS_ALL) $(SHARED_LINK)
$(BUILD)/obj/bench/bench_mongo_plain.o: bench/bench_mongo.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(MONGO_CFLAGS) -Ibench -DBENCH_MONGO_SHARED -DBENCH_MONGO_PLAIN -c $< -o $@
$(BUILD)/bench/bench_mongo_plain: $(BUILD)/obj/bench/bench_mongo_plain.o $(BUILD)/obj/bench/mongo_responder.o
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $(filter %.o,$^) $(LDFLAGS_ALL) $(MONGO_LIBS)
# bench_peers dlopens the LTTng-UST tracepoint provider bench/tp_peers.c, built as libtp_peers.so
LTTNG_CFLAGS := $(shell pkg-config --cflags lttng-ust 2>/dev/null)
$(BUILD)/obj/bench/bench_peers.o $(BUILD)/obj/bench/tp_peers.o: CFLAGS_EXTRA = $(LTTNG_CFLAGS) -Ibench
$(BUILD)/bench/libtp_peers.so: $(BUILD)/obj/bench/tp_peers.o
	@mkdir -p $(dir $@)
	$(Q)$(CC) -shared -Wl,--no-as-needed -o $@ $< $(LDFLAGS_ALL) -llttng-ust
$(BUILD)/bench/bench_peers: $(BUILD)/obj/bench/bench_peers.o $(STATIC_CORE) $(BUILD)/bench/libtp_peers.so
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(TEST_LINK)

# prog_* are plain programs the e2e tests run. Those that include no ringmon
# header know nothing of ringmon and link libmongoc alone; prog_shared_* link
# the shared libraries, as an application would.
SHARED_LINK := -L$(BUILD) -Wl,-rpath,$(abspath $(BUILD)) -lringmon-mongoc -lringmon $(MONGO_LIBS)
prog_link = $(if $(filter prog_shared_%,$(notdir $(1))),$(SHARED_LINK),$(if $(shell grep -l '<ringmon/' $(2)),$(TEST_LINK),$(MONGO_LIBS)))
$(BUILD)/tests/prog_%: tests/prog_%.c $(STATIC_MONGO) $(STATIC_CORE) $(SHLIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(MONGO_CFLAGS) $(URCU_CFLAGS) -o $@ $< $(LDFLAGS_ALL) $(call prog_link,$@,$<)

# the Python package, for every CPython found (scripts/pythons.sh), in $(BUILD)/python
python: $(BUILD)/libringmon.so
	$(Q)BUILD=$(BUILD) CC="$(CC)" CFLAGS="$(CFLAGS)" WARN="$(WARN)" SANFLAGS="$(SANFLAGS)" scripts/build-python.sh

test: all python $(TEST_BINS) $(TEST_PROGS)
	$(Q)BUILD=$(BUILD) tests/run.sh $(TEST_BINS)

# N full runs of the suite in a row (N=10; LOAD=1 keeps one core busy meanwhile):
# the proof that it is green every time
test-repeat: all python $(TEST_BINS) $(TEST_PROGS)
	$(Q)BUILD=$(BUILD) scripts/repeat-tests.sh $(or $(N),10) $(if $(LOAD),--load) $(TEST_BINS)

# the cmocka programs alone (unit and stress), e.g. under SAN=asan or SAN=tsan
test-unit: all $(TEST_BINS) $(TEST_PROGS)
	$(Q)BUILD=$(BUILD) NO_E2E=1 tests/run.sh $(TEST_BINS)

bench: all python $(BENCH_BINS) $(BUILD)/bench/bench_mongo_shared $(BUILD)/bench/bench_mongo_plain
	$(Q)BUILD=$(BUILD) bench/run.sh

demo: all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

# 10 minutes at 200k events/s with top attached (not in CI); SOAK_ARGS="SECONDS RATE THREADS"
soak: all
	$(Q)BUILD=$(BUILD) scripts/soak.sh $(SOAK_ARGS)

fuzz:
	$(Q)FUZZ_BUILD=$(BUILD)/fuzz scripts/fuzz.sh $(or $(SECONDS_PER_TARGET),60)

# installs into a scratch PREFIX and compiles each installed header alone, as
# C and C++, with the installed .pc files' flags; links and runs a program there
check-headers: all
	$(Q)BUILD=$(BUILD) scripts/check-headers.sh

# the Debian packages of every group (or GROUPS="build test ..."), as root
deps:
	$(Q)scripts/deps.sh $(or $(GROUPS),build test demo bench fuzz)

LIBDIR := $(DESTDIR)$(PREFIX)/lib
INSTALLED_LIBS := libringmon libringmon-mongoc
install: all
	install -d $(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include/ringmon $(DESTDIR)$(PREFIX)/bin
	$(Q)for l in $(INSTALLED_LIBS); do \
		install -m 0644 $(BUILD)/$$l.a $(LIBDIR)/ && \
		install -m 0755 $(BUILD)/$$l.so $(LIBDIR)/$$l.so.$(VERSION) && \
		ln -sf $$l.so.$(VERSION) $(LIBDIR)/$$l.so.$(SOVERSION) && \
		ln -sf $$l.so.$(SOVERSION) $(LIBDIR)/$$l.so || exit 1; done
	install -m 0755 $(BUILD)/libringmon-preload.so $(LIBDIR)/
	install -m 0644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/ringmon/
	$(Q)for pc in $(notdir $(PCS)); do sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
		producer/$$pc.in > $(LIBDIR)/pkgconfig/$$pc || exit 1; done
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

uninstall:
	rm -f $(foreach l,$(INSTALLED_LIBS),$(LIBDIR)/$(l).a $(LIBDIR)/$(l).so $(LIBDIR)/$(l).so.$(SOVERSION) $(LIBDIR)/$(l).so.$(VERSION))
	rm -f $(LIBDIR)/libringmon-preload.so $(addprefix $(LIBDIR)/pkgconfig/,$(notdir $(PCS)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/include/ringmon/,$(notdir $(HEADERS))) $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(BINS)))
	-rmdir $(DESTDIR)$(PREFIX)/include/ringmon 2>/dev/null

help:
	@echo 'ringmon: make [TARGET] [PREFIX=/usr/local] [SAN=asan|tsan] [V=1] [NO_DEPS=1]'
	@echo '  all (default)  build the libraries, ringmon and ringmon-loadgen into $(BUILD)/;'
	@echo '                 needs only the build libraries (pkg-config: $(PKGS_PRODUCER) $(PKGS_MONGO) $(PKGS_VIEWER)),'
	@echo '                 installs nothing'
	@echo '  demo           a scripted MongoDB replica set, a monitored workload, ringmon top on it'
	@echo '  test           every test (test-unit: the cmocka programs alone)'
	@echo '  bench          measure; writes docs/benchmarks.md'
	@echo '  fuzz           libFuzzer on every segment reader (SECONDS_PER_TARGET=N)'
	@echo '  soak           10 minutes at 200k events/s with top attached'
	@echo '  check-headers  each installed header alone, as C and C++, with the installed .pc flags'
	@echo '  deps           install the Debian packages of every group (GROUPS="build test demo bench fuzz")'
	@echo '  install, uninstall   into/from $$(DESTDIR)$$(PREFIX)'
	@echo '  clean'
	@echo 'demo, test, bench, fuzz and soak first run scripts/deps.sh GROUP, which installs'
	@echo 'missing Debian packages as root (else prints the command); NO_DEPS=1 skips it.'

clean:
	rm -rf build

# keep the test objects between runs (make would delete them as intermediates)
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
