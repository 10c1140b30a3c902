/* The thread slot: where each thread keeps the pointer to its libstackless state.
 *
 * It is defined here, in C, only to get the initial-exec TLS model: stable Rust cannot
 * choose a model, and in a shared library its `thread_local!` compiles to a call to
 * __tls_get_addr on every access (about 11 instructions plus the call, on every API call).
 * With initial-exec the slot sits at a fixed offset from the thread pointer and
 * src/thread_state.rs reads it with two instructions of inline assembly.
 *
 * Initial-exec in a shared library needs a few bytes of the static TLS block that glibc and
 * musl reserve for libraries loaded with dlopen; eight bytes always fit. */
#if defined(__x86_64__) && defined(__linux__)
__attribute__((tls_model("initial-exec"), visibility("hidden"))) __thread void *stackless_thread_slot;
#else
/* Other targets use Rust's thread_local! (see src/thread_state.rs); ISO C forbids an empty
 * translation unit. */
typedef int stackless_thread_slot_unused;
#endif
