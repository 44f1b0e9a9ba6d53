//! Writes the seed corpus: the test fixtures' shapes filled with generated keys (never literal
//! ones), in the encodings and layouts that stress the decoder and the locator, plus rule packs
//! and configs for the `config` target, and git hook input for `hook_stdin`. Usage: `seed OUT_DIR` (writes OUT_DIR/<target>/…).

use std::path::{Path, PathBuf};

use keyfence::rules::placeholder::{fill, Generator, HEX};

fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: seed OUT_DIR"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut gen = Generator::new(0x5eed);
    let mut texts: Vec<(String, Vec<u8>)> = Vec::new();

    for set in ["leaks", "clean"] {
        let dir = repo.join("fixtures").join(set);
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let template = std::fs::read_to_string(&path).unwrap();
            let text = fill(&template, &mut gen).expect("fixture placeholders are known");
            let name = format!("{set}-{}", path.file_name().unwrap().to_string_lossy());
            texts.push((name, text.into_bytes()));
        }
    }
    // Small shapes the fixtures do not all have.
    let (id, secret, token) = (
        gen.aws_key_id("AKIA"),
        gen.aws_secret(),
        gen.aws_session_token(),
    );
    let asia = gen.aws_key_id("ASIA");
    let shapes = [
        ("env", format!("AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\n")),
        ("yaml", format!("aws:\n  access_key_id: \"{asia}\"\n  secret_access_key: '{secret}'\n  session_token: {token}\n")),
        ("json", format!("{{\"AccessKeyId\": \"{asia}\", \"SecretAccessKey\": \"{secret}\", \"SessionToken\": \"{token}\"}}")),
        ("csv", format!("Access key ID,Secret access key\n{id},{secret}\n")),
        ("tf", format!("provider \"aws\" {{\n  access_key = \"{id}\"\n  secret_key = \"{secret}\"\n}}\n")),
        ("tfstate", format!("{{\"resources\":[{{\"instances\":[{{\"attributes\":{{\"id\":\"{id}\",\"secret\":\"{secret}\"}}}}]}}]}}")),
        ("allow", format!("key = {id} # keyfence:allow\n")),
        ("bare", id.clone()),
    ];
    for (name, text) in shapes {
        texts.push((format!("shape-{name}"), text.into_bytes()));
    }

    let engine = out.join("engine");
    let decode = out.join("decode");
    let config = out.join("config");
    for d in [&engine, &decode, &config] {
        std::fs::create_dir_all(d).unwrap();
    }
    for (name, bytes) in &texts {
        for (variant, data) in variants(bytes, &id) {
            std::fs::write(engine.join(format!("{name}.{variant}")), &data).unwrap();
            // The decode target wants short inputs; keep the small ones.
            if data.len() <= 4096 {
                std::fs::write(decode.join(format!("{name}.{variant}")), &data).unwrap();
            }
        }
    }

    for entry in std::fs::read_dir(repo.join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            std::fs::copy(&path, config.join(format!("pack-{name}"))).unwrap();
        }
    }
    let configs = [
        ("extend", "extend_default = true\ndisabled_rules = [\"aws-session-token\"]\n[allowlist]\npaths = [\"fixtures/**\"]\nregexes = ['''EXAMPLE''']\nstopwords = [\"dummy\"]\ncommits = [\"abc123\"]\n"),
        ("override", "[[rules]]\nid = \"aws-access-key-id\"\nseverity = \"low\"\nentropy = 2.5\n[rules.allowlist]\nregex_target = \"line\"\nregexes = ['''test''']\n"),
        ("new-rule", "[[rules]]\nid = \"my-token\"\ndescription = \"x\"\nregex = '''tok_(?P<secret>[a-z0-9]{32})'''\nkeywords = [\"tok_\"]\npaths = [\"**/*.env\", \"{a,b}/*.tf\"]\nexamples = [\"tok_{{lowernum:32}}\"]\nnegative_examples = [\"tok_\"]\nvalidate = \"aws-key-id\"\n"),
        ("empty-start", "extend_default = false\n[[rules]]\nid = \"a\"\ndescription = \"a\"\nregex = '''a+'''\n"),
        ("dup", "[[rules]]\nid = \"x\"\ndescription = \"x\"\nregex = 'x'\n[[rules]]\nid = \"x\"\ndescription = \"y\"\nregex = 'y'\n"),
        ("huge-regex", "[[rules]]\nid = \"huge\"\ndescription = \"x\"\nregex = '''\\w{1000}{1000}'''\n"),
    ];
    for (name, text) in configs {
        std::fs::write(config.join(format!("config-{name}.toml")), text).unwrap();
    }
    let hook = out.join("hook_stdin");
    std::fs::create_dir_all(&hook).unwrap();
    let (a, b, c) = (
        gen.string(HEX, 40),
        gen.string(HEX, 40),
        gen.string(HEX, 64),
    );
    let zero = "0".repeat(40);
    let hooks = [
        (
            "push-update",
            format!("refs/heads/main {a} refs/heads/main {b}\n"),
        ),
        (
            "push-new",
            format!("refs/heads/topic {a} refs/heads/topic {zero}\n"),
        ),
        (
            "push-delete",
            format!("(delete) {zero} refs/heads/old {b}\n"),
        ),
        (
            "push-many",
            format!(
                "refs/heads/a {a} refs/heads/a {b}\r\n\nrefs/tags/v1 {b} refs/tags/v1 {zero}\r\n"
            ),
        ),
        ("receive-update", format!("{a} {b} refs/heads/main\n")),
        (
            "receive-new",
            format!("{zero} {a} refs/heads/new\n{b} {zero} refs/heads/gone\n"),
        ),
        ("receive-sha256", format!("{c} {c} refs/heads/main\n")),
    ];
    for (name, text) in hooks {
        std::fs::write(hook.join(name), text).unwrap();
    }
    println!("seed corpus written to {}", out.display());
}

/// The same text as written, with CRLF, as UTF-16LE/BE with a BOM, behind a UTF-8 BOM, and with
/// a key at the end of a long line.
fn variants(bytes: &[u8], key: &str) -> Vec<(&'static str, Vec<u8>)> {
    let text = String::from_utf8_lossy(bytes);
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        le.extend(u.to_le_bytes());
        be.extend(u.to_be_bytes());
    }
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(bytes);
    let mut long = "var a=function(){return 1};".repeat(300).into_bytes();
    long.extend_from_slice(key.as_bytes());
    long.extend_from_slice(bytes);
    vec![
        ("txt", bytes.to_vec()),
        ("crlf", text.replace('\n', "\r\n").into_bytes()),
        ("utf16le", le),
        ("utf16be", be),
        ("bom", bom),
        ("long", long),
    ]
}
