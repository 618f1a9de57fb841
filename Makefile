# ember: one plain Makefile (design.md §2).
#   make            build/ember and the test guests under build/guest/
#   make test       every test tier that exists (unit, unit under ASan+UBSan, guest)
#   make deps       install the Debian packages the build, tests and lab need
#   make demo       boot something real and show its console
#   make SANITIZE=1 ASan+UBSan build in build/san/
#   make V=1        show the commands

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
B := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT := -O1 -g
else
B := build
SANFLAGS :=
OPT := -O2 -g
endif

Q := @
ifeq ($(V),1)
Q :=
endif

WARN := -Wall -Wextra -Werror -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wmissing-declarations -Wold-style-definition -Wredundant-decls -Wundef \
	-Wwrite-strings -Wshadow -Wvla -Wno-unused-parameter
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -fcf-protection
PKGS := jansson libmicrohttpd liburing
CPPFLAGS += -Iinclude -D_GNU_SOURCE -MMD -MP
CFLAGS += -std=c11 $(OPT) $(WARN) $(HARDEN) $(SANFLAGS) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS += -pie -Wl,-z,noexecstack,-z,relro,-z,now $(SANFLAGS)
LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -ljansson -lmicrohttpd -luring) -lpthread

SRCS := $(shell find src -name '*.c' | sort)
MAIN_SRC := src/vmm/main.c
SWITCH_SRC := src/comms/switch_main.c
LIB_SRCS := $(filter-out $(MAIN_SRC) $(SWITCH_SRC),$(SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
MAIN_OBJ := $(MAIN_SRC:%.c=$(B)/obj/%.o)
SWITCH_OBJ := $(SWITCH_SRC:%.c=$(B)/obj/%.o)
LIB := $(B)/libember.a

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/unit/%)

.PHONY: all test unit-test unit-build host-test api-test guest-test comms-test deps demo bench clean
all: $(B)/ember $(B)/ember-switch guests

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/ember: $(MAIN_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/ember-switch: $(SWITCH_OBJ) $(LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- unit tests (cmocka, no /dev/kvm) ---------------------------------------
$(B)/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -Wno-missing-declarations \
		-o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka

unit-build: $(UNIT_BINS)
unit-test: $(UNIT_BINS)
	$(Q)tests/unit/run.sh $(UNIT_BINS)

include tests/guest/guest.mk
include tests/lab/lab.mk

# --- host tests: ember's CLI, config, KVM error paths, console, signals ------
build/host/kvmfault.so: tests/host/kvmfault.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $< -ldl

# ember's ACPI tables written to files, for `iasl -d` (tests/host/acpi_iasl.sh).
$(B)/host/acpi_dump: tests/host/acpi_dump.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# ember-switch's end-to-end client: real comms links (uses ring_internal.h
# to play a hostile peer).
$(B)/switch/peer: tests/switch/peer.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CPPFLAGS) -Isrc/comms $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

host-test: $(B)/ember $(B)/ember-switch $(B)/switch/peer guests build/host/kvmfault.so \
	   $(B)/host/acpi_dump
	$(Q)tests/host/cli.sh
	$(Q)tests/host/console.sh
	$(Q)ACPI_DUMP=$(B)/host/acpi_dump tests/host/acpi_iasl.sh
	$(Q)SWITCH=$(B)/ember-switch tests/switch/udhcpc.sh
	$(Q)SWITCH=$(B)/ember-switch PEER=$(B)/switch/peer tests/switch/peers.sh

# --- comms ring: two-process stress test, and its benchmark -----------------
$(B)/comms/stress: tests/comms/stress.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(B)/bench/ring: bench/ring.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

comms-test: $(B)/comms/stress
	$(Q)$(B)/comms/stress

# --- API tests: the real ember on a real socket, driven by curl/python -----
api-test: $(B)/ember guests
	$(Q)tests/api/boot_flow.sh
	$(Q)tests/api/run.sh

test: all
	$(Q)$(MAKE) --no-print-directory unit-test
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 unit-test
	$(Q)$(MAKE) --no-print-directory comms-test
	$(Q)$(MAKE) --no-print-directory guest-test
	$(Q)$(MAKE) --no-print-directory host-test
	$(Q)$(MAKE) --no-print-directory api-test
	$(Q)$(MAKE) --no-print-directory lab-test

deps:
	$(Q)scripts/deps.sh

demo:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

bench: all
	$(Q)bench/startup.sh
	$(Q)bench/api.sh
	$(Q)bench/ring.sh

clean:
	rm -rf build

-include $(shell find $(B)/obj $(B)/unit $(B)/host $(B)/comms $(B)/bench $(B)/switch -name '*.d' 2>/dev/null)
