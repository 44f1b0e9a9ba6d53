//! "What to do now" for AWS keys, by the gate that caught them: before a commit nothing has left
//! the machine; before a push it is in local commits only; anywhere else it is, or may be, public
//! and the incident runbook applies. Commands carry the full access key ID (an identifier AWS
//! shows in its console, needed to paste them), never the secret.

use std::io::Write;

use super::escape_control as esc;
use super::{Gate, ReportOptions};
use crate::finding::{detail, Finding};
use crate::rules::RuleSet;
use crate::verify::{key_id_of, Status};

/// One leaked key and where it was found.
struct Key<'a> {
    id: &'a str,
    findings: Vec<&'a Finding>,
}

impl Key<'_> {
    fn temporary(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.details.value(detail::KEY_TYPE) == Some("temporary"))
    }
    fn account(&self) -> Option<&str> {
        self.findings
            .iter()
            .find_map(|f| f.details.value(detail::ACCOUNT_ID))
    }
    /// What `--verify` said, the best answer first (live).
    fn verified<'o>(&self, opts: &'o ReportOptions) -> Option<&'o crate::verify::Verification> {
        let mut vs: Vec<_> = self
            .findings
            .iter()
            .filter_map(|f| opts.verdicts.verification(f))
            .collect();
        vs.sort_by_key(|v| v.status != Status::Live);
        vs.into_iter().next()
    }
    /// The IAM user name from a live verification, or a shell placeholder.
    fn user(&self, opts: &ReportOptions) -> String {
        self.verified(opts)
            .and_then(|v| v.user.as_deref())
            .and_then(|u| u.strip_prefix("user "))
            .map_or_else(|| "\"$USER_NAME\"".to_string(), shell_quote)
    }
}

/// `'it'\''s'`: safe to paste into a POSIX shell.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./@:+=,".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Writes the advice for every AWS key in `findings`; returns the rule ids whose own
/// remediation text it replaces: those of the keys' findings (a key ID, a pair) and, before a
/// secret leaves the machine, those of a lone secret half or session token.
pub(crate) fn write_aws<'a>(
    out: &mut dyn Write,
    findings: &'a [Finding],
    rules: &RuleSet,
    opts: &ReportOptions,
    bold: &dyn Fn(&str) -> String,
) -> std::io::Result<Vec<&'a str>> {
    let mut keys: Vec<Key> = Vec::new();
    let mut keyless: Vec<&Finding> = Vec::new();
    for f in findings.iter().filter(|f| f.is_aws()) {
        match key_id_of(f) {
            Some(id) => match keys.iter_mut().find(|k| k.id == id) {
                Some(k) => k.findings.push(f),
                None => keys.push(Key {
                    id,
                    findings: vec![f],
                }),
            },
            None => keyless.push(f),
        }
    }
    let mut handled: Vec<&str> = Vec::new();
    for f in keys.iter().flat_map(|k| &k.findings) {
        if !handled.contains(&f.rule_id.as_str()) {
            handled.push(&f.rule_id);
        }
    }
    for k in &keys {
        writeln!(out)?;
        let mut who = format!("AWS key {}", esc(k.id));
        if let Some(a) = k.account() {
            who.push_str(&format!(", account {a}"));
        }
        if let Some(u) = k.verified(opts).and_then(|v| v.user.as_deref()) {
            who.push_str(&format!(", {}", esc(u)));
        }
        let why = match opts.gate {
            Gate::Commit => "caught before commit: nothing has left this machine",
            Gate::Push => "committed, not pushed: the push was refused and nothing was sent",
            Gate::Exposed => "it is, or may be, public: treat it as compromised",
        };
        writeln!(out, "{} {who} ({why})", bold("What to do now —"))?;
        match opts.gate {
            Gate::Commit => commit_step(out, k)?,
            Gate::Push => push_step(out, k)?,
            Gate::Exposed => exposed_advice(out, k, opts)?,
        }
        if opts.gate != Gate::Exposed {
            keep_out_of_code(out, 2)?;
            rotate_if_shared(out, k, opts, 3)?;
        }
    }
    // A secret key or session token without its key ID: still the gate's advice, no commands.
    if opts.gate != Gate::Exposed && !keyless.is_empty() {
        for f in &keyless {
            if is_secret_half(rules, &f.rule_id) && !handled.contains(&f.rule_id.as_str()) {
                handled.push(&f.rule_id);
            }
        }
        keyless_advice(out, &keyless, opts.gate, bold)?;
    }
    Ok(handled)
}

/// Before a secret half without its key ID leaves the machine: the gate's steps, no commands.
fn keyless_advice(
    out: &mut dyn Write,
    keyless: &[&Finding],
    gate: Gate,
    bold: &dyn Fn(&str) -> String,
) -> std::io::Result<()> {
    writeln!(out)?;
    let places: Vec<String> = keyless.iter().map(|f| place(f)).collect();
    writeln!(
        out,
        "{} AWS secret without its key ID ({})",
        bold("What to do now —"),
        esc(&places.join(", "))
    )?;
    let step = if gate == Gate::Commit {
        "Take it out of the staged change (git restore --staged -- FILE, then delete it from the file)"
    } else {
        "Drop it from the commits you have not pushed (amend or rebase them), then push again"
    };
    writeln!(out, "  1. {step}.")?;
    writeln!(
        out,
        "  2. Keep it out of code: ~/.aws/credentials, environment variables, or SSO / OIDC."
    )?;
    writeln!(
        out,
        "  3. Nothing has left this machine: rotate it only if it was ever shared elsewhere."
    )
}

/// True for a rule whose matches are a composite rule's secret half as they are (an AWS secret
/// access key), or a session token (what a temporary key needs beside its secret).
fn is_secret_half(rules: &RuleSet, rule_id: &str) -> bool {
    crate::verify::TOKEN_RULES.contains(&rule_id)
        || rules
            .rules
            .iter()
            .filter_map(|r| r.requires.as_ref())
            .any(|q| q.secrets.iter().any(|s| s == rule_id))
}

fn place(f: &Finding) -> String {
    match &f.file {
        Some(p) => format!("{p}:{}", f.line),
        None => format!("commit message:{}", f.line),
    }
}

fn files<'a>(k: &'a Key) -> Vec<&'a str> {
    let mut v: Vec<&str> = k
        .findings
        .iter()
        .filter_map(|f| f.file.as_deref())
        .collect();
    v.dedup();
    v
}

fn keep_out_of_code(out: &mut dyn Write, n: usize) -> std::io::Result<()> {
    writeln!(
        out,
        "  {n}. Keep it out of code: `aws configure --profile NAME` (~/.aws/credentials),\n     \
         environment variables (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), or short-lived\n     \
         credentials from `aws configure sso` (OIDC in CI)."
    )
}

fn rotate_if_shared(
    out: &mut dyn Write,
    k: &Key,
    opts: &ReportOptions,
    n: usize,
) -> std::io::Result<()> {
    let id = esc(k.id);
    if k.temporary() {
        writeln!(
            out,
            "  {n}. A temporary (ASIA) key expires on its own. Only if it was ever shared elsewhere, revoke\n     \
             the role's sessions: IAM > Roles > (the role) > Revoke active sessions."
        )
    } else {
        let user = k.user(opts);
        writeln!(
            out,
            "  {n}. Rotate it only if it was ever shared elsewhere (chat, a ticket, another repository):\n       \
             aws iam create-access-key --user-name {user}\n       \
             aws iam update-access-key --user-name {user} --access-key-id {id} --status Inactive\n       \
             aws iam delete-access-key --user-name {user} --access-key-id {id}"
        )
    }
}

/// Step 1 before a commit: take it out of the staged change (or the message).
fn commit_step(out: &mut dyn Write, k: &Key) -> std::io::Result<()> {
    let files = files(k);
    if files.is_empty() {
        writeln!(
            out,
            "  1. Remove it from the commit message and commit again (the commit was not recorded)."
        )?;
    } else {
        writeln!(out, "  1. Unstage it, then delete it from the file:")?;
        for f in &files {
            writeln!(
                out,
                "       git restore --staged -- {}",
                esc(&shell_quote(f))
            )?;
        }
    }
    Ok(())
}

/// Step 1 before a push: the commands that drop it from each unpushed commit.
fn push_step(out: &mut dyn Write, k: &Key) -> std::io::Result<()> {
    writeln!(
        out,
        "  1. Drop it from the commits you have not pushed. For each commit below: remove the key\n     \
         from the file, then"
    )?;
    let mut seen: Vec<(&str, Option<&str>)> = Vec::new();
    for f in &k.findings {
        let Some(c) = &f.commit else { continue };
        let key = (c.id.as_str(), f.file.as_deref());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let short: String = c.id.chars().take(7).collect();
        let short = esc(&short);
        let full = esc(&c.id);
        match &f.file {
            Some(path) => {
                let q = esc(&shell_quote(path)).into_owned();
                writeln!(out, "     commit {short} ({}):", esc(path))?;
                writeln!(
                    out,
                    "       the last commit:  git add -- {q} && git commit --amend --no-edit"
                )?;
                writeln!(
                    out,
                    "       an earlier one:   GIT_SEQUENCE_EDITOR=\"sed -i 's/^pick \\({short}[0-9a-f]*\\)/edit \\1/'\" git rebase -i {full}^\n                         \
                     (remove the key) git add -- {q} && git commit --amend --no-edit && git rebase --continue"
                )?;
            }
            None => {
                writeln!(
                    out,
                    "     commit {short} (its message): git commit --amend (the last commit), or\n       \
                     GIT_SEQUENCE_EDITOR=\"sed -i 's/^pick \\({short}[0-9a-f]*\\)/reword \\1/'\" git rebase -i {full}^"
                )?;
            }
        }
    }
    writeln!(
        out,
        "     Then push again: keyfence checks the commits once more."
    )
}

/// Every step once it is, or may be, public: the incident runbook in short.
fn exposed_advice(out: &mut dyn Write, k: &Key, opts: &ReportOptions) -> std::io::Result<()> {
    let id = esc(k.id);
    if k.temporary() {
        let role = k
            .verified(opts)
            .and_then(|v| v.user.as_deref())
            .and_then(|u| u.strip_prefix("role "))
            .map_or("(the role)".to_string(), |r| esc(r).into_owned());
        writeln!(
            out,
            "  1. A temporary (ASIA) key cannot be deactivated: revoke its role's sessions now:\n       \
             IAM > Roles > {role} > Revoke active sessions"
        )?;
    } else {
        let user = k.user(opts);
        writeln!(out, "  1. Deactivate it now:")?;
        if user.starts_with('"') {
            writeln!(
                out,
                "       USER_NAME=$(aws iam get-access-key-last-used --access-key-id {id} --query UserName --output text)"
            )?;
        }
        writeln!(
            out,
            "       aws iam update-access-key --user-name {user} --access-key-id {id} --status Inactive"
        )?;
    }
    writeln!(
        out,
        "  2. See what it did (CloudTrail, in every region; the full loop is in the runbook):\n       \
         aws cloudtrail lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue={id}"
    )?;
    writeln!(
        out,
        "  3. Look for what an attacker starts in EVERY region (EC2 instances and spot requests,\n     \
         Lambda, RDS) and in IAM (new users, keys, login profiles, root access keys); terminate it\n     \
         before anything else, and never close the account first: what still runs is billed."
    )?;
    writeln!(
        out,
        "  4. Secure the account: MFA on root and no root access keys, least-privilege IAM, a password\n     \
         policy, CloudTrail, Budgets; then ask AWS Support for a billing adjustment."
    )?;
    keep_out_of_code(out, 5)?;
    writeln!(
        out,
        "  6. The incident runbook, step by step with every command:\n       \
         keyfence respond --key-id {id}"
    )
}

/// Blocked at a developer's gate: how to get past it in an emergency, and how to mark a false
/// positive. Nothing for audits.
pub(crate) fn write_escape_hatches(
    out: &mut dyn Write,
    findings: &[Finding],
    opts: &ReportOptions,
    bold: &dyn Fn(&str) -> String,
) -> std::io::Result<()> {
    let verb = match opts.gate {
        Gate::Commit => "commit",
        Gate::Push => "push",
        Gate::Exposed => return Ok(()),
    };
    if findings.is_empty() {
        return Ok(());
    }
    let mut rules: Vec<&str> = findings.iter().map(|f| f.rule_id.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let pair = findings.iter().any(|f| !f.related.is_empty());
    writeln!(out)?;
    writeln!(out, "{} not a secret, or an emergency", bold("Blocked —"))?;
    writeln!(out, "  Not a secret (a false positive)? Any one of:")?;
    writeln!(
        out,
        "    - end the line with a marker naming the rule: # keyfence:allow {}",
        esc(&rules.join(" / "))
    )?;
    if pair {
        writeln!(
            out,
            "      (a key pair spans two lines: one marker on either line covers both)"
        )?;
    }
    writeln!(
        out,
        "    - allowlist it in .keyfence.toml: [allowlist] paths = [\"…\"], regexes, or stopwords"
    )?;
    writeln!(
        out,
        "    - accept it in the baseline: keyfence baseline (writes .keyfence-baseline.json; one\n      \
         entry covers both halves of a pair)"
    )?;
    writeln!(
        out,
        "  Emergency only: git {verb} --no-verify skips every {verb} hook, so the key goes in with it."
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a/b.tf"), "a/b.tf");
        assert_eq!(shell_quote("it's here"), "'it'\\''s here'");
    }
}
