// Link the guest with the kernel's layout script (memory map, image footer).
fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("x86_64-target") {
        println!("cargo:rustc-link-arg-bins=-T{manifest}/../kernel/layout.ld");
        println!("cargo:rustc-link-arg-bins=--no-pie");
        println!("cargo:rustc-link-arg-bins=--build-id=none");
    }
    println!("cargo:rerun-if-changed=../kernel/layout.ld");
}
