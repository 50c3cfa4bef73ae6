/*
 * boot.S - entry of the analloc riscv64 test kernel (S-mode, MMU off).
 *
 * OpenSBI (fw_dynamic) enters one hart, chosen by lottery, at _start with
 * a0 = hart id, a1 = the device tree.  That hart claims the boot (an
 * amoswap on boot_claim, so a second hart that ever arrived here would park
 * instead of clearing .bss under the first one's feet), clears .bss, takes
 * the stack of its hart id and calls kmain(hartid, fdt).  The other harts
 * are started by kmain through SBI HSM at secondary_entry with a0 = hart
 * id, a1 = the opaque value (unused), and call secondary_main(hartid).
 *
 * Each hart: tp = its hart id (the C code reads it; GCC does not use tp
 * without thread-local data), stvec = trap_entry, interrupts off (sie = 0),
 * a 16 KiB stack: stacks + (hartid + 1) * 16 KiB, hart ids below RV_MAXH.
 *
 * trap_entry: any trap (exceptions only: no interrupt is enabled) calls
 * ktrap(scause, sepc, stval, hartid) on a fresh stack, which reports and
 * ends the run through the test device; it never returns.
 */
#define RV_MAXH 8
#define STACK_SHIFT 14 /* 16 KiB */

    .section .text.entry, "ax"
    .globl _start
_start:
    csrw sie, zero
    la t0, trap_entry
    csrw stvec, t0
    mv tp, a0
    la t0, boot_claim
    li t1, 1
    amoswap.w.aq t1, t1, (t0)
    bnez t1, park
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  fence rw, rw
    jal t2, set_stack
    call kmain          /* a0, a1 as OpenSBI left them */
    j park

    .text
    .globl secondary_entry
    .balign 4
secondary_entry:
    csrw sie, zero
    la t0, trap_entry
    csrw stvec, t0
    mv tp, a0
    jal t2, set_stack
    call secondary_main
    j park

/* sp = stacks + (tp + 1) << STACK_SHIFT; park a hart id out of range. */
set_stack:
    li t0, RV_MAXH
    bgeu tp, t0, park
    la sp, stacks
    addi t1, tp, 1
    slli t1, t1, STACK_SHIFT
    add sp, sp, t1
    jr t2

    .globl park
park:
    wfi
    j park

    .balign 4
    .globl trap_entry
trap_entry:
    csrr a0, scause
    csrr a1, sepc
    csrr a2, stval
    mv a3, tp
    li t0, RV_MAXH
    bgeu tp, t0, park
    jal t2, set_stack   /* the trap may come from a broken stack */
    call ktrap
    j park

    .data
    .balign 4
boot_claim:
    .word 0

    .bss
    .balign 16
    .globl stacks
stacks:
    .skip RV_MAXH << STACK_SHIFT
