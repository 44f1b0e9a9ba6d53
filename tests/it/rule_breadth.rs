//! Breadth (issue 11): the shipped packs hold at least 200 rules whose examples all pass through
//! the real binary, and tokens of the new formats are found in real files while look-alikes that
//! fail their structure check (checksum, macaroon layout, UUID version) are not.

use crate::fixture::{run_in, scan_json, write};
use keyfence::rules::placeholder::Generator;

#[test]
fn rules_test_runs_every_example_of_at_least_200_rules() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["rules", "test"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let text = format!("{}{}", run.stdout, run.stderr);
    let rules: usize = text
        .split_whitespace()
        .zip(text.split_whitespace().skip(1))
        .find(|(_, w)| w.starts_with("rules"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no rule count in {text}"));
    assert!(rules >= 200, "{rules} rules");
    assert!(text.contains("0 failure"), "{text}");
}

fn rule_lines(dir: &std::path::Path) -> Vec<(String, u64)> {
    let run = scan_json(dir, &["--quiet", "--no-ignore"]);
    let mut v: Vec<(String, u64)> = run
        .json()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn new_formats_are_found_in_real_files_at_their_lines() {
    let mut g = Generator::new(1201);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "# deploy settings\nVAULT_TOKEN=hvr.{}\nCONSUL_HTTP_TOKEN={}\nTWINE_PASSWORD={}\nSOPS_AGE_KEY={}\nDOPPLER_TOKEN=dp.st.prd.{}\nexport HCLOUD_TOKEN=\"{}\"\n",
        g.string(keyfence::rules::placeholder::BASE64URL, 90),
        g.uuid(),
        g.pypi_token("pypi.org"),
        g.age_key(true),
        g.string(keyfence::rules::placeholder::ALNUM, 43),
        g.string(keyfence::rules::placeholder::ALNUM, 64),
    );
    write(dir.path(), "deploy.env", &text);
    let found = rule_lines(dir.path());
    let want = [
        ("vault-recovery-token", 2),
        ("consul-acl-token", 3),
        ("pypi-upload-token", 4),
        ("age-secret-key", 5),
        ("doppler-token", 6),
        ("hetzner-cloud-token", 7),
    ];
    for (rule, line) in want {
        assert!(
            found.contains(&(rule.to_string(), line)),
            "{rule} not at line {line}: {found:?}"
        );
    }
}

#[test]
fn lookalikes_failing_their_structure_check_are_not_reported() {
    let mut g = Generator::new(1202);
    let dir = tempfile::tempdir().unwrap();
    // A bad bech32 checksum, random bytes after PyPI's fixed prefix, a version-1 UUID as a
    // Consul token, and kubeadm's documented sample token.
    let text = format!(
        "SOPS_AGE_KEY={}\nTWINE_PASSWORD=pypi-AgEIcHlwaS5vcmc{}\nCONSUL_HTTP_TOKEN={}-{}-1{}-c{}-{}\nkubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef\n",
        g.age_key(false),
        g.string(keyfence::rules::placeholder::BASE64URL, 150),
        g.string(keyfence::rules::placeholder::HEX, 8),
        g.string(keyfence::rules::placeholder::HEX, 4),
        g.string(keyfence::rules::placeholder::HEX, 3),
        g.string(keyfence::rules::placeholder::HEX, 3),
        g.string(keyfence::rules::placeholder::HEX, 12),
    );
    write(dir.path(), "lookalikes.env", &text);
    let found = rule_lines(dir.path());
    assert!(found.is_empty(), "{found:?}");
}

/// A name the pattern takes with any separator (`CF.API.TOKEN`, `dd.api.key`, `coApiKey`) is
/// found in a file where no other keyword of its rule occurs: each rule's keywords cover every
/// spelling of its pattern (before, only the spellings listed as keywords were, and the others
/// only when one of those also occurred in the file).
#[test]
fn names_spelled_with_any_separator_are_found_without_another_keyword_nearby() {
    use keyfence::rules::placeholder::{ALNUM, BASE64, HEX};
    let mut g = Generator::new(1301);
    let cases = [
        (
            "cloudflare-api-token",
            format!("CF.API.TOKEN = {}", g.string(ALNUM, 40)),
        ),
        (
            "datadog-api-key",
            format!("dd.api.key: {}", g.string(HEX, 32)),
        ),
        (
            "vault-legacy-token",
            format!("vault.token = s.{}", g.string(ALNUM, 24)),
        ),
        (
            "vault-approle-secret-id",
            format!("secret.id: {}", g.uuid()),
        ),
        (
            "consul-gossip-key",
            format!("encrypt: \"{}=\"", g.string(BASE64, 43)),
        ),
        (
            "hcp-client-secret",
            format!("hcp.client.secret = {}", g.string(ALNUM, 64)),
        ),
        (
            "cohere-api-key",
            format!("const coApiKey = \"{}\";", g.string(ALNUM, 40)),
        ),
        (
            "azure-storage-account-key",
            format!("storage.key = {}==", g.string(BASE64, 86)),
        ),
        (
            "generic-secret-assignment",
            format!("privateKey = \"{}\"", g.string(ALNUM, 24)),
        ),
    ];
    for (rule, line) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "settings.txt", format!("# settings\n{line}\n"));
        let found = rule_lines(dir.path());
        assert!(found.contains(&(rule.to_string(), 2)), "{rule}: {found:?}");
    }
}
