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
PKGS_VIEWER := json-c ncursesw
DEPS_OK := $(shell scripts/deps.sh --check >/dev/null 2>&1 && echo yes)
ifneq ($(DEPS_OK),yes)
ifeq ($(filter clean help,$(MAKECMDGOALS)),)
$(info ringmon: installing missing Debian packages (scripts/deps.sh))
DEPS_RUN := $(shell scripts/deps.sh >&2 && echo ok)
ifneq ($(DEPS_RUN),ok)
$(error missing Debian packages: run scripts/deps.sh as root, or the command it printed)
endif
endif
endif

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers -Wno-format-truncation
BASEFLAGS := -std=c11 -fPIC -MMD -MP $(WARN) $(SANFLAGS) -Iproducer -Iringbuf -Iviewer
URCU_CFLAGS := $(shell pkg-config --cflags $(PKGS_PRODUCER))
URCU_LIBS := $(shell pkg-config --libs $(PKGS_PRODUCER))
MONGO_CFLAGS := $(shell pkg-config --cflags $(PKGS_MONGO))
MONGO_LIBS := $(shell pkg-config --libs $(PKGS_MONGO))
VIEWER_CFLAGS := $(shell pkg-config --cflags $(PKGS_VIEWER))
VIEWER_LIBS := $(shell pkg-config --libs $(PKGS_VIEWER))
CMOCKA_LIBS := $(shell pkg-config --libs cmocka)
LDFLAGS_ALL := $(SANFLAGS) -pthread

RINGBUF_SRC := $(wildcard ringbuf/*.c)
PRODUCER_SRC := $(filter-out producer/mongo_% producer/loadgen%,$(wildcard producer/*.c))
MONGO_SRC := $(filter-out producer/mongo_preload.c,$(wildcard producer/mongo_*.c))
PRELOAD_SRC := $(wildcard producer/mongo_preload.c)
VIEWER_LIB_SRC := $(filter-out viewer/main.c,$(wildcard viewer/*.c))
VIEWER_MAIN := viewer/main.c
LOADGEN_SRC := $(wildcard producer/loadgen*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
RINGBUF_OBJ := $(call obj,$(RINGBUF_SRC))
PRODUCER_OBJ := $(call obj,$(PRODUCER_SRC))
MONGO_OBJ := $(call obj,$(MONGO_SRC))
PRELOAD_OBJ := $(call obj,$(PRELOAD_SRC))
VIEWER_LIB_OBJ := $(call obj,$(VIEWER_LIB_SRC))
LOADGEN_OBJ := $(call obj,$(LOADGEN_SRC))

LIBS_RINGMON := $(BUILD)/libringmon.so $(BUILD)/libringmon.a
BINS := $(BUILD)/ringmon $(BUILD)/ringmon-loadgen
PRELOAD_LIB := $(if $(PRELOAD_SRC),$(BUILD)/libringmon-preload.so)

TEST_SRC := $(wildcard tests/test_*.c)
TEST_HELPERS := $(wildcard tests/helper_*.c)
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
TEST_PROGS := $(patsubst tests/prog_%.c,$(BUILD)/tests/prog_%,$(wildcard tests/prog_*.c))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all test test-repeat test-unit test-e2e bench demo install clean fuzz soak check-headers
all: $(LIBS_RINGMON) $(PRELOAD_LIB) $(BINS) $(BUILD)/ringmon.pc

$(BUILD)/obj/producer/%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS) -fvisibility=hidden
$(BUILD)/obj/viewer/%.o: CFLAGS_EXTRA = $(VIEWER_CFLAGS)
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(CFLAGS_EXTRA) -c $< -o $@

$(BUILD)/libringmon.so: $(PRODUCER_OBJ) $(MONGO_OBJ) $(RINGBUF_OBJ) producer/libringmon.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libringmon.so.$(SOVERSION) -Wl,--version-script=producer/libringmon.map \
		-Wl,-z,defs -o $@ $(filter %.o,$^) $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS)
	$(Q)ln -sf libringmon.so $(BUILD)/libringmon.so.$(SOVERSION)

$(BUILD)/libringmon.a: $(PRODUCER_OBJ) $(MONGO_OBJ) $(RINGBUF_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libringmon-preload.so: $(PRELOAD_OBJ) $(PRODUCER_OBJ) $(MONGO_OBJ) $(RINGBUF_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-z,defs -o $@ $^ $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS) -ldl

$(BUILD)/ringmon: $(call obj,$(VIEWER_MAIN)) $(VIEWER_LIB_OBJ) $(RINGBUF_OBJ)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $^ $(LDFLAGS_ALL) $(VIEWER_LIBS) -lm

$(BUILD)/ringmon-loadgen: $(LOADGEN_OBJ) $(BUILD)/libringmon.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $(LOADGEN_OBJ) $(BUILD)/libringmon.a $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS)
$(BUILD)/obj/producer/loadgen%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS)

$(BUILD)/ringmon.pc: producer/ringmon.pc.in Makefile
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# ---- tests ----
$(BUILD)/obj/tests/%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS) $(VIEWER_CFLAGS) -Wno-unused-parameter
$(BUILD)/obj/bench/%.o: CFLAGS_EXTRA = $(URCU_CFLAGS) $(MONGO_CFLAGS) $(VIEWER_CFLAGS)
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(call obj,$(TEST_HELPERS)) $(BUILD)/libringmon.a $(VIEWER_LIB_OBJ) $(RINGBUF_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -o $@ $< $(call obj,$(TEST_HELPERS)) $(VIEWER_LIB_OBJ) $(BUILD)/libringmon.a $(LDFLAGS_ALL) \
		$(CMOCKA_LIBS) $(URCU_LIBS) $(MONGO_LIBS) $(VIEWER_LIBS) -lm
$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libringmon.a $(VIEWER_LIB_OBJ) $(RINGBUF_OBJ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(VIEWER_LIB_OBJ) $(BUILD)/libringmon.a $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS) $(VIEWER_LIBS) -lm -ldl
# bench_peers dlopens the LTTng-UST tracepoint provider bench/tp_peers.c, built as libtp_peers.so
LTTNG_CFLAGS := $(shell pkg-config --cflags lttng-ust 2>/dev/null)
$(BUILD)/obj/bench/bench_peers.o $(BUILD)/obj/bench/tp_peers.o: CFLAGS_EXTRA = $(LTTNG_CFLAGS) -Ibench
$(BUILD)/bench/libtp_peers.so: $(BUILD)/obj/bench/tp_peers.o
	@mkdir -p $(dir $@)
	$(Q)$(CC) -shared -Wl,--no-as-needed -o $@ $< $(LDFLAGS_ALL) -llttng-ust
$(BUILD)/bench/bench_peers: $(BUILD)/obj/bench/bench_peers.o $(BUILD)/libringmon.a $(BUILD)/bench/libtp_peers.so
	@mkdir -p $(dir $@)
	$(Q)$(CC) -o $@ $< $(BUILD)/libringmon.a $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS) -ldl

# prog_* are plain programs the e2e tests run (some know nothing of ringmon)
$(BUILD)/tests/prog_%: tests/prog_%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(BASEFLAGS) $(CFLAGS) $(MONGO_CFLAGS) $(URCU_CFLAGS) -o $@ $< $(BUILD)/libringmon.a $(LDFLAGS_ALL) $(URCU_LIBS) $(MONGO_LIBS)
$(TEST_PROGS): $(BUILD)/libringmon.a

test: all $(TEST_BINS) $(TEST_PROGS)
	$(Q)BUILD=$(BUILD) tests/run.sh $(TEST_BINS)

# N full runs of the suite in a row (N=10; LOAD=1 keeps one core busy meanwhile):
# the proof that it is green every time
test-repeat: all $(TEST_BINS) $(TEST_PROGS)
	$(Q)BUILD=$(BUILD) scripts/repeat-tests.sh $(or $(N),10) $(if $(LOAD),--load) $(TEST_BINS)

# the cmocka programs alone (unit and stress), e.g. under SAN=asan or SAN=tsan
test-unit: all $(TEST_BINS) $(TEST_PROGS)
	$(Q)BUILD=$(BUILD) NO_E2E=1 tests/run.sh $(TEST_BINS)

bench: all $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) bench/run.sh

demo: all
	$(Q)BUILD=$(BUILD) scripts/demo.sh

# 10 minutes at 200k events/s with top attached (not in CI); SOAK_ARGS="SECONDS RATE THREADS"
soak: all
	$(Q)BUILD=$(BUILD) scripts/soak.sh $(SOAK_ARGS)

fuzz:
	$(Q)FUZZ_BUILD=$(BUILD)/fuzz scripts/fuzz.sh $(or $(SECONDS_PER_TARGET),60)

check-headers:
	$(Q)for h in producer/ringmon.h producer/ringmon_mongoc.h; do [ -f $$h ] || continue; \
		echo "#include \"$$h\"" | $(CC) -std=c11 -Wall -Werror $(MONGO_CFLAGS) -x c -fsyntax-only - || exit 1; \
		echo "#include \"$$h\"" | g++ -std=c++11 -Wall -Werror $(MONGO_CFLAGS) -x c++ -fsyntax-only - || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/ringmon $(DESTDIR)$(PREFIX)/bin
	install -m 0644 $(BUILD)/libringmon.a $(DESTDIR)$(PREFIX)/lib/
	install -m 0755 $(BUILD)/libringmon.so $(DESTDIR)$(PREFIX)/lib/libringmon.so.$(VERSION)
	ln -sf libringmon.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libringmon.so.$(SOVERSION)
	ln -sf libringmon.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libringmon.so
	$(if $(PRELOAD_LIB),install -m 0755 $(PRELOAD_LIB) $(DESTDIR)$(PREFIX)/lib/)
	install -m 0644 producer/ringmon.h $(wildcard producer/ringmon_mongoc.h) $(DESTDIR)$(PREFIX)/include/ringmon/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' producer/ringmon.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ringmon.pc
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build

# keep the test objects between runs (make would delete them as intermediates)
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
