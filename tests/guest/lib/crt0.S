/* Test-guest entry code (tests/guest/README.md).
 *
 * Two entries into one image linked at 1 MiB:
 *   _start64     Linux 64-bit boot protocol (ELF e_entry): long mode, VMM page
 *                tables (first 1 GiB), RSI = boot_params.
 *   pvh_start32  Xen PVH (ELF note XEN_ELFNOTE_PHYS32_ENTRY): 32-bit protected
 *                mode, paging off, EBX = hvm_start_info.
 * Both zero .bss, switch to the guest's own GDT and 4 GiB identity page tables
 * and call guest_start(proto, info) in lib.c.
 * ap_tramp_start..ap_tramp_end is a 16-bit SIPI trampoline the guest copies
 * below 1 MiB; it enters ap_start32 -> long mode -> ap_main(ticket). */

#define PROTO_LINUX 1
#define PROTO_PVH 2
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define STACK_SIZE 16384
#define STACK_SHIFT 14
#define MAX_APS 7
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR4_PAE 0x20
#define CR0_PE_PG 0x80000001

	.section .text.entry, "ax"

/* ---- Linux 64-bit entry (must be first: it is e_entry) ---------------- */
	.code64
	.globl _start64
_start64:
	cli
	cld
	mov	%rsi, %r12
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	shr	$3, %ecx
	xor	%eax, %eax
	rep stosq
	mov	$boot_stack_top, %esp
	mov	$PROTO_LINUX, %edi
	mov	%r12, %rsi
	jmp	common64

/* ---- Xen PVH 32-bit entry -------------------------------------------- */
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	lgdt	gdtr
	ljmp	$SEL_CODE32, $1f
1:	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$__bss_start, %edi	/* EBX (start info) survives the rep stos */
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	shr	$2, %ecx
	xor	%eax, %eax
	rep stosl
	mov	$boot_stack_top, %esp
	mov	$PROTO_PVH, %edi
	mov	%ebx, %esi
	mov	$entry64_from32, %ebp
	jmp	enter_long32

/* 32-bit protected mode (flat, our GDT) -> long mode, then far return to
 * SEL_CODE64:%ebp. Needs a stack; preserves %edi, %esi. */
enter_long32:
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$guest_pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$CR0_PE_PG, %eax
	mov	%eax, %cr0
	pushl	$SEL_CODE64
	pushl	%ebp
	lret

/* AP: arrives from the trampoline on SEL_CODE32. */
	.globl ap_start32
ap_start32:
	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%eax, %fs
	mov	%eax, %gs
	mov	$1, %eax
	lock xaddl %eax, ap_ticket
	cmp	$MAX_APS, %eax
	jae	ap_park32
	mov	%eax, %edi
	inc	%eax
	shl	$STACK_SHIFT, %eax
	add	$ap_stacks, %eax
	mov	%eax, %esp
	mov	$ap_entry64, %ebp
	jmp	enter_long32
ap_park32:
	cli
	hlt
	jmp	ap_park32

/* ---- common 64-bit code ---------------------------------------------- */
	.code64
entry64_from32:
	mov	%edi, %edi		/* upper halves are undefined after the mode switch */
	mov	%esi, %esi
	mov	%esp, %esp
	/* fall through */
common64:				/* %edi = proto, %rsi = info, stack set */
	mov	$guest_pml4, %eax
	mov	%rax, %cr3
	call	load_gdt64
	call	guest_start
1:	cli
	hlt
	jmp	1b

ap_entry64:
	mov	%edi, %edi
	mov	%esp, %esp
	call	load_gdt64
	call	ap_main
1:	cli
	hlt
	jmp	1b

/* lgdt + reload every segment register; clobbers %rax. */
load_gdt64:
	lgdt	gdtr
	mov	$SEL_DATA, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	popq	%rax			/* return address */
	pushq	$SEL_CODE64
	pushq	%rax
	lretq

/* ---- 16-bit SIPI trampoline (copied to a page below 1 MiB) ----------- */
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	(tramp_gdtr - ap_tramp_start)
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_CODE32, $ap_start32
	.balign 8
tramp_gdtr:
	.word	gdt_end - gdt - 1
	.long	gdt
ap_tramp_end:

/* ---- interrupt stubs: 256 x 16 bytes, then the common path ----------- */
	.code64
	.text
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set	vec, 0
	.rept	256
	.balign	16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0			/* no CPU error code: keep the frame uniform */
	.endif
	pushq	$vec
	jmp	isr_common
	.set	vec, vec + 1
	.endr

isr_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi		/* struct frame *; RSP is 16-byte aligned here */
	cld
	call	isr_dispatch
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rbp
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rbx
	pop	%rax
	add	$16, %rsp		/* vector, error code */
	iretq

/* ---- Xen PVH entry note ----------------------------------------------- */
	.section .note.Xen, "a", @note
	.balign 4
	.long	4			/* namesz */
	.long	4			/* descsz */
	.long	18			/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz	"Xen"
	.long	pvh_start32

/* ---- GDT (accessed bits preset: the CPU never writes it) -------------- */
	.data
	.balign 16
gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* 0x08 64-bit code */
	.quad	0x00cf93000000ffff	/* 0x10 data */
	.quad	0x00cf9b000000ffff	/* 0x18 32-bit code */
gdt_end:
	.balign 16
gdtr:
	.word	gdt_end - gdt - 1
	.quad	gdt

/* ---- page tables: identity 0-4 GiB with 2 MiB pages; 3-4 GiB PCD|PWT.
 * On pages of their own: under shadow paging, writes to a page-table page
 * are trapped and emulated. */
	.section .data.pt, "aw"
	.balign 4096
	.globl guest_pml4, guest_pdpt, guest_pd, guest_pd_spare
guest_pml4:
	.quad	guest_pdpt + 0x3
	.fill	511, 8, 0
guest_pdpt:
	.quad	guest_pd + 0x0000 + 0x3
	.quad	guest_pd + 0x1000 + 0x3
	.quad	guest_pd + 0x2000 + 0x3
	.quad	guest_pd + 0x3000 + 0x3
	.fill	508, 8, 0
guest_pd:
	.set	pdi, 0
	.rept	2048
	.if pdi >= 1536
	.quad	(pdi << 21) | 0x9b	/* P RW PWT PCD PS: MMIO gap */
	.else
	.quad	(pdi << 21) | 0x83	/* P RW PS */
	.endif
	.set	pdi, pdi + 1
	.endr
guest_pd_spare:				/* for guests that map 1 GiB above 4 GiB */
	.fill	512, 8, 0

/* ---- stacks ------------------------------------------------------------- */
	.bss
	.balign 4096
boot_stack:
	.skip	STACK_SIZE
boot_stack_top:
ap_stacks:
	.skip	STACK_SIZE * MAX_APS
	.balign 4
ap_ticket:
	.long	0

	.section .note.GNU-stack, "", @progbits
