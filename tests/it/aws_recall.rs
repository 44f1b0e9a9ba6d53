//! AWS credentials in the shapes a hostile probe (issue 11's last points) still found missed:
//! a split literal whose first piece another rule caught, HTML character references, YAML values
//! on the next line, console labels, CloudFormation parameters, `--value` flags, HCL heredocs;
//! and MinIO's public playground key, which is not a leak. Every key is generated here.

use crate::aws_shapes::{creds, expect_pair, findings};
use keyfence::rules::placeholder::Generator;

/// A secret whose first `n` characters are letters and digits only: a generic
/// `secret = "…"` rule takes that piece for a whole secret of its own.
fn creds_with_plain_head(seed: u64, n: usize) -> (String, String) {
    let mut g = Generator::new(seed);
    let id = g.aws_key_id("AKIA");
    loop {
        let s = g.aws_secret();
        if s[..n].bytes().all(|b| b.is_ascii_alphanumeric()) && s.contains('/') {
            return (id, s);
        }
    }
}

/// The one finding must be `rule`'s, with `secret`, at `line`.
fn expect_one(file: &str, text: &str, rule: &str, secret: &str, line: u64) {
    let f = findings(file, text);
    let shown: Vec<String> = f
        .iter()
        .map(|x| format!("{} line {} {}", x["rule_id"], x["line"], x["secret"]))
        .collect();
    assert_eq!(f.len(), 1, "{file}: expected one finding, got {shown:?}");
    assert_eq!(f[0]["rule_id"], rule, "{file}: {shown:?}");
    assert_eq!(f[0]["line"].as_u64(), Some(line), "{file}: {shown:?}");
    assert_eq!(f[0]["secret"].as_str(), Some(secret), "{file}: {shown:?}");
}

#[test]
fn a_split_literal_wins_over_a_rule_that_caught_its_first_piece() {
    for seed in [1201, 1202, 1203] {
        let (id, s) = creds_with_plain_head(seed, 17);
        let text = format!(
            "const id = \"{id}\";\nconst secret = \"{}\" +\n  \"{}\";\n",
            &s[..17],
            &s[17..]
        );
        expect_pair("cfg.js", &text, &id, &s, 2);
    }
}

#[test]
fn html_character_references_inside_the_secret() {
    let (id, s) = creds(1204);
    let shown = s.replace('/', "&#x2F;").replace('+', "&#43;");
    let text = format!(
        "<html><body>\n<pre>[default]\naws_access_key_id = {id}\naws_secret_access_key = {shown}</pre>\n</body></html>\n"
    );
    expect_pair("wiki/aws.html", &text, &id, &s, 4);
}

#[test]
fn yaml_values_on_the_next_line() {
    let (_, s) = creds(1205);
    let text = format!("env:\n  AWS_SECRET_ACCESS_KEY:\n    {s}\n  AWS_REGION: eu-west-1\n");
    expect_one("deploy.yaml", &text, "aws-secret-access-key", &s, 3);
    let (_, s) = creds(1206);
    let text = format!("aws:\n  secret_access_key: >-\n    {s}\n");
    expect_one("values.yaml", &text, "aws-secret-access-key", &s, 3);
}

#[test]
fn console_labels_and_the_aws_configure_prompt() {
    let (_, s) = creds(1207);
    let text = format!("Hi,\n\nSecret access key: {s}\n\nThanks\n");
    expect_one("mail.txt", &text, "aws-secret-access-key", &s, 3);
    let (_, s) = creds(1208);
    let text = format!(
        "$ aws configure\nAWS Access Key ID [****************QX3F]:\nAWS Secret Access Key [None]: {s}\nDefault region name [None]: us-east-1\n"
    );
    expect_one("session.log", &text, "aws-secret-access-key", &s, 3);
}

#[test]
fn cloudformation_parameters_and_cli_value_flags() {
    let (_, s) = creds(1209);
    let text = format!(
        "[\n  {{\n    \"ParameterKey\": \"AwsSecretAccessKey\",\n    \"ParameterValue\": \"{s}\"\n  }}\n]\n"
    );
    expect_one("params.json", &text, "aws-secret-access-key", &s, 4);
    let (_, s) = creds(1210);
    let text = format!(
        "#!/bin/sh\naws ssm put-parameter --name /ci/aws_secret_access_key --type SecureString --value \"{s}\"\n"
    );
    expect_one("seed.sh", &text, "aws-secret-access-key", &s, 2);
}

#[test]
fn hcl_heredoc_values() {
    let (_, s) = creds(1211);
    let text = format!(
        "resource \"aws_ssm_parameter\" \"secret\" {{\n  name  = \"/ci/aws_secret_access_key\"\n  value = <<EOT\n{s}\nEOT\n}}\n"
    );
    expect_one("ssm.tf", &text, "aws-secret-access-key", &s, 4);
}

#[test]
fn minio_playground_key_is_not_reported() {
    // play.min.io's published demo key, in two halves so this file holds no whole key.
    let secret = ["zuf+tfteSlswRu7BJ86w", "ekitnifILbZam1KYY3TG"].concat();
    let text = format!(
        "client = Minio(\"play.min.io\",\n    access_key=\"Q3AM3UQ867SPQQA43P2F\",\n    secret_key=\"{secret}\",\n)\n"
    );
    let f = findings("example.py", &text);
    assert!(f.is_empty(), "{f:?}");
    // A key of the same shape under the same name still is.
    let (_, s) = creds(1212);
    let text = text.replace(&secret, &s);
    expect_one("app.py", &text, "aws-secret-access-key", &s, 3);
}

/// An SDK's test vectors vary AWS's documentation key ID in its last letters (aws-sigv4's v4a
/// tests hold `AKIAIOSFODNN7EXAMPLF`); a key ID that merely ends the same way still counts.
#[test]
fn documentation_key_id_variants_in_sdk_tests_are_not_reported() {
    let mut g = Generator::new(1240);
    let vectors = format!(
        "const CREDENTIALS: &[(&str, &str)] = &[\n    (\"AKIAIOSFODNN7EXAMPLF\", \"je{}EXAMPLEKEY\"),\n];\n",
        g.string(keyfence::rules::placeholder::BASE64, 28)
    );
    let f = findings("src/sign/v4a.rs", &vectors);
    assert!(f.is_empty(), "{f:?}");
    let id = format!(
        "AKIA{}MPLF",
        g.string(keyfence::rules::placeholder::BASE32, 12)
    );
    let f = findings(
        "src/sign/v4a.rs",
        &vectors.replace("AKIAIOSFODNN7EXAMPLF", &id),
    );
    let ids: Vec<&str> = f.iter().filter_map(|x| x["secret"].as_str()).collect();
    assert_eq!(ids, [id.as_str()], "{f:?}");
}

#[test]
fn html_escaped_quotes_and_labels_above_their_value() {
    let (_, s) = creds(1213);
    let text = format!(
        "<div id=\"app\"\n  data-config=\"{{&quot;region&quot;:&quot;us-east-1&quot;,&quot;aws_secret_access_key&quot;:&quot;{s}&quot;}}\"></div>\n"
    );
    expect_one("index.html", &text, "aws-secret-access-key", &s, 2);
    let (_, s) = creds(1214);
    let text = format!("Credentials for the backup user\n\nSecret access key:\n{s}\n");
    expect_one("handover.txt", &text, "aws-secret-access-key", &s, 4);
}

#[test]
fn a_key_id_after_a_string_escape() {
    // A chat message whose text holds the console's CSV: the key ID follows a `\n` escape.
    let (id, s) = creds(1215);
    let text = format!(
        "{{\"type\": \"message\", \"text\": \"Access key ID,Secret access key\\n{id},{s}\\n\"}}\n"
    );
    expect_pair("export.json", &text, &id, &s, 1);
    let (id, _) = creds(1216);
    let text = format!("{{\"text\": \"new key:\\n{id}\\nsecret in the vault\"}}\n");
    expect_one("msg.json", &text, "aws-access-key-id", &id, 1);
}

#[test]
fn region_names_and_framework_signing_keys_are_not_aws_credentials() {
    let text = "Regions r = Regions.fromName(\"ASIAPACIFICSOUTHEAST\");\nString z = \"ASIAPACIFICNORTHEAST\";\n";
    let f = findings("Regions.java", text);
    assert!(f.is_empty(), "{f:?}");
    // Flask's and Django's `SECRET_KEY` is a signing key: generic when alone, not AWS.
    let (_, s) = creds(1217);
    let f = findings(
        "settings.py",
        &format!("DEBUG = False\nSECRET_KEY = \"{s}\"\n"),
    );
    let rules: Vec<&str> = f.iter().filter_map(|x| x["rule_id"].as_str()).collect();
    assert_eq!(rules, ["generic-secret-assignment"], "{f:?}");
    // Next to a key ID the same name still makes a pair.
    let (id, s) = creds(1218);
    let text = format!("ACCESS_KEY = \"{id}\"\nSECRET_KEY = \"{s}\"\n");
    expect_pair("aws_settings.py", &text, &id, &s, 2);
}

#[test]
fn table_cells_and_wrapped_assignments() {
    let (_, s) = creds(1219);
    let text =
        format!("## Staging\n\n| Variable | Value |\n|---|---|\n| AWS_SECRET_ACCESS_KEY | {s} |\n");
    expect_one("STAGING.md", &text, "aws-secret-access-key", &s, 5);
    let (_, s) = creds(1220);
    let text = format!("class Settings:\n    AWS_SECRET_ACCESS_KEY = (\n        \"{s}\"\n    )\n");
    expect_one("settings.py", &text, "aws-secret-access-key", &s, 3);
    let (_, s) = creds(1221);
    let text = format!("{{\n  \"aws_secret_access_key\":\n    \"{s}\"\n}}\n");
    expect_one("wrapped.json", &text, "aws-secret-access-key", &s, 3);
}

#[test]
fn elvis_conditional_and_block_fallbacks() {
    let (_, s) = creds(1222);
    let text = format!("<?php\n$secret = getenv('AWS_SECRET_ACCESS_KEY') ?: '{s}';\n");
    expect_one("config.php", &text, "aws-secret-access-key", &s, 2);
    let (_, s) = creds(1223);
    let text = format!("AWS_SECRET_ACCESS_KEY ?= {s}\n\ndeploy:\n\taws s3 sync . s3://b\n");
    expect_one("Makefile", &text, "aws-secret-access-key", &s, 1);
    let (_, s) = creds(1224);
    let text = format!("secret = ENV.fetch('AWS_SECRET_ACCESS_KEY') {{ '{s}' }}\n");
    expect_one("boot.rb", &text, "aws-secret-access-key", &s, 1);
}

#[test]
fn a_function_named_like_a_secret_is_not_one() {
    let text = "String secretKey = loadRetryAccessValueAsyncParamFromSecret(config);\nString awsSecretKey = fetchSecretAccessKeyFromParameterStore2(ssm);\n";
    let f = findings("Creds.java", text);
    assert!(f.is_empty(), "{f:?}");
}

#[test]
fn property_lists_and_php_serialized_options() {
    let (_, s) = creds(1225);
    let text =
        format!("<plist version=\"1.0\">\n<dict>\n\t<key>AWSSecretKey</key>\n\t<string>{s}</string>\n</dict>\n</plist>\n");
    expect_one("Info.plist", &text, "aws-secret-access-key", &s, 4);
    // A WordPress options row (an offload plugin's settings) in an SQL dump.
    let (_, s) = creds(1226);
    let text = format!(
        "INSERT INTO wp_options VALUES (102,'as3cf','a:2:{{s:8:\"provider\";s:3:\"aws\";s:17:\"secret-access-key\";s:40:\"{s}\";}}','yes');\n"
    );
    expect_one("dump.sql", &text, "aws-secret-access-key", &s, 1);
}

#[test]
fn the_documentation_key_id_does_not_make_a_pair() {
    let (_, s) = creds(1227);
    let text = format!("Access key ID,Secret access key\nAKIAIOSFODNN7EXAMPLE,{s}\n");
    let f = findings("docs/credentials.csv", &text);
    assert!(f.is_empty(), "{f:?}");
    // A real-looking key ID in the same place still does.
    let (id, s) = creds(1228);
    let text = format!("Access key ID,Secret access key\n{id},{s}\n");
    expect_pair("credentials.csv", &text, &id, &s, 2);
}

#[test]
fn one_escape_after_the_first_character_is_decoded_not_cut() {
    // `G%2fep9…`: after the `%` stands a 40-character run that is not the secret.
    let mut g = Generator::new(1229);
    let id = g.aws_key_id("AKIA");
    let rest: String = g.aws_secret().replace(['/', '+'], "x")[..38].to_string();
    let s = format!("G/{rest}");
    let text = format!("dsn = s3://{id}:G%2f{rest}@bucket/path\n");
    expect_pair("dsn.txt", &text, &id, &s, 1);
}

/// The bytes `python -m py_compile` writes for `ID = "…"`, `SECRET = "…"`, `DEBUG = False`:
/// marshal's short strings are a type byte, a length byte (40 is `(`) and the bytes; False's type
/// byte `F` follows the secret with no separator. `string_type` is `\xda` (a referenced string)
/// or `z` (printable: it glues the key ID to the secret's header).
fn pyc(id: &str, secret: &str, string_type: u8) -> Vec<u8> {
    let mut pyc = b"\xcb\x0d\x0d\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xe3".to_vec();
    pyc.extend_from_slice(&[0u8; 28]);
    pyc.extend_from_slice(b"\xf3\x14\x00\x00\x00\x97\x00\x64\x00\x5a\x00\x64\x01\x5a\x01)\x03");
    pyc.extend_from_slice(&[string_type, 0x14]);
    pyc.extend_from_slice(id.as_bytes());
    pyc.extend_from_slice(&[string_type, b'(']);
    pyc.extend_from_slice(secret.as_bytes());
    pyc.extend_from_slice(b"FN)\x03\xda\x11AWS_ACCESS_KEY_ID\xda\x15AWS_SECRET_ACCESS_KEY\xa9\x00");
    pyc
}

#[test]
fn compiled_python_modules_whose_secret_is_followed_by_a_constant() {
    for (seed, string_type) in [(1230, 0xda), (1231, b'z')] {
        let (id, s) = creds(seed);
        let dir = tempfile::tempdir().unwrap();
        let path = "__pycache__/settings.cpython-312.pyc";
        crate::fixture::write(dir.path(), path, pyc(&id, &s, string_type));
        let run = crate::fixture::scan_json(dir.path(), &["--no-redact", "--quiet", "--no-ignore"]);
        let f = run.json();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0]["rule_id"], "aws-credential-pair", "{f:?}");
        assert_eq!(f[0]["secret"].as_str(), Some(s.as_str()));
        assert_eq!(f[0]["related"][0]["secret"].as_str(), Some(id.as_str()));
    }
}

#[test]
fn the_base64_of_a_short_text_is_not_a_secret_access_key() {
    // 30 characters of text encode to 40 base64 characters, the length of a secret; a secret
    // is 30 random bytes, which never decode to text.
    let mut g = Generator::new(1232);
    let text_value =
        format!("ci-password-{}", g.aws_secret().replace(['/', '+'], "x"))[..30].to_string();
    let encoded = keyfence::engine::decode::encode_base64(text_value.as_bytes());
    assert_eq!(encoded.len(), 40);
    let yaml = format!("apiVersion: v1\nkind: Secret\ndata:\n  secretKey: {encoded}\n");
    let f = findings("secret.yaml", &yaml);
    assert!(
        f.iter().all(|x| x["rule_id"] != "aws-secret-access-key"),
        "{f:?}"
    );
    // A real secret's base64 in the same place is still decoded and found.
    let (_, s) = creds(1233);
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\ndata:\n  AWS_SECRET_ACCESS_KEY: {}\n",
        keyfence::engine::decode::encode_base64(s.as_bytes())
    );
    expect_one("aws.yaml", &yaml, "aws-secret-access-key", &s, 4);
}
