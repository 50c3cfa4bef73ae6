# examples/riscv/riscv.mk: the riscv64 SMP test kernel (examples/riscv/README.md)
# Included by the top-level Makefile (run make from the repository root);
# uses its variables: BUILD, CSTD, WARN, SRCS and HDRS.
# An S-mode kernel for QEMU's virt machine under OpenSBI: four harts
# allocate and free at once from one analloc through per-CPU stores, with
# an amoswap spinlock as the lock hooks; booted with 64 MiB, 512 MiB and
# 16 MiB under pressure, and negative controls that must fail.  The same
# kernel on the plain calls (analloc_alloc/analloc_free, no stores) runs
# once more.  Logs in $(BUILD)/riscv/*.log.
# Needs riscv64-linux-gnu-gcc and qemu-system-riscv64 (Debian:
# gcc-riscv64-linux-gnu, qemu-system-misc).
# RV_CPU_STORES=0 makes the plain-call kernel the main one (for a library
# without the per-CPU stores' engine).
RISCV_CC      ?= riscv64-linux-gnu-gcc
RISCV_TIMEOUT ?= 120
RV_CPU_STORES ?= 1
RISCV_ARCH    := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
RISCV_CFLAGS  := $(CSTD) $(RISCV_ARCH) -O2 -g $(WARN) -ffreestanding -nostdlib -fno-builtin \
                 -fno-stack-protector -fno-pie -DBUDDY_NO_STATIC_AREA -Iinclude
RISCV_LIBOBJS := $(addprefix $(BUILD)/riscv/obj/,$(notdir $(SRCS:.c=.o)))
# analloc-riscv-stores1.elf: the harts call analloc_cpu_alloc/analloc_cpu_free;
# analloc-riscv-stores0.elf: analloc_alloc/analloc_free.
$(BUILD)/riscv/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(RISCV_CC) $(RISCV_CFLAGS) -c $< -o $@
$(BUILD)/riscv/obj/kernel-stores%.o: examples/riscv/kernel.c $(HDRS)
	@mkdir -p $(@D)
	$(RISCV_CC) $(RISCV_CFLAGS) -DRV_CPU_STORES=$* -c $< -o $@
$(BUILD)/riscv/obj/boot.o: examples/riscv/boot.S
	@mkdir -p $(@D)
	$(RISCV_CC) $(RISCV_ARCH) -c $< -o $@
$(BUILD)/riscv/analloc-riscv-stores%.elf: $(BUILD)/riscv/obj/boot.o \
  $(BUILD)/riscv/obj/kernel-stores%.o $(RISCV_LIBOBJS) examples/riscv/linker.ld
	$(RISCV_CC) $(RISCV_ARCH) -nostdlib -fno-pie -no-pie -static \
	  -Wl,--build-id=none,--no-warn-rwx-segments -T examples/riscv/linker.ld -o $@ \
	  $(filter %.o,$^)
.PHONY: riscv
riscv: $(BUILD)/riscv/analloc-riscv-stores$(RV_CPU_STORES).elf $(BUILD)/riscv/analloc-riscv-stores0.elf
	@sh examples/riscv/run.sh $(BUILD)/riscv/analloc-riscv-stores$(RV_CPU_STORES).elf \
	  $(BUILD)/riscv/analloc-riscv-stores0.elf $(BUILD)/riscv $(RISCV_TIMEOUT)
