//! The tiny second model end to end: scikit-learn digits MLP -> int8 blob ->
//! engine. Known answers: predictions of a numpy simulation of the same int8
//! arithmetic, and accuracy within one point of the float model.
#![allow(clippy::unwrap_used)]

use embed_engine::mlp::MlpModel;
use embed_engine::Kernel;
use model_tools::digits::DigitsExport;
use model_tools::mlp::quantize_mlp;

fn export() -> DigitsExport {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/digits_mlp.bin"
    ))
    .expect("testdata/digits_mlp.bin (tools/model/train_digits.py)");
    DigitsExport::parse(&bytes).unwrap()
}

fn accuracy(pred: &[u8], labels: &[u8]) -> f64 {
    assert_eq!(pred.len(), labels.len(), "one prediction per label");
    let ok = pred.iter().zip(labels).filter(|(a, b)| a == b).count();
    ok as f64 / labels.len() as f64
}

#[test]
fn int8_digits_match_float_accuracy_and_known_answers() {
    let kernels =
        Kernel::available_reported("digits::int8_digits_match_float_accuracy_and_known_answers");
    let d = export();
    let blob = quantize_mlp(&d.model).unwrap();
    assert!(blob.len() < 8 * 1024, "blob {} bytes", blob.len());
    assert_eq!(d.labels.len(), 450);
    for &kernel in &kernels {
        let mut m = MlpModel::load(&blob).unwrap();
        let pred: Vec<u8> = d
            .images
            .chunks_exact(64)
            .map(|img| {
                let x: Vec<f32> = img.iter().map(|&p| f32::from(p)).collect();
                m.predict(kernel, &x).unwrap() as u8
            })
            .collect();
        let (fa, ia) = (
            accuracy(&d.float_pred, &d.labels),
            accuracy(&pred, &d.labels),
        );
        println!(
            "digits [{}]: float {:.2}%, int8 {:.2}%",
            kernel.name(),
            fa * 100.0,
            ia * 100.0
        );
        assert!(ia >= fa - 0.01, "int8 accuracy {ia} vs float {fa}");
        assert_eq!(
            pred,
            d.int8_pred,
            "kernel {} vs the numpy int8 simulation",
            kernel.name()
        );
    }
}

#[test]
fn digits_blob_is_deterministic_and_rejects_bad_input() {
    let d = export();
    assert_eq!(
        quantize_mlp(&d.model).unwrap(),
        quantize_mlp(&d.model).unwrap()
    );
    let blob = quantize_mlp(&d.model).unwrap();
    let mut m = MlpModel::load(&blob).unwrap();
    assert!(m.predict(Kernel::SCALAR, &[0.0; 63]).is_err());
    assert!(m.predict(Kernel::SCALAR, &[f32::NAN; 64]).is_err());
}
