//! Generates the client from `docs/openapi.json` with progenitor.
//!
//! One adjustment, and only one: progenitor 0.11 takes a single request media
//! type per operation (it stops with "more media types than expected"), so an
//! operation that also accepts `application/x-www-form-urlencoded` (the public
//! form endpoint, for plain HTML forms) is generated with its JSON body only.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let path = manifest.join("../../../docs/openapi.json");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).expect("docs/openapi.json is readable");
    let mut document: serde_json::Value = serde_json::from_str(&text).expect("docs/openapi.json is JSON");
    keep_json_bodies(&mut document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document).expect("an OpenAPI 3.0 document");
    let mut generator = progenitor_impl::Generator::default();
    let tokens = generator.generate_tokens(&spec).expect("progenitor generates the client");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("client.rs");
    std::fs::write(out, tokens.to_string()).expect("OUT_DIR is writable");
}

/// Keeps only the JSON media type of a request body that offers several.
fn keep_json_bodies(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(serde_json::Value::as_object_mut) else { return };
    for operation in
        paths.values_mut().filter_map(serde_json::Value::as_object_mut).flat_map(|o| o.values_mut())
    {
        if let Some(content) =
            operation.pointer_mut("/requestBody/content").and_then(serde_json::Value::as_object_mut)
            && content.len() > 1
        {
            content.retain(|media, _| media.contains("json"));
        }
    }
}
