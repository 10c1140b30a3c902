//! Build script: generates `include/stackless.h` with cbindgen (the header is committed and
//! checked for drift), compiles the C shims (the C-variadic functions, the
//! initial-exec thread slot), and gives the shared library its SONAME.

use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let header_dir = dir.join("src/capi/header");
    let read = |name: &str| {
        fs::read_to_string(header_dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    };
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(&dir)
        .with_config(config)
        .with_after_include(read("prelude.h"))
        .with_trailer(read("trailer.h"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen failed: {e}"));
    // Rewrites the file only when its content changes.
    bindings.write_to_file(dir.join("include/stackless.h"));

    cc::Build::new()
        .file("src/capi/varargs.c")
        .file("src/capi/stackless_varargs.c")
        .file("src/thread_slot.c")
        .include(dir.join("include"))
        .flag_if_supported("-std=c11")
        .flag_if_supported("-fstack-clash-protection")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("stackless_varargs");

    // Without a SONAME, linking the .so by path records the absolute path as DT_NEEDED.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libstackless.so");
    // rustc's version script exports only Rust items; the thread-local flag the header's
    // protocol macros use is defined in C (thread_slot.c): export it with a second script.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("exports.map");
        fs::write(&out, "{ global: _PyStackless_TryStacklessFlag; };\n").expect("exports.map");
        println!(
            "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
            out.display()
        );
    }
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src");
}
