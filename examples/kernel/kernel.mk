# examples/kernel/kernel.mk: test kernel (examples/kernel/README.md)
# Included by the top-level Makefile (run make from the repository root);
# uses its variables: BUILD, CSTD, WARN, SRCS and HDRS.
# A multiboot i386 kernel that gives QEMU's RAM to analloc (struct and
# metadata inside the managed memory) and self-tests on real memory, booted
# with 8M, 128M, 3G and 4G of RAM, a map with holes, the mem_upper fallback,
# and negative controls that must fail.  Logs in $(BUILD)/kernel/*.log.
# Needs qemu-system-i386 (Debian: qemu-system-x86).
KERNEL_CC      ?= gcc
KERNEL_TIMEOUT ?= 60
KERNEL_CFLAGS  := $(CSTD) -m32 -O2 -g $(WARN) -ffreestanding -nostdlib -fno-builtin \
                  -fno-stack-protector -fno-pic -fno-pie -mno-sse -mno-mmx \
                  -DBUDDY_NO_STATIC_AREA -Iinclude
KERNEL_OBJS    := $(addprefix $(BUILD)/kernel/obj/,boot.o kernel.o $(notdir $(SRCS:.c=.o)))
$(BUILD)/kernel/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/kernel/obj/kernel.o: examples/kernel/kernel.c $(HDRS)
	@mkdir -p $(@D)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@
$(BUILD)/kernel/obj/boot.o: examples/kernel/boot.S
	@mkdir -p $(@D)
	$(KERNEL_CC) -m32 -c $< -o $@
$(BUILD)/kernel/analloc-kernel.elf: $(KERNEL_OBJS) examples/kernel/linker.ld
	ld -m elf_i386 -z noexecstack -T examples/kernel/linker.ld -o $@ $(KERNEL_OBJS)
.PHONY: kernel
kernel: $(BUILD)/kernel/analloc-kernel.elf
	@sh examples/kernel/run.sh $< $(BUILD)/kernel $(KERNEL_TIMEOUT)
