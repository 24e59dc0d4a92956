# Reset vector -> 32-bit protected mode -> long mode. Runs from the image at
# the top of the 4 GiB space (CS.base 0xFFFF0000). Under SEV-SNP there is no
# legacy BIOS alias, so CS is never reloaded with a real-mode 0xF000 segment:
# the first far jump goes straight to a flat 32-bit selector.
#
# Register use in 32-bit code: %edi:%esi hold SEV_STATUS (lo:hi) once read,
# %ebp holds the C-bit as a mask on the high dword of a page-table entry.

    .set SEL_CODE64, 0x08
    .set SEL_DATA,   0x10
    .set SEL_CODE32, 0x18
    .set MSR_GHCB,       0xC0010130
    .set MSR_SEV_STATUS, 0xC0010131
    .set MSR_EFER,       0xC0000080
# Termination requests (reason set 1 = this appliance; guest/kernel/src/exit.rs
# lists the codes): a #VC was taken but SEV_STATUS shows neither SEV-ES nor
# SNP; SEV-ES/SNP is active but the hypervisor's CPUID denied SEV.
    .set TERM_VC_WITHOUT_SEV_ES, 0x00061100
    .set TERM_CPUID_DENIED_SEV,  0x00051100

# Long mode on the boot page tables, with SSE usable before any compiled
# code runs; then a far jump to `target` (the boot vCPU's and the APs' paths).
    .macro enter_long_mode target
    movl %cr4, %eax
    orl $0x620, %eax                # PAE | OSFXSR | OSXMMEXCPT
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $0x100, %eax                # LME
    wrmsr
    movl %cr0, %eax
    andl $0xFFFFFFFB, %eax          # clear EM
    orl $0x80010023, %eax           # PG | WP | NE | MP | PE
    movl %eax, %cr0
    ljmpl $SEL_CODE64, $\target
    .endm

# ---------------------------------------------------------------------------
    .section .rom.text16, "ax"
    .code16
    .globl reset_entry16
reset_entry16:
    cli
    cld
    rdtsc                           # reset timestamp for the boot benchmark
    movl %eax, %esi
    movl %edx, %edi
    lgdtl %cs:GDT_DESC_OFFSET
    lidtl %cs:IDT32_DESC_OFFSET
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE32, $protected_entry32

# Target of the SEV-ES reset block. Application processors are never started
# by this appliance; one that arrives here stays parked.
    .globl ap_entry16
ap_entry16:
    cli
1:  hlt
    jmp 1b

# Application processors under plain QEMU (kernel/src/smp.rs): the
# start-up IPI's page 0xFE, CS = 0xFE00, IP = 0, reached through the ISA
# BIOS alias of this page (layout.ld). Same GDT, CR4, page tables and EFER
# as the BSP's path below, then `ap_entry64`.
    .section .rom.ap16, "ax"
    .code16
    .globl ap_startup16
ap_startup16:
    cli
    cld
    lgdtl %cs:(ap_gdt_desc - ap_startup16)
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE32, $ap_protected32
    .balign 8
ap_gdt_desc:                        # gdt_desc, reachable from this page
    .word gdt_end - gdt - 1
    .long gdt

# ---------------------------------------------------------------------------
    .section .rom.text32, "ax"
    .code32
ap_protected32:
    movl $SEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    enter_long_mode ap_entry64

protected_entry32:
    movl $SEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $_stack_top, %esp
    pushl %edi                      # reset TSC, high
    pushl %esi                      # reset TSC, low

    # --- SEV detection: CPUID first (max extended leaf, then 0x8000001F),
    # --- and only then SEV_STATUS, which #GPs where SEV does not exist.
    # --- The CPUID answers come from the hypervisor (through the #VC
    # --- handler under SEV-ES/SNP), so they are not trusted to say "no
    # --- SEV": a #VC proves SEV-ES/SNP is active, and then a denial stops
    # --- the boot (OVMF halts in the same case).
    pushl $0                        # VC32_SEEN: set by vc_handler32
    xorl %edi, %edi
    xorl %esi, %esi
    xorl %ebp, %ebp
    movl $0x80000000, %eax
    xorl %ecx, %ecx
    cpuid
    cmpl $0x8000001F, %eax
    jb sev_denied_by_cpuid
    movl $0x8000001F, %eax
    xorl %ecx, %ecx
    cpuid
    btl $1, %eax                    # SEV supported
    jnc sev_denied_by_cpuid
    movl $MSR_SEV_STATUS, %ecx
    rdmsr
    movl %eax, %edi
    movl %edx, %esi
    popl %eax                       # VC32_SEEN
    testl %eax, %eax
    jz 2f
    testl $6, %edi                  # a #VC was taken: SEV-ES or SNP must be on
    jnz 2f
    movl $TERM_VC_WITHOUT_SEV_ES, %eax
    jmp terminate32

sev_denied_by_cpuid:
    popl %eax                       # VC32_SEEN
    testl %eax, %eax
    jz 2f                           # no #VC: really no SEV-ES/SNP
    movl $MSR_SEV_STATUS, %ecx      # exists: SEV-ES is active
    rdmsr
    testl $6, %eax                  # SEV_STATUS says ES/SNP, CPUID said no SEV
    movl $TERM_CPUID_DENIED_SEV, %eax   # (mov keeps the flags)
    jnz terminate32
    movl $TERM_VC_WITHOUT_SEV_ES, %eax
    jmp terminate32
2:
    testl $4, %edi                  # SNP active
    jnz snp_cbit
    testl $2, %edi                  # SEV-ES without SNP: not supported
    jnz vc_fail
    testl $1, %edi                  # plain SEV: not supported, and no GHCB
    jnz halt_forever
    jmp copy_kernel

    # --- Under SNP the C-bit comes from the CPUID page, which the secure
    # --- processor checked at launch, and must lie in [32, 51].
snp_cbit:
    movl CPUID_PAGE, %ecx           # entry count
    cmpl $64, %ecx
    ja vc_fail
    movl $CPUID_PAGE + 0x10, %edx
3:  testl %ecx, %ecx
    jz vc_fail
    cmpl $0x8000001F, (%edx)        # eax_in
    jne 4f
    cmpl $0, 4(%edx)                # ecx_in
    jne 4f
    movl 0x1C(%edx), %eax           # ebx
    andl $0x3F, %eax
    cmpl $32, %eax
    jb vc_fail
    cmpl $51, %eax
    ja vc_fail
    leal -32(%eax), %ecx
    movl $1, %ebp
    shll %cl, %ebp
    jmp copy_kernel
4:  addl $48, %edx
    decl %ecx
    jmp 3b

    # --- Copy the kernel from the image into pre-validated RAM, zero BSS.
copy_kernel:
    pushl %esi
    pushl %edi
    movl $_kernel_lma, %esi
    movl $_kernel_start, %edi
    movl $_kernel_load_end, %ecx
    subl $_kernel_start, %ecx
    rep movsb
    movl $_bss_start, %edi
    movl $_bss_end, %ecx
    subl $_bss_start, %ecx
    xorl %eax, %eax
    rep stosb
    popl %edi
    popl %esi
    movl %edi, boot_sev_status
    movl %esi, boot_sev_status + 4
    movl $0, boot_cbit_mask
    movl %ebp, boot_cbit_mask + 4
    popl %eax
    movl %eax, boot_reset_tsc
    popl %eax
    movl %eax, boot_reset_tsc + 4

    # --- Identity map of the first 4 GiB with 2 MiB pages, C-bit in every
    # --- entry under SNP (Linux does the same; walks are encrypted anyway).
    movl $boot_pdpt + 3, %eax
    movl %eax, boot_pml4
    movl %ebp, boot_pml4 + 4
    movl $boot_pd + 3, %eax
    xorl %ecx, %ecx
5:  movl %eax, boot_pdpt(,%ecx,8)
    movl %ebp, boot_pdpt + 4(,%ecx,8)
    addl $4096, %eax
    incl %ecx
    cmpl $4, %ecx
    jb 5b
    movl $0x83, %eax                # present, writable, 2 MiB
    xorl %ecx, %ecx
6:  movl %eax, boot_pd(,%ecx,8)
    movl %ebp, boot_pd + 4(,%ecx,8)
    addl $0x200000, %eax
    incl %ecx
    cmpl $2048, %ecx
    jb 6b

    # --- Long mode.
    enter_long_mode entry64

halt_forever:
    cli
7:  hlt
    jmp 7b

# ---------------------------------------------------------------------------
# 32-bit #VC handler (vector 29). Only reachable under SEV-ES/SNP, only for
# CPUID with sub-leaf 0, answered through the GHCB MSR protocol before any
# GHCB page exists. Everything else terminates the guest.
    .globl vc_handler32
vc_handler32:
    movl $1, VC32_SEEN              # SEV-ES/SNP is active, whatever CPUID says
    cmpl $0x72, (%esp)              # error code = exit code CPUID
    jne vc_fail
    movl 4(%esp), %edx
    cmpw $0xA20F, (%edx)            # the faulting bytes are 0F A2
    jne vc_fail
    testl %ecx, %ecx
    jnz vc_fail
    movl %eax, %ebx                 # leaf
    xorl %ecx, %ecx
    call vc_cpuid_reg
    pushl %edx                      # EAX
    movl $1, %ecx
    call vc_cpuid_reg
    pushl %edx                      # EBX
    movl $2, %ecx
    call vc_cpuid_reg
    pushl %edx                      # ECX
    movl $3, %ecx
    call vc_cpuid_reg               # EDX stays in %edx
    popl %ecx
    popl %ebx
    popl %eax
    addl $2, 4(%esp)                # skip the CPUID instruction
    addl $4, %esp                   # drop the error code
    iretl

# In: %ebx leaf, %ecx register index (0 EAX .. 3 EDX). Out: %edx value.
vc_cpuid_reg:
    movl %ecx, %eax
    shll $30, %eax
    orl $0x004, %eax                # GHCB MSR protocol: CPUID request
    movl %ebx, %edx
    movl $MSR_GHCB, %ecx
    wrmsr
    .byte 0xF3, 0x0F, 0x01, 0xD9    # VMGEXIT (rep vmmcall)
    movl $MSR_GHCB, %ecx
    rdmsr
    andl $0xFFF, %eax
    cmpl $0x005, %eax               # CPUID response
    jne vc_fail
    ret

# Ask the hypervisor to terminate the guest: GHCB MSR protocol termination
# request, reason set in bits 15:12, reason code in bits 23:16 (%eax).
vc_fail:
    movl $0x100, %eax               # set 0, general reason 0
terminate32:
    xorl %edx, %edx
    movl $MSR_GHCB, %ecx
    wrmsr
    .byte 0xF3, 0x0F, 0x01, 0xD9
    jmp halt_forever

# ---------------------------------------------------------------------------
    .section .rom.data, "a"
    .balign 8
gdt:
    .quad 0
    .quad 0x00AF9B000000FFFF        # 0x08: 64-bit code
    .quad 0x00CF93000000FFFF        # 0x10: flat data (writable: SS needs W)
    .quad 0x00CF9B000000FFFF        # 0x18: flat 32-bit code
gdt_end:
    .globl gdt_desc
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt
    .balign 8
idt32:
    .fill 29, 8, 0
    .word VC32_LO                   # vector 29 (#VC): 32-bit interrupt gate
    .word SEL_CODE32
    .byte 0
    .byte 0x8E
    .word VC32_HI
    .fill 2, 8, 0
idt32_end:
    .globl idt32_desc
idt32_desc:
    .word idt32_end - idt32 - 1
    .long idt32

# SEV metadata ("ASEV"): ranges the SNP launch prepares before the first
# instruction runs. Measured in this order.
    .balign 16
    .globl sev_metadata
sev_metadata:
    .ascii "ASEV"
    .long sev_metadata_end - sev_metadata
    .long 1                         # version
    .long 3                         # descriptors
    .long SECRETS_PAGE, 0x1000, 2   # SNP secrets page (VMPCKs)
    .long CPUID_PAGE, 0x1000, 3     # SNP CPUID page
    .long KERNEL_BASE, PREVALIDATED_SIZE, 1 # pre-validated: kernel, stack, page tables
sev_metadata_end:

# ---------------------------------------------------------------------------
# OVMF-compatible GUIDed table, walked backwards from its end at 4 GiB - 32.
    .section .rom.footer, "a"
    .long SEV_METADATA_OFFSET       # SEV metadata offset, from the image end
    .word 22
    .byte 0x66, 0x65, 0x88, 0xDC, 0x4A, 0x98, 0x98, 0x47, 0xA7, 0x5E, 0x55, 0x85, 0xA7, 0xBF, 0x67, 0xCC
    .long ap_entry16                # SEV-ES reset block: AP reset address
    .word 22
    .byte 0xDE, 0x71, 0xF7, 0x00, 0x7E, 0x1A, 0xCB, 0x4F, 0x89, 0x0E, 0x68, 0xC7, 0x7E, 0x2F, 0xB4, 0x4E
    .word 62                        # table length, footer included
    .byte 0xDE, 0x82, 0xB5, 0x96, 0xB2, 0x1F, 0xF7, 0x45, 0xBA, 0xEA, 0xA3, 0x66, 0xC5, 0x5A, 0x08, 0x2D

# ---------------------------------------------------------------------------
    .section .rom.reset, "ax"
    .code16
    .globl reset_vector
reset_vector:
    jmp reset_entry16
    .balign 16, 0xF4

# ---------------------------------------------------------------------------
    .section .text.entry64, "ax"
    .code64
    .globl entry64
entry64:
    movl $SEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $_stack_top, %rsp
    xorl %ebp, %ebp
    call kernel_entry
8:  hlt
    jmp 8b

# An AP takes the next ticket; tickets below AP_PREPARED name a stack
# (AP_STACK_TOPS) and an AP index for `ap_main`. Without one (more CPUs
# than prepared, or bring-up closed) the AP parks for good.
    .globl ap_entry64
ap_entry64:
    movl $SEL_DATA, %eax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl $1, %eax
    lock xaddq %rax, AP_NEXT(%rip)
    cmpq AP_PREPARED(%rip), %rax
    jae 9f
    leaq AP_STACK_TOPS(%rip), %rcx
    movq (%rcx,%rax,8), %rsp
    movq %rax, %rdi
    xorl %ebp, %ebp
    call ap_main
9:  cli
    hlt
    jmp 9b

# ---------------------------------------------------------------------------
    .section .data.boot, "aw"
    .balign 8
    .globl boot_sev_status, boot_cbit_mask, boot_reset_tsc
boot_sev_status: .quad 0
boot_cbit_mask:  .quad 0
boot_reset_tsc:  .quad 0

    .section .bss.boot_page_tables, "aw", @nobits
    .balign 4096
    .globl boot_pml4, boot_pdpt, boot_pd
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096 * 4
