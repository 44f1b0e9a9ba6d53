//! Secrets stay secret: generated keys planted in files, in git history, in the index and in a
//! commit message; every command and every format with default redaction; all of stdout, stderr
//! and `--output` files searched for any raw planted value.

use crate::fixture::{self, Repo, Run, Sandbox};
use keyfence::rules::placeholder::Generator;

struct Planted {
    values: Vec<String>,
}

impl Planted {
    fn new(seed: u64) -> (Planted, String, String, String) {
        let mut g = Generator::new(seed);
        let (id, secret, token) = (g.aws_key_id("AKIA"), g.aws_secret(), g.aws_session_token());
        let p = Planted {
            values: vec![id.clone(), secret.clone(), token.clone()],
        };
        (p, id, secret, token)
    }

    fn add(&mut self, other: &Planted) {
        self.values.extend(other.values.iter().cloned());
    }

    /// Fails when any planted value appears in `text`. An access key ID may appear in full only
    /// where the text report's advice puts it into a command (it is an identifier, not the
    /// secret); those places are cut out before the check.
    fn assert_absent(&self, what: &str, text: &str) {
        let mut text = text.to_string();
        for v in self.values.iter().filter(|v| v.len() == 20) {
            for sanctioned in [
                "--access-key-id ",
                "AttributeValue=",
                "--key-id ",
                "What to do now — AWS key ",
            ] {
                text = text.replace(&format!("{sanctioned}{v}"), sanctioned);
            }
        }
        let text = text.as_str();
        for v in &self.values {
            // A long token shows its first characters only; check a distinctive middle part too.
            let probe = if v.len() > 60 { &v[20..60] } else { v.as_str() };
            assert!(
                !text.contains(probe),
                "{what} holds a raw secret ({probe}):\n{text}"
            );
        }
    }
}

fn files(r: &Repo, id: &str, secret: &str, token: &str) {
    r.write(
        "creds/credentials.csv",
        &format!("Access key ID,Secret access key\n{id},{secret}\n"),
    );
    r.write(
        "infra/main.tf",
        &format!("provider \"aws\" {{\n  access_key = \"{id}\"\n  secret_key = \"{secret}\"\n  token      = \"{token}\"\n}}\n"),
    );
    r.write(
        ".env",
        &format!("AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
    );
}

/// Runs keyfence with `args` plus each format, on stdout and into `--output`; checks every byte.
fn check_all_formats(r: &Repo, planted: &Planted, args: &[&str], stdin: Option<&str>, want: i32) {
    for format in ["text", "json", "sarif"] {
        let mut a: Vec<&str> = args.to_vec();
        a.extend(["--format", format]);
        let run = r.keyfence_in(&r.path, &a, stdin);
        assert_eq!(
            run.code, want,
            "{a:?}\nstdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        assert!(!run.stdout.is_empty(), "{a:?} printed no report");
        planted.assert_absent(&format!("{a:?} stdout"), &run.stdout);
        planted.assert_absent(&format!("{a:?} stderr"), &run.stderr);
        if format == "sarif" {
            fixture::sarif::validated_sarif(&format!("{a:?}"), &run.stdout);
        }

        let out = r.home.join(format!("report.{format}"));
        let out_s = out.to_str().unwrap().to_string();
        let mut a2 = a.clone();
        a2.extend(["--output", &out_s]);
        let run = r.keyfence_in(&r.path, &a2, stdin);
        assert_eq!(run.code, want, "{a2:?}\n{}", run.stderr);
        let written = std::fs::read_to_string(&out).unwrap();
        assert!(!written.is_empty());
        planted.assert_absent(&format!("{a2:?} --output file"), &written);
        if format == "sarif" {
            fixture::sarif::validated_sarif(&format!("{a2:?} --output file"), &written);
        }
        planted.assert_absent(&format!("{a2:?} stdout"), &run.stdout);
        planted.assert_absent(&format!("{a2:?} stderr"), &run.stderr);
        std::fs::remove_file(&out).unwrap();
    }
}

fn no_panic(run: &Run) {
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn no_raw_secret_in_any_output_of_any_command_or_format() {
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let (mut planted, id, secret, token) = Planted::new(1);
    files(&r, &id, &secret, &token);
    r.commit("add config");
    // A key in a commit message, and one removed later (history only).
    let (in_message, msg_id, _, _) = Planted::new(2);
    planted.add(&in_message);
    r.write("notes.txt", "rotated\n");
    r.commit(&format!("use key {msg_id} for now"));
    let (old, old_id, old_secret, _) = Planted::new(3);
    planted.add(&old);
    r.write(
        "old.ini",
        &format!("aws_access_key_id = {old_id}\naws_secret_access_key = {old_secret}\n"),
    );
    r.commit("old");
    std::fs::remove_file(r.path.join("old.ini")).unwrap();
    r.commit("remove old");
    // Staged, not committed.
    let (staged, st_id, st_secret, _) = Planted::new(4);
    planted.add(&staged);
    r.write(
        "staged.env",
        &format!("AWS_ACCESS_KEY_ID={st_id}\nAWS_SECRET_ACCESS_KEY={st_secret}\n"),
    );
    r.git(&["add", "staged.env"]);

    check_all_formats(&r, &planted, &["scan", "."], None, 1);
    check_all_formats(
        &r,
        &planted,
        &["scan", "-"],
        Some(&format!("x {id} {secret}\n")),
        1,
    );
    check_all_formats(&r, &planted, &["history"], None, 1);
    check_all_formats(
        &r,
        &planted,
        &["history", "HEAD~3..HEAD", "--added-only"],
        None,
        1,
    );
    check_all_formats(&r, &planted, &["protect"], None, 1);
    let head = r.head();
    let zero = "0".repeat(40);
    let push = format!("refs/heads/main {head} refs/heads/main {zero}\n");
    check_all_formats(
        &r,
        &planted,
        &["hook", "pre-push", "origin", "x"],
        Some(&push),
        1,
    );

    // Baselines hold fingerprints, never secrets, and then silence the scan.
    let bl = r.home.join("baseline.json");
    let bl_s = bl.to_str().unwrap();
    let run = r.keyfence(&["baseline", ".", "--output", bl_s]);
    no_panic(&run);
    assert!(matches!(run.code, 0 | 1), "{}", run.stderr);
    let written = std::fs::read_to_string(&bl).unwrap();
    assert!(written.contains("fingerprint"), "{written}");
    planted.assert_absent("baseline file", &written);
    planted.assert_absent("baseline stdout", &run.stdout);
    planted.assert_absent("baseline stderr", &run.stderr);
    let run = r.keyfence(&["scan", ".", "--baseline", bl_s]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[cfg(unix)]
#[test]
fn no_redact_output_file_is_private_and_holds_the_secret() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let r = sb.repo("r");
    let (_, id, secret, token) = Planted::new(5);
    files(&r, &id, &secret, &token);
    let out = r.home.join("raw.json");
    // Even a file that exists with loose permissions is tightened.
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = r.keyfence(&[
        "scan",
        ".",
        "--no-redact",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a report with raw secrets must be private");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.contains(&id) && written.contains(&secret),
        "the test can see raw secrets"
    );
    assert!(!run.stdout.contains(&id) && !run.stderr.contains(&id));
}
