//! Model self-test (until the sealed model arrives with key release): load a
//! plain model blob from fw_cfg `opt/appliance/model`, run it on the lines of
//! `opt/appliance/model-input`, and print every output as raw f32 bits so the
//! test suite can compare the guest with `image-builder embed` bit for bit.
//!
//! Inputs are text for the sentence embedder and comma-separated numbers for
//! the MLP classifier. Test-only: a real deployment never prints outputs.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use embed_engine::mlp::MlpModel;
use embed_engine::{BlobError, Embedder};
use kernel::{println, BootInfo};

const MAX_MODEL: usize = 64 << 20;
const MAX_INPUT: usize = 1 << 20;

fn fail(what: &str, err: &dyn core::fmt::Display) -> ! {
    println!("model self-test: FAILED: {what}: {err}");
    kernel::exit(kernel::ExitCode::Failure)
}

fn read(info: &BootInfo, name: &str, max: usize) -> Vec<u8> {
    let Some(fw) = info.fw_cfg.as_ref() else {
        fail(name, &"no fw_cfg")
    };
    let file = fw.find(name).unwrap_or_else(|e| fail(name, &e));
    let size = file.size as usize;
    if size > max {
        fail(name, &"larger than the self-test reads");
    }
    // Streamed: DMA when the device has it (the model is tens of MiB).
    let mut data = Vec::new();
    if data.try_reserve_exact(size).is_err() {
        fail(name, &"no room in the heap");
    }
    fw.stream_file(file, |piece| data.extend_from_slice(piece))
        .unwrap_or_else(|e| fail(name, &e));
    data
}

fn print_output(index: usize, values: &[f32]) {
    let mut line = String::with_capacity(values.len() * 9 + 24);
    let _ = write!(line, "model-output {index} ");
    for (i, v) in values.iter().enumerate() {
        let _ = write!(line, "{}{:08x}", if i == 0 { "" } else { "," }, v.to_bits());
    }
    println!("{line}");
}

pub fn run(info: &BootInfo) {
    let t0 = kernel::time::tsc();
    let blob = read(info, "opt/appliance/model", MAX_MODEL);
    let input = read(info, "opt/appliance/model-input", MAX_INPUT);
    let Ok(input) = core::str::from_utf8(&input) else {
        fail("model-input", &"not UTF-8")
    };
    let load_us = kernel::time::us_since(t0);
    // Chosen by the kernel at boot from CPUID it trusts (the CPUID page under SNP).
    let kernel_choice = info.cpu.kernel;
    let t1 = kernel::time::tsc();
    let mut count = 0usize;
    match MlpModel::load(&blob) {
        Ok(mut mlp) => {
            for (i, line) in input.lines().enumerate() {
                let mut values = Vec::new();
                for field in line.split(',') {
                    match field.trim().parse::<f32>() {
                        Ok(v) => values.push(v),
                        Err(_) => fail("model-input", &"not a number"),
                    }
                }
                let logits = mlp
                    .logits(kernel_choice, &values)
                    .unwrap_or_else(|e| fail("mlp", &e));
                print_output(i, logits);
                count += 1;
            }
        }
        Err(BlobError::UnknownModelKind(_)) => {
            let mut embedder = Embedder::with_kernel(&blob, kernel_choice)
                .unwrap_or_else(|e| fail("model blob", &e));
            crate::vcpus::use_all(&mut embedder);
            for (i, line) in input.lines().enumerate() {
                let v = embedder.embed(line).unwrap_or_else(|e| fail("embed", &e));
                print_output(i, &v);
                count += 1;
            }
        }
        Err(e) => fail("model blob", &e),
    }
    println!(
        "model self-test: {} outputs, kernel {}, {} vCPUs, model {} KiB read in {} us, inference {} us",
        count,
        kernel_choice.name(),
        1 + kernel::smp::workers(),
        blob.len() >> 10,
        load_us,
        kernel::time::us_since(t1)
    );
}
