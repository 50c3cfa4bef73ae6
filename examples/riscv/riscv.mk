# examples/riscv/riscv.mk: the riscv64 SMP test kernel (examples/riscv/README.md)
# Included by the top-level Makefile (run make from the repository root);
# uses its variables: BUILD, CSTD, WARN, SRCS and HDRS.
# An S-mode kernel for QEMU's virt machine under OpenSBI: four harts
# allocate and free at once from one analloc through per-CPU stores, with
# an amoswap spinlock as the lock hooks; booted with 64 MiB and 512 MiB, and
# negative controls that must fail.  Logs in $(BUILD)/riscv/*.log.
# Needs riscv64-linux-gnu-gcc and qemu-system-riscv64 (Debian:
# gcc-riscv64-linux-gnu, qemu-system-misc).
# RV_CPU_STORES=0 builds the harts' calls on analloc_alloc/analloc_free
# (for a library without the per-CPU stores' engine).
RISCV_CC      ?= riscv64-linux-gnu-gcc
RISCV_TIMEOUT ?= 120
RV_CPU_STORES ?= 0
RISCV_ARCH    := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany
RISCV_CFLAGS  := $(CSTD) $(RISCV_ARCH) -O2 -g $(WARN) -ffreestanding -nostdlib -fno-builtin \
                 -fno-stack-protector -fno-pie -DBUDDY_NO_STATIC_AREA \
                 -DRV_CPU_STORES=$(RV_CPU_STORES) -Iinclude
# The kernel's object and ELF carry RV_CPU_STORES in their names.
RISCV_ELF     := $(BUILD)/riscv/analloc-riscv-stores$(RV_CPU_STORES).elf
RISCV_KOBJ    := $(BUILD)/riscv/obj/kernel-stores$(RV_CPU_STORES).o
RISCV_OBJS    := $(BUILD)/riscv/obj/boot.o $(RISCV_KOBJ) \
                 $(addprefix $(BUILD)/riscv/obj/,$(notdir $(SRCS:.c=.o)))
$(BUILD)/riscv/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(RISCV_CC) $(RISCV_CFLAGS) -c $< -o $@
$(RISCV_KOBJ): examples/riscv/kernel.c $(HDRS) examples/riscv/riscv.mk
	@mkdir -p $(@D)
	$(RISCV_CC) $(RISCV_CFLAGS) -c $< -o $@
$(BUILD)/riscv/obj/boot.o: examples/riscv/boot.S
	@mkdir -p $(@D)
	$(RISCV_CC) $(RISCV_ARCH) -c $< -o $@
$(RISCV_ELF): $(RISCV_OBJS) examples/riscv/linker.ld
	$(RISCV_CC) $(RISCV_ARCH) -nostdlib -fno-pie -no-pie -static -Wl,--build-id=none,--no-warn-rwx-segments \
	  -T examples/riscv/linker.ld -o $@ $(RISCV_OBJS)
.PHONY: riscv
riscv: $(RISCV_ELF)
	@sh examples/riscv/run.sh $< $(BUILD)/riscv $(RISCV_TIMEOUT)
