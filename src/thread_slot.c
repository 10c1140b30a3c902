/* The thread slots: per-thread variables that must be reachable in a couple of instructions.
 *
 * - stackless_thread_slot: where each thread keeps the pointer to its libstackless state.
 *   Defined here, in C, only to get the initial-exec TLS model: stable Rust cannot choose a
 *   model, and in a shared library its `thread_local!` compiles to a call to __tls_get_addr
 *   on every access (about 11 instructions plus the call, on every API call). With
 *   initial-exec the slot sits at a fixed offset from the thread pointer and
 *   src/thread_slot.rs reads it with two instructions of inline assembly (x86_64 Linux;
 *   other targets keep a Rust thread_local!).
 * - _PyStackless_TryStacklessFlag: the stackless flag of the soft-switching protocol
 *   (Stackless's `try_stackless`), exported: the header's STACKLESS_* macros read and write
 *   it inline, and the library through src/thread_slot.rs (`TryFlag`).
 *
 * Initial-exec in a shared library needs a few bytes of the static TLS block that glibc and
 * musl reserve for libraries loaded with dlopen; twelve bytes always fit. */
#if defined(__x86_64__) && defined(__linux__)
__attribute__((tls_model("initial-exec"), visibility("hidden"))) __thread void *stackless_thread_slot;
#endif

__attribute__((tls_model("initial-exec"), visibility("default"))) __thread int _PyStackless_TryStacklessFlag;

/* The flag's address, for targets where Rust cannot reach it with inline assembly. */
int *stackless_try_flag_ptr(void);
int *stackless_try_flag_ptr(void) {
    return &_PyStackless_TryStacklessFlag;
}
