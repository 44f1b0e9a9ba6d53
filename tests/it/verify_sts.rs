//! `--verify` against a real local AWS endpoint (moto's server, started here with its
//! authentication on), and proof that without `--verify` nothing is sent at all.
//!
//! moto is required: `.ci/run` installs it. Only a developer without it may skip these tests, by
//! setting KEYFENCE_NO_MOTO=1; CI never does.

use crate::fixture::{self, sarif};

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use keyfence::rules::placeholder::Generator;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_keyfence");

struct Moto {
    url: String,
    user: String,
    live: (String, String),
    inactive: (String, String),
    /// An ASIA key, its secret and its session token (an assumed role's session).
    session: (String, String, String),
    _child: Mutex<Child>,
}

/// The one moto server of this test binary (it exits when our end of its stdin closes).
fn moto() -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    MOTO.get_or_init(start_moto).as_ref()
}

fn start_moto() -> Option<Moto> {
    let python = std::env::var("KEYFENCE_PYTHON").unwrap_or_else(|_| "python3".into());
    let have = Command::new(&python)
        .args(["-c", "import moto.server, boto3, flask"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        if std::env::var_os("KEYFENCE_NO_MOTO").is_some_and(|v| v == "1") {
            eprintln!("KEYFENCE_NO_MOTO=1: skipping the --verify tests against moto");
            return None;
        }
        panic!(
            "these tests need moto's server: pip install 'moto[server]==5.2.5' \
             (or set KEYFENCE_NO_MOTO=1 to skip them on a machine without it; CI must not)"
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto/sts_server.py");
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("moto's first line");
    let v: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("moto said {line:?}: {e}"));
    let pair = |k: &str| {
        (
            v[k][0].as_str().unwrap().to_string(),
            v[k][1].as_str().unwrap().to_string(),
        )
    };
    Some(Moto {
        url: format!("http://127.0.0.1:{}", v["port"]),
        user: v["user"].as_str().unwrap().to_string(),
        live: pair("live"),
        inactive: pair("inactive"),
        session: (
            v["session"][0].as_str().unwrap().to_string(),
            v["session"][1].as_str().unwrap().to_string(),
            v["session"][2].as_str().unwrap().to_string(),
        ),
        _child: Mutex::new(child),
    })
}

fn provider(id: &str, secret: &str) -> String {
    format!(
        "provider \"aws\" {{\n  region     = \"us-east-1\"\n  access_key = \"{id}\"\n  secret_key = \"{secret}\"\n}}\n"
    )
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn json(&self) -> Vec<Value> {
        serde_json::from_str::<Value>(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
            .as_array()
            .unwrap()
            .clone()
    }
}

/// Runs keyfence in `dir` with the STS endpoint at `endpoint` and no proxy from the outside.
fn keyfence(dir: &Path, endpoint: &str, args: &[&str]) -> Out {
    let out = fixture::command(BIN, &fixture::test_home())
        .args(args)
        .current_dir(dir)
        .env("AWS_ENDPOINT_URL_STS", endpoint)
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn verification(f: &Value) -> (String, Value) {
    let v = f["verification"].clone();
    (v["status"].as_str().unwrap_or("none").to_string(), v)
}

fn pair_finding(findings: &[Value], file: &str) -> Value {
    findings
        .iter()
        .find(|f| f["rule_id"] == "aws-credential-pair" && f["file"] == file)
        .unwrap_or_else(|| panic!("no pair in {file}: {findings:#?}"))
        .clone()
}

#[test]
fn a_live_key_is_live_critical_and_first_in_every_format() {
    let Some(m) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    // a.tf sorts first by path; the live key in z.tf must lead all the same.
    let mut g = Generator::new(41);
    std::fs::write(
        dir.path().join("a.tf"),
        provider(&g.aws_key_id("AKIA"), &g.aws_secret()),
    )
    .unwrap();
    std::fs::write(dir.path().join("z.tf"), provider(&m.live.0, &m.live.1)).unwrap();
    let run = keyfence(
        dir.path(),
        &m.url,
        &["scan", ".", "--verify", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let findings = run.json();
    assert_eq!(
        findings[0]["file"], "z.tf",
        "the live key leads: {findings:#?}"
    );
    let live = pair_finding(&findings, "z.tf");
    let (status, v) = verification(&live);
    assert_eq!(status, "live", "{v}");
    assert_eq!(v["account"], "123456789012");
    assert_eq!(v["user"], format!("user {}", m.user));
    assert_eq!(
        v["arn"],
        format!("arn:aws:iam::123456789012:user/{}", m.user)
    );
    assert_eq!(live["severity"], "critical");
    assert_eq!(
        verification(&pair_finding(&findings, "a.tf")).0,
        "invalid-key-id"
    );
    // The report stays redacted: the secret never shows.
    assert!(!run.stdout.contains(&m.live.1));

    live_in_text(dir.path(), m);
    live_in_other_formats(dir.path(), m);
}

/// The text report of a live key: the STS line, the live finding first, the advice with the user.
fn live_in_text(dir: &Path, m: &Moto) {
    let text = keyfence(dir, &m.url, &["scan", ".", "--verify", "--no-color"]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.contains(&format!(
            "verified with STS: live — anyone holding it can act as arn:aws:iam::123456789012:user/{}",
            m.user
        )),
        "{}",
        text.stdout
    );
    assert!(text.stdout.starts_with("z.tf:"), "{}", text.stdout);
    // The advice names the user STS named, with the full key ID, ready to paste.
    assert!(
        text.stdout.contains(&format!(
            "aws iam update-access-key --user-name {} --access-key-id {} --status Inactive",
            m.user, m.live.0
        )),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains(&m.live.1));
}

/// SARIF, JUnit and GitLab carry the verification too.
fn live_in_other_formats(dir: &Path, m: &Moto) {
    let sarif = keyfence(dir, &m.url, &["scan", ".", "--verify", "--format", "sarif"]);
    let doc = sarif::validated_sarif("scan --verify --format sarif", &sarif.stdout);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let props = &results[0]["properties"]["verification"];
    assert_eq!(props["status"], "live", "{}", sarif.stdout);
    assert!(results[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("verified with STS: live"));

    for (format, needle) in [
        ("junit", "verified with STS: live"),
        ("gitlab", "verified with STS: live"),
    ] {
        let r = keyfence(dir, &m.url, &["scan", ".", "--verify", "--format", format]);
        assert!(r.stdout.contains(needle), "{format}: {}", r.stdout);
    }
}

#[test]
fn the_runbook_names_the_user_that_verification_found() {
    let Some(m) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), provider(&m.live.0, &m.live.1)).unwrap();
    let run = keyfence(
        dir.path(),
        &m.url,
        &[
            "scan",
            ".",
            "--verify",
            "--format",
            "json",
            "-o",
            "findings.json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let rb = keyfence(
        dir.path(),
        &m.url,
        &["respond", "findings.json", "--key-id", &m.live.0],
    );
    assert_eq!(rb.code, 0, "{}", rb.stderr);
    let t = &rb.stdout;
    assert!(t.contains(&format!("user {}", m.user)), "{t}");
    assert!(
        t.contains(&format!(
            "aws iam update-access-key --user-name {} --access-key-id {} --status Inactive",
            m.user, m.live.0
        )),
        "{t}"
    );
    assert!(
        t.contains("Verified with STS: live (arn:aws:iam::123456789012:user/"),
        "{t}"
    );
    assert!(t.contains("Found at: main.tf:4"), "{t}");
    assert!(
        !t.contains(&m.live.1),
        "the secret never appears in the runbook"
    );
    let md = keyfence(
        dir.path(),
        &m.url,
        &[
            "respond",
            "findings.json",
            "--key-id",
            &m.live.0,
            "--format",
            "markdown",
        ],
    );
    assert!(
        md.stdout.contains("- [ ] Deactivate the key now"),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains(&format!(
        "--user-name {} --access-key-id {}",
        m.user, m.live.0
    )));
}

#[test]
fn an_unknown_key_id_a_wrong_secret_and_an_inactive_key_are_told_apart() {
    let Some(m) = moto() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(7);
    std::fs::write(
        dir.path().join("unknown.tf"),
        provider(&g.aws_key_id("AKIA"), &g.aws_secret()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("wrong.tf"),
        provider(&m.live.0, &g.aws_secret()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("inactive.tf"),
        provider(&m.inactive.0, &m.inactive.1),
    )
    .unwrap();
    let run = keyfence(
        dir.path(),
        &m.url,
        &["scan", ".", "--verify", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = run.json();
    let (s, v) = verification(&pair_finding(&f, "unknown.tf"));
    assert_eq!(s, "invalid-key-id", "{v}");
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("InvalidClientTokenId"));
    let (s, v) = verification(&pair_finding(&f, "wrong.tf"));
    assert_eq!(s, "wrong-secret", "{v}");
    assert!(v["detail"]
        .as_str()
        .unwrap()
        .contains("SignatureDoesNotMatch"));
    // Real STS answers an Inactive key exactly as an unknown one; so does the patched mock.
    let (s, v) = verification(&pair_finding(&f, "inactive.tf"));
    assert_eq!(s, "invalid-key-id", "{v}");
    for x in &f {
        assert_ne!(
            x["verification"]["status"], "live",
            "nothing here is live: {x}"
        );
        assert!(x["verification"]["arn"].is_null());
    }
}

#[test]
fn an_unreachable_endpoint_is_unknown_never_not_live() {
    let Some(m) = moto() else { return };
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), provider(&m.live.0, &m.live.1)).unwrap();
    let run = keyfence(
        dir.path(),
        &format!("http://127.0.0.1:{port}"),
        &["scan", ".", "--verify", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let (s, v) = verification(&pair_finding(&run.json(), "main.tf"));
    assert_eq!(s, "unknown", "{v}");
    assert!(
        v["detail"].as_str().unwrap().starts_with("no answer"),
        "{v}"
    );
    let text = keyfence(
        dir.path(),
        &format!("http://127.0.0.1:{port}"),
        &["scan", ".", "--verify", "--no-color"],
    );
    assert!(
        text.stdout
            .contains("verified with STS: unknown — could not tell; treat it as live"),
        "{}",
        text.stdout
    );
}

/// A listener that counts the connections it gets and never answers.
fn counting_listener() -> (String, Arc<Mutex<usize>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let count = Arc::new(Mutex::new(0usize));
    let c = count.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { continue };
            *c.lock().unwrap() += 1;
            // Hold it open unanswered; read what comes so the client is not reset.
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while conn.read(&mut buf).is_ok_and(|n| n > 0) {}
            });
        }
    });
    (url, count)
}

#[test]
fn without_verify_nothing_is_sent_and_with_it_each_credential_once() {
    let (url, count) = counting_listener();
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(99);
    let (id, secret) = (g.aws_key_id("AKIA"), g.aws_secret());
    // The same credential twice, and a second one.
    std::fs::write(dir.path().join("a.tf"), provider(&id, &secret)).unwrap();
    std::fs::write(dir.path().join("b.tf"), provider(&id, &secret)).unwrap();
    std::fs::write(
        dir.path().join("c.tf"),
        provider(&g.aws_key_id("AKIA"), &g.aws_secret()),
    )
    .unwrap();
    // Every way a request could leave points at the listener: endpoint variables and proxies.
    let run = |args: &[&str]| {
        let out = fixture::command(BIN, &fixture::test_home())
            .args(args)
            .current_dir(dir.path())
            .env("AWS_ENDPOINT_URL_STS", &url)
            .env("AWS_ENDPOINT_URL", &url)
            .env("HTTPS_PROXY", &url)
            .env("HTTP_PROXY", &url)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    for format in ["text", "json", "sarif"] {
        let (code, out) = run(&["scan", ".", "--format", format]);
        assert_eq!(code, Some(1));
        if format == "sarif" {
            sarif::validated_sarif("scan --format sarif", &out);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(*count.lock().unwrap(), 0, "no connection without --verify");

    // The listener does see keyfence when asked to verify: two credentials, two connections
    // (the duplicate is asked once), each given up after the timeout and reported unknown.
    let (code, out) = run(&[
        "scan",
        ".",
        "--verify",
        "--verify-timeout",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        *count.lock().unwrap(),
        2,
        "one request per unique credential"
    );
    let f: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(f
        .iter()
        .filter(|x| x["rule_id"] == "aws-credential-pair")
        .all(|x| x["verification"]["status"] == "unknown"));
}

#[test]
fn verify_goes_through_https_proxy_to_the_generic_endpoint_variable() {
    let (proxy, count) = counting_listener();
    let dir = tempfile::tempdir().unwrap();
    let mut g = Generator::new(123);
    std::fs::write(
        dir.path().join("main.tf"),
        provider(&g.aws_key_id("AKIA"), &g.aws_secret()),
    )
    .unwrap();
    let out = fixture::command(BIN, &fixture::test_home())
        .args([
            "scan",
            ".",
            "--verify",
            "--verify-timeout",
            "1",
            "--format",
            "json",
        ])
        .current_dir(dir.path())
        .env_remove("AWS_ENDPOINT_URL_STS")
        .env("AWS_ENDPOINT_URL", "https://sts.keyfence-test.invalid")
        .env("HTTPS_PROXY", &proxy)
        .env_remove("https_proxy")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        *count.lock().unwrap(),
        1,
        "the request went through the proxy"
    );
    let f: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let (status, _) = verification(&pair_finding(&f, "main.tf"));
    assert_eq!(
        status, "unknown",
        "a proxy that never answers is no verdict"
    );
}

#[test]
fn a_temporary_key_is_verified_with_the_session_token_found_beside_it() {
    let Some(m) = moto() else { return };
    let (id, secret, token) = &m.session;
    assert!(id.starts_with("ASIA"), "{id}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("credentials"),
        format!(
            "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\naws_session_token = {token}\n"
        ),
    )
    .unwrap();
    // The same key without its token cannot be checked: unknown, and nothing is sent for it.
    std::fs::write(
        dir.path().join("no-token.env"),
        format!(
            "AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={}\n",
            Generator::new(5).aws_secret()
        ),
    )
    .unwrap();
    let run = keyfence(
        dir.path(),
        &m.url,
        &["scan", ".", "--verify", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = run.json();
    let (status, v) = verification(&pair_finding(&f, "credentials"));
    assert_eq!(status, "live", "{v}");
    assert_eq!(v["user"], "role deploy-role", "{v}");
    let (status, v) = verification(&pair_finding(&f, "no-token.env"));
    assert_eq!(status, "unknown", "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("session token"),
        "{v}"
    );
    assert!(!run.stdout.contains(token.as_str()) && !run.stdout.contains(secret.as_str()));
}
