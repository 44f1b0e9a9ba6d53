//! SARIF checks shared by every test that reads a SARIF report: validation against the vendored
//! official 2.1.0 schema, and the properties GitHub code scanning ranks and deduplicates by.
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

/// The vendored SARIF 2.1.0 schema, compiled once per test binary.
pub fn sarif_validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| schema_validator("sarif-schema-2.1.0.json"))
}

/// Compiles a schema from tests/schemas with format checks on.
pub fn schema_validator(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        // Draft 4 (SARIF's) has no `uri-reference` format, so the validator would skip the
        // check SARIF means by it: RFC 3986 characters and well-formed percent escapes.
        .with_format("uri-reference", is_uri_reference)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name} does not compile: {e}"))
}

/// An RFC 3986 URI reference, syntactically: allowed characters only, `%` always followed by two
/// hex digits.
pub fn is_uri_reference(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// Parses `text` as JSON and validates it with `validator`; panics with every schema error.
pub fn validated_with(label: &str, validator: &jsonschema::Validator, text: &str) -> Value {
    let doc: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{label}: not JSON ({e}):\n{text}"));
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{label}: invalid report:\n{}\n{text}",
        errors.join("\n"),
    );
    doc
}

/// Parses a SARIF report, validates it against the official schema, checks what GitHub code
/// scanning needs (see [`assert_github_ready`]), and returns it.
pub fn validated_sarif(label: &str, text: &str) -> Value {
    let doc = validated_with(label, sarif_validator(), text);
    assert_github_ready(label, &doc);
    doc
}

/// Per rule: `properties.security-severity` a number in 0..=10 (as a string, as GitHub reads
/// it), a `name` distinct from the `id`; per result: a `partialFingerprints` entry and a
/// `ruleIndex` that points at its rule.
pub fn assert_github_ready(label: &str, doc: &Value) {
    for run in doc["runs"].as_array().expect("runs") {
        let rules = run["tool"]["driver"]["rules"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for rule in rules {
            let sev = rule["properties"]["security-severity"]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("{label}: no numeric security-severity in {rule}"));
            assert!((0.0..=10.0).contains(&sev), "{label}: {rule}");
            assert!(
                rule["name"].as_str().is_some_and(|n| !n.is_empty()),
                "{label}: rule without a name: {rule}"
            );
            assert_ne!(rule["name"], rule["id"], "{label}: name equals id: {rule}");
        }
        for result in run["results"].as_array().expect("results") {
            let fp = result["partialFingerprints"]
                .as_object()
                .unwrap_or_else(|| panic!("{label}: no partialFingerprints in {result}"));
            assert!(
                fp.values()
                    .all(|v| v.as_str().is_some_and(|s| !s.is_empty())),
                "{label}: {result}"
            );
            assert!(!fp.is_empty(), "{label}: empty partialFingerprints");
            let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(
                rules.get(index).map(|r| &r["id"]),
                Some(&result["ruleId"]),
                "{label}: ruleIndex does not point at the rule"
            );
        }
    }
}
