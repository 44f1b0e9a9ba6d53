//! AWS credentials in the shapes real repositories hold them (issue 11): escaped JSON, chat
//! exports, JSON inside source strings, URL userinfo and query parameters, literals split by
//! concatenation, environment fallbacks, glued punctuation, Jenkins credentials, and a secret
//! under a name that says nothing about AWS. Every key is generated here; each case goes through
//! the real binary and must be found at the line where it starts, as one paired credential.

use crate::fixture::{scan_json, write};
use keyfence::rules::placeholder::Generator;
use serde_json::Value;

/// A key ID and a secret that holds a `/` (so escaping and percent-encoding change it).
pub(crate) fn creds(seed: u64) -> (String, String) {
    let mut g = Generator::new(seed);
    let id = g.aws_key_id("AKIA");
    loop {
        let s = g.aws_secret();
        if s.contains('/') && s.contains('+') {
            return (id, s);
        }
    }
}

pub(crate) fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Scans `text` saved as `file` and returns the findings.
pub(crate) fn findings(file: &str, text: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), file, text);
    let run = scan_json(dir.path(), &["--no-redact", "--quiet", "--no-ignore"]);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    run.json()
}

/// The one finding must be the pair of `id` and `secret`, reported at `line`.
pub(crate) fn expect_pair(file: &str, text: &str, id: &str, secret: &str, line: u64) {
    let f = findings(file, text);
    let shown: Vec<String> = f
        .iter()
        .map(|x| format!("{} line {}", x["rule_id"], x["line"]))
        .collect();
    assert_eq!(f.len(), 1, "{file}: expected one pair, got {shown:?}");
    let f = &f[0];
    assert_eq!(f["rule_id"], "aws-credential-pair", "{file}: {shown:?}");
    assert_eq!(f["line"].as_u64(), Some(line), "{file}: {shown:?}");
    assert_eq!(f["secret"].as_str(), Some(secret), "{file}");
    // The key ID is named in `related`, or inside the match when one regex caught both.
    let related = f["related"][0]["secret"].as_str() == Some(id);
    assert!(
        related || f["match"].as_str().unwrap_or("").contains(id),
        "{file}: key ID not attached: {f}"
    );
}

#[test]
fn json_with_escaped_slashes() {
    let (id, s) = creds(1101);
    let text = format!(
        "{{\n  \"AccessKeyId\": \"{id}\",\n  \"SecretAccessKey\": \"{}\"\n}}\n",
        s.replace('/', "\\/")
    );
    expect_pair("creds.json", &text, &id, &s, 3);
    // .NET's encoder writes `+` and `/` as \u escapes.
    let (id, s) = creds(1102);
    let text = format!(
        "{{\"accessKey\":\"{id}\",\n\"secretKey\":\"{}\"}}\n",
        s.replace('/', "\\u002F").replace('+', "\\u002B")
    );
    expect_pair("appsettings.json", &text, &id, &s, 2);
}

#[test]
fn slack_and_teams_exports() {
    let (id, s) = creds(1103);
    let text = format!(
        "[\n  {{\"type\": \"message\", \"user\": \"U024BE7LH\", \"ts\": \"1355517523.000005\",\n   \"text\": \"prod creds {id} {}\"}}\n]\n",
        s.replace('/', "\\/")
    );
    expect_pair("general/2024-01-02.json", &text, &id, &s, 3);
    let (id, s) = creds(1104);
    let text = format!(
        "{{\"messages\": [\n {{\"body\": {{\"contentType\": \"html\",\n  \"content\": \"<p>key {id}<br>secret: {}<\\/p>\"}}}}]}}\n",
        s.replace('/', "\\/")
    );
    expect_pair("teams/messages.json", &text, &id, &s, 3);
}

#[test]
fn json_embedded_in_source_strings() {
    let (id, s) = creds(1105);
    let text = format!(
        "class T {{\n  String body = \"{{\\\"awsAccessKey\\\":\\\"{id}\\\",\\\"awsSecretKey\\\":\\\"{s}\\\"}}\";\n}}\n"
    );
    expect_pair("T.java", &text, &id, &s, 2);
    let (id, s) = creds(1106);
    let text = format!(
        "const cfg = JSON.parse(\"{{\\\"id\\\":\\\"{id}\\\",\\\"awsSecretKey\\\":\\\"{}\\\"}}\");\n",
        s.replace('/', "\\\\/")
    );
    expect_pair("cfg.js", &text, &id, &s, 1);
}

#[test]
fn url_userinfo_plain_and_percent_encoded() {
    let (id, s) = creds(1107);
    expect_pair(
        "a.txt",
        &format!("# backup\nurl = s3://{id}:{s}@my-bucket/path\n"),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1108);
    expect_pair(
        "b.txt",
        &format!("\n\nurl = s3://{id}:{}@my-bucket/path\n", pct(&s)),
        &id,
        &s,
        3,
    );
    // Everything percent-encoded, the key ID included.
    let (id, s) = creds(1109);
    let url = pct(&format!("aws://{id}:{s}@"));
    let f = findings("c.env", &format!("X=1\nCONN={url}\n"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["line"], 2);
    assert_eq!(f[0]["secret"].as_str(), Some(s.as_str()));
}

#[test]
fn restic_duplicity_and_airflow_connections() {
    let (id, s) = creds(1110);
    expect_pair(
        "backup.sh",
        &format!(
            "#!/bin/sh\nexport RESTIC_REPOSITORY=s3:https://{id}:{s}@s3.amazonaws.com/bucket\n"
        ),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1111);
    expect_pair(
        "dup.sh",
        &format!(
            "duplicity /home boto3+s3://{id}:{}@bucket/backup\n",
            pct(&s)
        ),
        &id,
        &s,
        1,
    );
    let (id, s) = creds(1112);
    expect_pair(
        "airflow.env",
        &format!(
            "AIRFLOW__CORE__LOAD_EXAMPLES=False\nAIRFLOW_CONN_AWS_DEFAULT=aws://{id}:{}@/?region_name=eu-west-1\n",
            pct(&s)
        ),
        &id,
        &s,
        2,
    );
}

#[test]
fn query_parameters() {
    let (id, s) = creds(1113);
    expect_pair(
        "sync.txt",
        &format!(
            "see\nhttps://sync.acme.io/run?aws_access_key_id={id}&aws_secret_access_key={}&bucket=x\n",
            pct(&s)
        ),
        &id,
        &s,
        2,
    );
    // A presigned URL carries the key ID only (the signature is not the secret).
    let (id, _) = creds(1114);
    let url = format!(
        "https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={id}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z\n"
    );
    let f = findings("presigned.txt", &format!("\n{url}"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule_id"], "aws-access-key-id");
    assert_eq!(f[0]["secret"].as_str(), Some(id.as_str()));
    assert_eq!(f[0]["line"], 2);
}

#[test]
fn literals_split_by_concatenation_are_reported_at_the_first_piece() {
    let (id, s) = creds(1115);
    expect_pair(
        "a.js",
        &format!(
            "const id = \"{id}\";\nconst secret = \"{}\" + \"{}\";\n",
            &s[..4],
            &s[4..]
        ),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1116);
    expect_pair(
        "B.java",
        &format!(
            "String id = \"{id}\";\nString secretKey = \"{}\" +\n    \"{}\";\n",
            &s[..20],
            &s[20..]
        ),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1117);
    expect_pair(
        "c.py",
        &format!(
            "ID = \"{id}\"\nSECRET = (\"{}\"\n          \"{}\")\n",
            &s[..17],
            &s[17..]
        ),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1118);
    expect_pair(
        "d.sh",
        &format!(
            "export AWS_ACCESS_KEY_ID={id}\nexport AWS_SECRET_ACCESS_KEY={}\\\n{}\n",
            &s[..25],
            &s[25..]
        ),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1119);
    expect_pair(
        "e.php",
        &format!(
            "<?php\n$key = '{id}';\n$secret = '{}' . '{}';\n",
            &s[..10],
            &s[10..]
        ),
        &id,
        &s,
        3,
    );
}

#[test]
fn environment_fallbacks() {
    let (id, s) = creds(1120);
    expect_pair(
        "a.rb",
        &format!(
            "key = ENV[\"AWS_ACCESS_KEY_ID\"] || \"{id}\"\nsecret = ENV[\"AWS_SECRET_ACCESS_KEY\"] || \"{s}\"\n"
        ),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1121);
    expect_pair(
        "b.py",
        &format!(
            "import os\nkey = os.getenv(\"AWS_ACCESS_KEY_ID\", \"{id}\")\nsecret = os.getenv(\"AWS_SECRET_ACCESS_KEY\", \"{s}\")\n"
        ),
        &id,
        &s,
        3,
    );
    let (id, s) = creds(1122);
    expect_pair(
        "c.sh",
        &format!("KEY=${{AWS_ACCESS_KEY_ID:-{id}}}\nSECRET=${{AWS_SECRET_ACCESS_KEY:-{s}}}\n"),
        &id,
        &s,
        2,
    );
    // Only the secret, with no key ID: still found by its name.
    let (_, s) = creds(1123);
    let f = findings(
        "d.ts",
        &format!("const s = process.env.AWS_SECRET_ACCESS_KEY ?? '{s}';\n"),
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule_id"], "aws-secret-access-key");
}

#[test]
fn punctuation_glued_to_the_secret_and_jenkins_credentials() {
    let (id, s) = creds(1124);
    expect_pair(
        "a.yml",
        &format!("access: {id}\nsecret: {s};\n"),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1125);
    expect_pair(
        "notes.txt",
        &format!("use key {id}\nand the secret is .{s}.\n"),
        &id,
        &s,
        2,
    );
    let (id, s) = creds(1126);
    let xml = format!(
        "<?xml version='1.1' encoding='UTF-8'?>\n<com.cloudbees.plugins.credentials.SystemCredentialsProvider>\n  <domainCredentialsMap>\n    <com.cloudbees.jenkins.plugins.awscredentials.AWSCredentialsImpl>\n      <scope>GLOBAL</scope>\n      <id>aws-prod</id>\n      <accessKey>{id}</accessKey>\n      <secretKey>{s}</secretKey>\n    </com.cloudbees.jenkins.plugins.awscredentials.AWSCredentialsImpl>\n  </domainCredentialsMap>\n</com.cloudbees.plugins.credentials.SystemCredentialsProvider>\n"
    );
    expect_pair("credentials.xml", &xml, &id, &s, 8);
}

#[test]
fn generic_names_next_to_a_key_id() {
    let (id, s) = creds(1127);
    expect_pair(
        "app.cfg",
        &format!("[storage]\nkey_id = {id}\nregion = us-east-1\npassword = {s}\n"),
        &id,
        &s,
        4,
    );
    let (id, s) = creds(1128);
    expect_pair(
        "deploy.yaml",
        &format!("user: {id}\nnote: rotate monthly\nvalue: \"{s}\"\n"),
        &id,
        &s,
        3,
    );
}

#[test]
fn lookalikes_near_a_key_id_do_not_pair() {
    let mut g = Generator::new(1130);
    let id = g.aws_key_id("AKIA");
    let hex = g.string(keyfence::rules::placeholder::HEX, 40);
    // A commit hash, a path of exactly 40 characters, a longer base64 run and a split string
    // that is a plain word: the key ID stays alone.
    let text = format!(
        "id = {id}\ncommit {hex}\nsrc/main/java/com/acme/foo/bar/Baz12.java\nblob = {}\nmsg = \"hello\" + \"world\"\n",
        g.string(keyfence::rules::placeholder::BASE64, 60)
    );
    let f = findings("x.txt", &text);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0]["rule_id"], "aws-access-key-id");
    // A secret-shaped value in another INI section is not this key's secret.
    let s = g.aws_secret();
    let text = format!("[dev]\nkey_id = {id}\n[prod]\npassword = {s}\n");
    let f = findings("y.ini", &text);
    assert!(
        f.iter().all(|x| x["rule_id"] != "aws-credential-pair"),
        "{f:?}"
    );
}

#[test]
fn jwts_whose_claims_say_test_or_expired_are_not_reported() {
    let mut g = Generator::new(1131);
    let live = g.jwt_with("RS256", r#""exp":4102444800,"iss":"https://auth.acme.io""#);
    let expired = g.jwt_with("RS256", r#""exp":1500000000,"iss":"https://auth.acme.io""#);
    let test_iss = g.jwt_with("HS256", r#""iss":"https://example.com""#);
    let test_aud = g.jwt_with("HS256", r#""aud":["api","test-client"]"#);
    let text =
        format!("a = \"{expired}\"\nb = \"{test_iss}\"\nc = \"{test_aud}\"\nd = \"{live}\"\n");
    let f = findings("auth_test.py", &text);
    let jwts: Vec<u64> = f
        .iter()
        .filter(|x| x["rule_id"] == "jwt")
        .map(|x| x["line"].as_u64().unwrap())
        .collect();
    assert_eq!(jwts, vec![4], "{f:?}");
}
