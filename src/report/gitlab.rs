//! GitLab's secret-detection report (`gl-secret-detection-report.json`, schema 15.2.5), so a
//! merge request's security widget and the pipeline's security tab list the findings. Secrets are
//! redacted as everywhere else; no raw source extract is written.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::ReportOptions;
use crate::finding::Finding;
use crate::rules::{RuleSet, Severity};

/// The schema version written, and where GitLab publishes it.
pub(crate) const SCHEMA_VERSION: &str = "15.2.5";
const SCHEMA_URL: &str = "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v15.2.5/dist/secret-detection-report-format.json";
/// GitLab's own analyzer writes this for findings outside any commit (a work-tree scan).
const NO_COMMIT: &str = "0000000";

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

/// `s` cut to at most `max` bytes on a char boundary (the schema caps some fields).
fn cap(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// A UUID-shaped id, stable for the same finding at the same place, so GitLab tracks it across
/// pipelines.
fn vulnerability_id(f: &Finding) -> String {
    let mut h = Sha256::new();
    h.update(f.fingerprint.as_bytes());
    h.update([0]);
    h.update(f.file.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(f.line.to_string().as_bytes());
    h.update([0]);
    h.update(f.commit.as_ref().map_or("", |c| c.id.as_str()).as_bytes());
    let hex: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `yyyy-mm-ddThh:mm:ss` in UTC, as the schema wants it.
pub(crate) fn utc_timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn vulnerability(f: &Finding, rules: &RuleSet, opts: &ReportOptions) -> Value {
    let rule = rules.get(&f.rule_id);
    let mut location = json!({
        "commit": match &f.commit {
            Some(c) => json!({ "sha": c.id, "author": c.author, "date": c.date, "message": c.summary }),
            None => json!({ "sha": NO_COMMIT }),
        },
        "start_line": f.line,
        "end_line": f.end_line,
    });
    if let Some(file) = &f.file {
        location["file"] = json!(file);
    }
    let mut description = format!(
        "{} ({}) at {}:{}",
        f.description,
        f.shown_secret(opts.redact),
        f.file.as_deref().unwrap_or("commit message"),
        f.line
    );
    if let Some(d) = super::text::details(f, opts) {
        description.push_str(&format!("; {d}"));
    }
    let mut v = json!({
        "id": vulnerability_id(f),
        "name": cap(&f.description, 255),
        "description": cap(&description, 1 << 20),
        "severity": severity(f.severity),
        "identifiers": [{
            "type": "keyfence_rule_id",
            "name": cap(&format!("keyfence {}", f.rule_id), 255),
            "value": f.rule_id,
        }],
        "location": location,
    });
    if let Some(text) = rule.and_then(|r| r.remediation.as_deref()) {
        v["solution"] = json!(cap(text.trim(), 7000));
    }
    v
}

pub(crate) fn write(out: &mut dyn Write, input: &super::Input) -> std::io::Result<()> {
    let (findings, rules, opts) = input.parts();
    let now = utc_timestamp(SystemTime::now());
    let tool = json!({
        "id": "keyfence",
        "name": "keyfence",
        "version": env!("CARGO_PKG_VERSION"),
        "vendor": { "name": "keyfence" },
    });
    let vulnerabilities =
        super::json::Lazy(|| findings.iter().map(move |f| vulnerability(f, rules, opts)));
    #[derive(serde::Serialize)]
    struct Doc<'a, V: serde::Serialize> {
        version: &'static str,
        schema: &'static str,
        scan: Value,
        vulnerabilities: &'a V,
    }
    let doc = Doc {
        version: SCHEMA_VERSION,
        schema: SCHEMA_URL,
        scan: json!({
            "analyzer": tool,
            "scanner": tool,
            "type": "secret_detection",
            "start_time": now,
            "end_time": now,
            "status": "success",
        }),
        vulnerabilities: &vulnerabilities,
    };
    super::write_document(out, &doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(951_827_696); // leap day 2000
        assert_eq!(utc_timestamp(t), "2000-02-29T12:34:56");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_735_689_599);
        assert_eq!(utc_timestamp(t), "2024-12-31T23:59:59");
    }
}
