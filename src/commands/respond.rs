//! `keyfence respond`: the incident runbook for the AWS keys of a JSON report, or for one key ID.

use std::io::{Read, Write};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::aws::{KeyType, KEY_ID_RULE};
use crate::cli::{RespondArgs, RunbookFormat};
use crate::runbook::Incident;
use crate::ExitStatus;

pub(crate) fn run(args: &RespondArgs) -> anyhow::Result<ExitStatus> {
    if let Some(id) = &args.key_id {
        let plausible = id.len() == 20
            && KeyType::of(id).is_some()
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !plausible {
            bail!("--key-id takes an AWS access key ID: 20 characters such as AKIA… or ASIA…");
        }
    }
    let mut incidents = match &args.findings {
        Some(path) => from_report(path, args.key_id.as_deref())?,
        None => match &args.key_id {
            Some(id) => vec![Incident::for_key(id)],
            None => bail!(
                "give a JSON report (keyfence scan --format json --verify > findings.json) or --key-id"
            ),
        },
    };
    if incidents.is_empty() {
        bail!(
            "the report holds no AWS access key{}",
            if args.key_id.is_some() {
                " with that ID"
            } else {
                ""
            }
        );
    }
    if let Some(u) = &args.user {
        for i in &mut incidents {
            i.user.get_or_insert_with(|| u.clone());
        }
    }
    let mut out = std::io::stdout().lock();
    for (n, i) in incidents.iter().enumerate() {
        if n > 0 {
            writeln!(out)?;
        }
        let text = match args.format {
            RunbookFormat::Text => i.text(),
            RunbookFormat::Markdown => i.markdown(),
        };
        // The report's strings came from scanned content: shown, never obeyed by the terminal.
        let safe: String = text
            .lines()
            .map(|l| crate::report::escape_control(l).into_owned() + "\n")
            .collect();
        out.write_all(safe.as_bytes())?;
    }
    out.flush()?;
    Ok(ExitStatus::Clean)
}

/// One incident per AWS key ID in a keyfence JSON report (only `key_id`'s, when given).
fn from_report(path: &std::path::Path, key_id: Option<&str>) -> anyhow::Result<Vec<Incident>> {
    let findings = read_report(path)?;
    let mut incidents: Vec<Incident> = Vec::new();
    for f in &findings {
        let Some(shown) = shown_key_id(f) else {
            continue;
        };
        let full = !shown.contains('…') && shown.len() == 20;
        if let Some(want) = key_id {
            let same = if full {
                shown == want
            } else {
                shown == crate::finding::redact(want)
            };
            if !same {
                continue;
            }
        }
        let id = if full {
            Some(shown.to_string())
        } else {
            key_id.map(str::to_string)
        };
        let i = incident_for(&mut incidents, shown, id);
        if i.account.is_none() {
            i.account = f
                .get("account_id")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        apply_verification(i, f);
        let place = place_of(f);
        if !i.places.contains(&place) {
            i.places.push(place);
        }
    }
    Ok(incidents)
}

/// The findings of a JSON report file (`-`: standard input).
fn read_report(path: &std::path::Path) -> anyhow::Result<Vec<Value>> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    }
    let v: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a keyfence JSON report", path.display()))?;
    match v {
        Value::Array(findings) => Ok(findings),
        _ => bail!(
            "{}: not a keyfence JSON report (an array of findings)",
            path.display()
        ),
    }
}

/// The access key ID a finding shows: its own secret, or its pair's related key ID.
fn shown_key_id(f: &Value) -> Option<&str> {
    let s = |k: &str| f.get(k).and_then(Value::as_str);
    if s("rule_id").unwrap_or_default() == KEY_ID_RULE {
        return s("secret");
    }
    f.get("related")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("rule_id").and_then(Value::as_str) == Some(KEY_ID_RULE))
        .and_then(|r| r.get("secret").and_then(Value::as_str))
}

/// The incident of this key, created on first sight.
fn incident_for<'a>(
    incidents: &'a mut Vec<Incident>,
    shown: &str,
    id: Option<String>,
) -> &'a mut Incident {
    let at = incidents
        .iter()
        .position(|i| i.shown_id.as_deref() == Some(shown) || (id.is_some() && i.key_id == id));
    let at = at.unwrap_or_else(|| {
        let mut i = match &id {
            Some(id) => Incident::for_key(id),
            None => Incident {
                temporary: shown.starts_with("ASIA"),
                ..Incident::default()
            },
        };
        i.shown_id = Some(shown.to_string());
        incidents.push(i);
        incidents.len() - 1
    });
    &mut incidents[at]
}

/// `--verify`'s answer, when the report has one: a live answer names the account and caller.
fn apply_verification(i: &mut Incident, f: &Value) {
    let Some(ver) = f.get("verification").filter(|v| !v.is_null()) else {
        return;
    };
    let vs = |k: &str| ver.get(k).and_then(Value::as_str).map(str::to_string);
    let status = vs("status");
    let live = status.as_deref() == Some("live");
    if live || i.status.is_none() {
        i.status = status.map(|st| st.replace('-', " "));
    }
    if live {
        i.arn = vs("arn");
        if let Some(a) = vs("account") {
            i.account = Some(a);
        }
        match vs("user") {
            Some(u) if u.starts_with("user ") => i.user = Some(u[5..].to_string()),
            Some(u) if u.starts_with("role ") => i.role = Some(u[5..].to_string()),
            _ => {}
        }
    }
}

/// `file:line (commit abc123)`, or a commit message.
fn place_of(f: &Value) -> String {
    let mut place = match f.get("file").and_then(Value::as_str) {
        Some(file) => format!(
            "{file}:{}",
            f.get("line").and_then(Value::as_u64).unwrap_or(0)
        ),
        None => "a commit message".to_string(),
    };
    if let Some(c) = f.get("commit").and_then(Value::as_str) {
        place.push_str(&format!(" (commit {})", &c[..c.len().min(12)]));
    }
    place
}
