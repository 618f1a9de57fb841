# Freestanding test guests (tests/guest/README.md), included by the top Makefile.
#   make guests       build/guest/<name>.elf for each tests/guest/<name>.c
#   make guest-test   boot each under build/ember on /dev/kvm (tests/guest/run.sh)
# Always under build/guest/ (also with SANITIZE=1: the guests are not sanitized).

GUEST_CC ?= gcc
GUEST_DIR := tests/guest
GUEST_OUT := build/guest
GUEST_NAMES := $(basename $(notdir $(wildcard $(GUEST_DIR)/*.c)))
GUEST_ELFS := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)
GUEST_LIB_OBJS := $(GUEST_OUT)/obj/crt0.o $(GUEST_OUT)/obj/lib.o
# virtio-mmio driver (lib/virtio.c): linked into every guest, used by blk and hostile
GUEST_LIB_OBJS += $(GUEST_OUT)/obj/virtio.o
GUEST_VIRTIO_USERS := $(GUEST_OUT)/obj/virtio.o $(GUEST_OUT)/obj/guest_blk.o $(GUEST_OUT)/obj/guest_hostile.o \
	$(GUEST_OUT)/obj/guest_rng.o $(GUEST_OUT)/obj/guest_balloon.o $(GUEST_OUT)/obj/guest_vsock.o \
	$(GUEST_OUT)/obj/guest_net.o
GUEST_LD := $(GUEST_DIR)/lib/guest.ld

GUEST_CFLAGS := -std=c11 -ffreestanding -nostdlib -fno-builtin -mno-red-zone -fno-pic -fno-pie \
	-mgeneral-regs-only -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-tree-loop-distribute-patterns \
	-O2 -g -Wall -Wextra -Werror -I$(GUEST_DIR)
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_LD) -Wl,-z,max-page-size=4096 \
	-Wl,-z,noexecstack -Wl,--build-id=none

.PHONY: guests guest-test
.PRECIOUS: $(GUEST_OUT)/obj/%.o $(GUEST_OUT)/obj/guest_%.o
guests: $(GUEST_ELFS)

$(GUEST_OUT)/obj/%.o: $(GUEST_DIR)/lib/%.S $(GUEST_DIR)/lib/guest.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $<")
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/obj/%.o: $(GUEST_DIR)/lib/%.c $(GUEST_DIR)/lib/guest.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/obj/guest_%.o: $(GUEST_DIR)/%.c $(GUEST_DIR)/lib/guest.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/obj/guest_%.o $(GUEST_LIB_OBJS) $(GUEST_LD)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_OBJS) $<

guest-test: guests $(B)/ember $(B)/ember-switch
	$(Q)EMBER=$(B)/ember EMBER_SWITCH=$(B)/ember-switch GUEST_DIR=$(GUEST_OUT) $(GUEST_DIR)/run.sh

$(GUEST_VIRTIO_USERS): $(GUEST_DIR)/lib/virtio.h
