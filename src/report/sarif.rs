//! SARIF 2.1.0, as code-scanning dashboards (GitHub, GitLab) ingest it: locations relative to
//! `%SRCROOT%` (the current directory, where CI checks the repository out), rules with a human
//! name, help and a `security-severity` that GitHub ranks (Critical/High/…), and the
//! location-free fingerprint as `partialFingerprints`, so an alert follows a moved line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::finding::{detail, Finding};
use crate::rules::{RuleSet, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The base every relative URI is resolved against.
pub(crate) const SRCROOT: &str = "%SRCROOT%";
/// The file name a stdin scan gives its findings.
pub(crate) const STDIN: &str = "<stdin>";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub code scanning ranks by this CVSS-like score: >= 9.0 Critical, >= 7.0 High, >= 4.0
/// Medium, else Low.
pub(crate) fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// `aws-access-key-id` → `AwsAccessKeyId`: SARIF's `name` is a readable identifier, not the id.
pub(crate) fn rule_name(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + cs.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Where URIs are made relative to: the current directory.
fn src_root() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    Some(cwd.canonicalize().unwrap_or(cwd))
}

/// Percent-encodes everything but unreserved characters and `/`, so any file name is a valid
/// URI reference (spaces, `#`, `%`, non-ASCII).
fn encode_uri_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The artifact of a finding: a URI relative to `%SRCROOT%` when the file is under it, an
/// absolute `file://` URI otherwise; stdin and commit messages have no file, only a description.
fn artifact(f: &Finding, root: Option<&Path>) -> Value {
    let Some(file) = f.file.as_deref() else {
        let commit = f.commit.as_ref().map(|c| c.id.as_str()).unwrap_or("");
        return json!({ "description": { "text": format!("message of commit {commit}").trim_end() } });
    };
    if file == STDIN {
        return json!({ "description": { "text": "standard input" } });
    }
    let path = Path::new(file);
    let rel: Option<String> = if path.is_absolute() || file.starts_with("..") {
        root.and_then(|root| {
            let abs = normalize(&root.join(path));
            let abs = abs.canonicalize().unwrap_or(abs);
            abs.strip_prefix(root)
                .ok()
                .map(|r| r.to_string_lossy().replace('\\', "/"))
        })
    } else {
        Some(
            normalize(path)
                .to_string_lossy()
                .replace('\\', "/")
                .to_string(),
        )
    };
    match rel {
        Some(rel) => json!({ "uri": encode_uri_path(&rel), "uriBaseId": SRCROOT }),
        None => {
            let abs = normalize(path).to_string_lossy().replace('\\', "/");
            let abs = if abs.starts_with('/') {
                abs
            } else {
                format!("/{abs}")
            };
            json!({ "uri": format!("file://{}", encode_uri_path(&abs)) })
        }
    }
}

fn rule_object(id: &str, rules: &RuleSet) -> Value {
    let rule = rules.get(id);
    let desc = rule.map(|r| r.description.as_str()).unwrap_or(id);
    let remediation = rule.and_then(|r| r.remediation.as_deref());
    let sev = rule.map(|r| r.severity).unwrap_or(Severity::High);
    let full = match remediation {
        Some(r) => format!(
            "{desc}. {}",
            r.trim().lines().next().unwrap_or_default().trim()
        ),
        None => format!("{desc}."),
    };
    let help_text = remediation.map(str::trim).unwrap_or(desc);
    let help_md = format!(
        "**{desc}** (`{id}`, severity {})\n\n{}",
        sev.as_str(),
        help_text
    );
    json!({
        "id": id,
        "name": rule_name(id),
        "shortDescription": { "text": desc },
        "fullDescription": { "text": full },
        "help": { "text": help_text, "markdown": help_md },
        "defaultConfiguration": { "level": level(sev) },
        "properties": {
            "precision": "high",
            "problem.severity": level(sev),
            "security-severity": security_severity(sev),
            "severity": sev.as_str(),
            "tags": ["security", "secret", "external/cwe/cwe-798"]
        }
    })
}

/// A result's properties: what the JSON report says of the finding that SARIF has no place for.
fn properties(f: &Finding, opts: &super::ReportOptions) -> Map<String, Value> {
    let mut props = Map::new();
    props.insert("severity".into(), json!(f.severity.as_str()));
    // The path as found (the URI percent-encodes it), as in the JSON report.
    props.insert("file".into(), json!(f.file));
    props.insert(
        "security-severity".into(),
        json!(security_severity(f.severity)),
    );
    props.insert("secret".into(), json!(f.shown_secret(opts.redact)));
    props.insert("entropy".into(), json!(f.entropy));
    props.insert("source".into(), json!(f.source));
    let detail = |k| json!(f.details.value(k));
    props.insert("account_id".into(), detail(detail::ACCOUNT_ID));
    props.insert("key_type".into(), detail(detail::KEY_TYPE));
    props.insert("decoded".into(), json!(f.decoded));
    props.insert("block".into(), detail(detail::BLOCK));
    if let Some(v) = opts.verdicts.verification(f) {
        props.insert("verification".into(), json!(v));
    }
    if let Some(sig) = opts.verdicts.signal(f) {
        props.insert("key_signal".into(), json!(sig));
    }
    if let Some(w) = &f.whereabouts {
        props.insert("whereabouts".into(), json!(w));
    }
    if let Some(c) = &f.commit {
        props.insert("commit".into(), json!(c.id));
        props.insert("author".into(), json!(c.author));
        props.insert("email".into(), json!(c.email));
        props.insert("date".into(), json!(c.date));
        props.insert("message".into(), json!(c.summary));
    }
    props
}

/// The finding's region, with its (redacted) match as the snippet.
fn region(f: &Finding, opts: &super::ReportOptions) -> Value {
    let mut region = json!({
        "startLine": f.line,
        "startColumn": f.column,
        "endLine": f.end_line,
        "endColumn": f.end_column,
    });
    let snippet = f.shown_match(opts.redact);
    if !snippet.is_empty() {
        region["snippet"] = json!({ "text": snippet });
    }
    region
}

/// The other parts of the credential (a pair's key ID), in the same file.
fn related(f: &Finding, artifact: &Value, opts: &super::ReportOptions) -> Vec<Value> {
    f.related
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let secret = if opts.redact {
                crate::finding::redact(&r.secret)
            } else {
                r.secret.clone()
            };
            json!({
                "id": i + 1,
                "message": { "text": format!("{}: {secret}", r.rule_id) },
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {
                        "startLine": r.line,
                        "startColumn": r.column,
                        "endLine": r.end_line,
                        "endColumn": r.end_column
                    }
                }
            })
        })
        .collect()
}

pub(crate) fn write(out: &mut dyn Write, input: &super::Input) -> std::io::Result<()> {
    let (findings, rules, opts) = input.parts();
    // Only the rules that produced results, in a stable order, so ruleIndex is meaningful.
    let used: BTreeMap<&str, usize> = {
        let mut ids: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect()
    };
    let rule_objs: Vec<Value> = used.keys().map(|id| rule_object(id, rules)).collect();
    let root = src_root();
    // Streamed: each result's JSON tree is built when written, then dropped. Building them all
    // first cost ~14 KB per finding (14 GB for a million).
    let results = super::json::Lazy(|| {
        findings.iter().map(|f| {
            let artifact = artifact(f, root.as_deref());
            let mut result = json!({
                "ruleId": f.rule_id,
                "ruleIndex": used[f.rule_id.as_str()],
                "level": level(f.severity),
                "message": { "text": format!("{}: {}{}", f.description, f.shown_secret(opts.redact), crate::report::text::details(f, opts).map(|d| format!(" ({d})")).unwrap_or_default()) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": region(f, opts)
                    }
                }],
                "partialFingerprints": { "keyfence/v1": f.fingerprint },
                "properties": properties(f, opts)
            });
            let related = related(f, &artifact, opts);
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            result
        })
    });
    #[derive(Serialize)]
    struct Doc<'a, R: Serialize> {
        #[serde(rename = "$schema")]
        schema: &'static str,
        runs: [Run<'a, R>; 1],
        version: &'static str,
    }
    // No `originalUriBaseIds`: `%SRCROOT%` is the checkout the consumer already knows (GitHub
    // resolves it to the repository root); git commands' paths are repository-relative already.
    #[derive(Serialize)]
    struct Run<'a, R: Serialize> {
        results: &'a R,
        tool: Value,
    }
    let doc = Doc {
        schema: SCHEMA,
        runs: [Run {
            results: &results,
            tool: json!({ "driver": {
                "name": "keyfence",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_objs
            }}),
        }],
        version: "2.1.0",
    };
    super::write_document(out, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_readable_and_uris_are_encoded() {
        assert_eq!(rule_name("aws-access-key-id"), "AwsAccessKeyId");
        assert_eq!(rule_name("github-pat"), "GithubPat");
        assert_eq!(encode_uri_path("a b/ü#%.tf"), "a%20b/%C3%BC%23%25.tf");
    }
}
