//! SARIF 2.1.0, as code-scanning dashboards (GitHub, GitLab) ingest it.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde_json::{json, Value};

use super::ReportOptions;
use crate::finding::Finding;
use crate::rules::{RuleSet, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

pub fn write(
    out: &mut dyn Write,
    findings: &[Finding],
    rules: &RuleSet,
    opts: &ReportOptions,
) -> std::io::Result<()> {
    // Only the rules that produced results, in a stable order, so ruleIndex is meaningful.
    let used: BTreeMap<&str, usize> = {
        let mut ids: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect()
    };
    let rule_objs: Vec<Value> = used
        .keys()
        .map(|id| {
            let rule = rules.get(id);
            let desc = rule.map(|r| r.description.as_str()).unwrap_or(id);
            let help = rule.and_then(|r| r.remediation.as_deref()).unwrap_or(desc);
            let sev = rule.map(|r| r.severity).unwrap_or(Severity::High);
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": desc },
                "fullDescription": { "text": desc },
                "help": { "text": help },
                "defaultConfiguration": { "level": level(sev) },
                "properties": { "severity": sev.as_str(), "tags": ["security", "secret"] }
            })
        })
        .collect();
    // Streamed: each result's JSON tree is built when written, then dropped. Building them all
    // first cost ~14 KB per finding (14 GB for a million).
    let results = super::json::Lazy(|| {
        findings.iter().map(|f| {
            let uri = f.file.as_deref().unwrap_or("COMMIT_MESSAGE");
            let mut props = serde_json::Map::new();
            props.insert("severity".into(), json!(f.severity.as_str()));
            props.insert("secret".into(), json!(f.shown_secret(opts.redact)));
            props.insert("entropy".into(), json!(f.entropy));
            props.insert("source".into(), json!(f.source));
            props.insert("account_id".into(), json!(f.account_id_str()));
            props.insert("key_type".into(), json!(f.key_type));
            props.insert("decoded".into(), json!(f.decoded));
            props.insert("block".into(), json!(f.block));
            if let Some(c) = &f.commit {
                props.insert("commit".into(), json!(c.id));
                props.insert("author".into(), json!(c.author));
                props.insert("email".into(), json!(c.email));
                props.insert("date".into(), json!(c.date));
                props.insert("message".into(), json!(c.summary));
            }
            let related: Vec<Value> = f
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    json!({
                        "id": i + 1,
                        "message": { "text": format!("{}: {}", r.rule_id, if opts.redact { crate::finding::redact(&r.secret) } else { r.secret.clone() }) },
                        "physicalLocation": {
                            "artifactLocation": { "uri": uri },
                            "region": {
                                "startLine": r.line,
                                "startColumn": r.column,
                                "endLine": r.end_line,
                                "endColumn": r.end_column
                            }
                        }
                    })
                })
                .collect();
            json!({
                "ruleId": f.rule_id,
                "relatedLocations": related,
                "ruleIndex": used[f.rule_id.as_str()],
                "level": level(f.severity),
                "message": { "text": format!("{}: {}{}", f.description, f.shown_secret(opts.redact), crate::report::text::details(f).map(|d| format!(" ({d})")).unwrap_or_default()) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri },
                        "region": {
                            "startLine": f.line,
                            "startColumn": f.column,
                            "endLine": f.end_line,
                            "endColumn": f.end_column,
                            "snippet": { "text": f.shown_match(opts.redact) }
                        }
                    }
                }],
                "partialFingerprints": { "keyfence/v1": f.fingerprint },
                "properties": props
            })
        })
    });
    // Fields in the order `json!` (a sorted map) wrote them, so the output is unchanged.
    #[derive(Serialize)]
    struct Doc<'a, R: Serialize> {
        #[serde(rename = "$schema")]
        schema: &'static str,
        runs: [Run<'a, R>; 1],
        version: &'static str,
    }
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
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/keyfence/keyfence",
                "rules": rule_objs
            }}),
        }],
        version: "2.1.0",
    };
    super::sanitize::write_json(out, &doc)?;
    writeln!(out)
}
