# CPU exception entry stubs: push a uniform frame (vector, error code) and
# hand it to Rust. Every exception is fatal in this appliance, so the common
# path never returns. The one exception is #VC (vector 29, `vc_entry`): it
# can be resolved (CPUID from the CPUID page, RDTSC through the GHCB), so its
# stub saves every register and the SSE state, and returns.
    .section .text.exceptions, "ax"
    .code64

    .macro EXC_NOERR n
exc_stub_\n:
    pushq $0
    pushq $\n
    jmp exc_common
    .endm

    .macro EXC_ERR n
exc_stub_\n:
    pushq $\n
    jmp exc_common
    .endm

    EXC_NOERR 0
    EXC_NOERR 1
    EXC_NOERR 2
    EXC_NOERR 3
    EXC_NOERR 4
    EXC_NOERR 5
    EXC_NOERR 6
    EXC_NOERR 7
    EXC_ERR   8
    EXC_NOERR 9
    EXC_ERR   10
    EXC_ERR   11
    EXC_ERR   12
    EXC_ERR   13
    EXC_ERR   14
    EXC_NOERR 15
    EXC_NOERR 16
    EXC_ERR   17
    EXC_NOERR 18
    EXC_NOERR 19
    EXC_NOERR 20
    EXC_ERR   21
    EXC_NOERR 22
    EXC_NOERR 23
    EXC_NOERR 24
    EXC_NOERR 25
    EXC_NOERR 26
    EXC_NOERR 27
    EXC_NOERR 28
    EXC_ERR   29
    EXC_ERR   30
    EXC_NOERR 31

exc_common:
    cld                             # the ABI wants DF=0 (memmove sets it briefly)
    movq %rsp, %rdi                 # &ExceptionFrame
    andq $-16, %rsp
    call exception_handler
9:  hlt
    jmp 9b

# #VC: the CPU pushed SS, RSP, RFLAGS, CS, RIP and the error code (the SVM
# exit code). Save the general registers (guest/kernel/src/interrupts.rs VcFrame,
# lowest address first: r15 .. rax), then the x87/SSE state (Rust code uses
# SSE; the handler never runs VEX code, so the AVX upper halves survive).
    .globl vc_entry
vc_entry:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rbx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rbx                 # &VcFrame (rbx is callee-saved)
    subq $512, %rsp
    andq $-16, %rsp
    fxsave64 (%rsp)
    cld
    movq %rbx, %rdi
    call vc_handler
    fxrstor64 (%rsp)
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rbx
    popq %rdx
    popq %rcx
    popq %rax
    addq $8, %rsp                   # error code
    iretq

# Device and timer interrupts. They are enabled only for the `hlt` in
# `arch::wait_for_interrupt`, which exists to be woken: each stub records
# its vector in IRQ_SEEN (guest/kernel/src/idle.rs) and returns, touching no
# register (`lock or` changes only flags, and iretq restores them). The
# end-of-interrupt is sent afterwards, in normal code.
    .globl irq_timer_entry, irq_net_entry, irq_spurious_entry
irq_timer_entry:
    lock orl $1, IRQ_SEEN(%rip)
    iretq
irq_net_entry:
    lock orl $2, IRQ_SEEN(%rip)
    iretq
irq_spurious_entry:                 # no EOI for the spurious vector
    iretq

    .section .rodata.exceptions, "a"
    .balign 8
    .globl exception_stubs
exception_stubs:
    .quad exc_stub_0, exc_stub_1, exc_stub_2, exc_stub_3
    .quad exc_stub_4, exc_stub_5, exc_stub_6, exc_stub_7
    .quad exc_stub_8, exc_stub_9, exc_stub_10, exc_stub_11
    .quad exc_stub_12, exc_stub_13, exc_stub_14, exc_stub_15
    .quad exc_stub_16, exc_stub_17, exc_stub_18, exc_stub_19
    .quad exc_stub_20, exc_stub_21, exc_stub_22, exc_stub_23
    .quad exc_stub_24, exc_stub_25, exc_stub_26, exc_stub_27
    .quad exc_stub_28, exc_stub_29, exc_stub_30, exc_stub_31
