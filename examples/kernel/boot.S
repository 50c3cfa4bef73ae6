/*
 * boot.S - multiboot (v1) entry for the analloc test kernel (i386).
 *
 * The multiboot header (no flag asks for anything but page-aligned modules
 * and the memory information: an ELF image needs no address fields), a
 * 32 KiB stack in .bss, the entry point that calls kmain(magic, info), and
 * 32 exception stubs that report a CPU exception on the serial port (via
 * kexception in kernel.c) instead of a silent triple fault.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-aligned modules, bit 1: memory info */

    .section .multiboot, "a"
    .balign 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .bss
    .balign 16
stack_bottom:
    .skip 32768
stack_top:

    .section .text
    .globl _start
    .type _start, @function
_start:
    cli
    mov $stack_top, %esp
    xor %ebp, %ebp
    /* Our own flat GDT: the multiboot spec leaves GDTR undefined, and the
     * exception gates need a valid code selector. */
    lgdt gdt_ptr
    ljmp $0x08, $1f
1:  mov $0x10, %cx
    mov %cx, %ds
    mov %cx, %es
    mov %cx, %fs
    mov %cx, %gs
    mov %cx, %ss
    push %ebx               /* multiboot information (physical address) */
    push %eax               /* 0x2BADB002 from a multiboot loader */
    call kmain
    /* kmain never returns; if it does, report 3 (QEMU exits with 7). */
    mov $3, %eax
    mov $0xf4, %dx
    outl %eax, %dx
3:  cli
    hlt
    jmp 3b

/* CPU exceptions 0-31: push a dummy error code where the CPU pushes none,
 * then the vector, and call kexception(vector, error, eip). */
    .macro stub n
    .globl isr\n
isr\n:
    .if !(\n == 8 || (\n >= 10 && \n <= 14) || \n == 17 || \n == 21 || \n == 29 || \n == 30)
    push $0
    .endif
    push $\n
    jmp isr_common
    .endm

    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    stub \n
    .endr

isr_common:
    /* stack: vector, error, eip, cs, eflags */
    mov 8(%esp), %eax       /* eip */
    push %eax
    push 8(%esp)            /* error (now at 8 after the push) */
    push 8(%esp)            /* vector (now at 8 after two pushes) */
    call kexception         /* does not return */
2:  cli
    hlt
    jmp 2b

    .section .data
    .balign 8
gdt:
    .quad 0                     /* null */
    .quad 0x00cf9a000000ffff    /* 0x08: code, base 0, limit 4 GiB, 32-bit */
    .quad 0x00cf92000000ffff    /* 0x10: data, base 0, limit 4 GiB */
gdt_ptr:
    .word gdt_ptr - gdt - 1
    .long gdt

    /* The table of stub addresses, for kernel.c to fill the IDT. */
    .section .rodata
    .balign 4
    .globl isr_table
isr_table:
    .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long isr\n
    .endr

    .section .note.GNU-stack, "", @progbits
