//! The AWS pack over real files in every format people paste keys into, through the real binary.

use crate::fixture::*;

const ID: &str = "aws-access-key-id";
const SECRET: &str = "aws-secret-access-key";

const PAIR: &str = "aws-credential-pair";

/// Where a finding must be reported: file, line, column, rule.
type Place = (String, u64, u64, String);

/// Writes `text` at `rel` and returns where its key ID and secret must be reported: close
/// together they are one `aws-credential-pair` finding, at the secret.
fn both(dir: &std::path::Path, rel: &str, text: &str, k: &Keys) -> Vec<(String, u64, u64, String)> {
    write(dir, rel, text);
    vec![place(rel, text, &k.secret, PAIR)]
}

#[test]
fn finds_keys_in_every_common_format_at_the_right_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut expected = Vec::new();
    let mut seed = 100;
    let mut next = || {
        seed += 1;
        keys(seed)
    };

    plant_terraform(d, &mut next, &mut expected);
    plant_config(d, &mut next, &mut expected);
    plant_code(d, &mut next, &mut expected);

    let run = scan_json(d, &[]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    expected.sort();
    assert_eq!(run.places(), expected);
}

/// Terraform: provider and backend blocks, tfvars (HCL and JSON), a variable default, state.
fn plant_terraform(
    d: &std::path::Path,
    next: &mut impl FnMut() -> Keys,
    expected: &mut Vec<Place>,
) {
    let k = next();
    let tf = format!(
        "terraform {{\n  required_version = \">= 1.5\"\n}}\n\nprovider \"aws\" {{\n  region     = \"eu-west-1\"\n  access_key = \"{}\"\n  secret_key = \"{}\"\n}}\n",
        k.id, k.secret
    );
    expected.extend(both(d, "infra/main.tf", &tf, &k));

    let k = next();
    let backend = format!(
        "terraform {{\n  backend \"s3\" {{\n    bucket     = \"state\"\n    access_key = \"{}\"\n    secret_key = \"{}\"\n    token      = \"{}\"\n  }}\n}}\n",
        k.id, k.secret, k.token
    );
    expected.extend(both(d, "infra/backend.tf", &backend, &k));
    expected.push(place(
        "infra/backend.tf",
        &backend,
        &k.token,
        "aws-session-token",
    ));

    let k = next();
    let tfvars = format!(
        "aws_access_key = \"{}\"\naws_secret_key = \"{}\"\n",
        k.id, k.secret
    );
    expected.extend(both(d, "env/prod.tfvars", &tfvars, &k));

    let k = next();
    let tfjson = format!(
        "{{\n  \"aws_access_key\": \"{}\",\n  \"aws_secret_key\": \"{}\"\n}}\n",
        k.id, k.secret
    );
    expected.extend(both(d, "env/prod.tfvars.json", &tfjson, &k));

    let k = next();
    let var = format!(
        "variable \"aws_secret_key\" {{\n  type    = string\n  default = \"{}\"\n}}\n# key {}\n",
        k.secret, k.id
    );
    // The ID is outside the variable block: not a pair, each keeps its own rule.
    write(d, "variables.tf", &var);
    expected.push(place("variables.tf", &var, &k.secret, SECRET));
    expected.push(place("variables.tf", &var, &k.id, ID));

    let k = next();
    let state = format!(
        "{{\n  \"resources\": [{{\n    \"type\": \"aws_iam_access_key\",\n    \"instances\": [{{\n      \"attributes\": {{\n        \"id\": \"{}\",\n        \"secret\": \"{}\"\n      }}\n    }}]\n  }}]\n}}\n",
        k.id, k.secret
    );
    write(d, "terraform.tfstate", &state);
    expected.push(place("terraform.tfstate", &state, &k.secret, PAIR));
}

/// Credentials files, shells, containers and CI configuration.
fn plant_config(d: &std::path::Path, next: &mut impl FnMut() -> Keys, expected: &mut Vec<Place>) {
    let k = next();
    let ini = format!(
        "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
        k.id, k.secret, k.token
    );
    expected.extend(both(d, ".aws/credentials", &ini, &k));
    expected.push(place(
        ".aws/credentials",
        &ini,
        &k.token,
        "aws-session-token",
    ));

    let k = next();
    let env = format!(
        "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
        k.id, k.secret
    );
    expected.extend(both(d, ".env", &env, &k));

    let k = next();
    let sh = format!(
        "#!/bin/sh\nexport AWS_ACCESS_KEY_ID='{}'\nexport AWS_SECRET_ACCESS_KEY='{}'\naws s3 ls\n",
        k.id, k.secret
    );
    expected.extend(both(d, "deploy.sh", &sh, &k));

    let k = next();
    let docker = format!(
        "FROM alpine\nARG AWS_ACCESS_KEY_ID={}\nENV AWS_SECRET_ACCESS_KEY {}\n",
        k.id, k.secret
    );
    expected.extend(both(d, "Dockerfile", &docker, &k));

    let k = next();
    let compose = format!(
        "services:\n  app:\n    environment:\n      - AWS_ACCESS_KEY_ID={}\n      - AWS_SECRET_ACCESS_KEY={}\n",
        k.id, k.secret
    );
    expected.extend(both(d, "docker-compose.yml", &compose, &k));

    let k = next();
    let k8s = format!(
        "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - env:\n            - name: AWS_ACCESS_KEY_ID\n              value: \"{}\"\n            - name: AWS_SECRET_ACCESS_KEY\n              value: \"{}\"\n",
        k.id, k.secret
    );
    expected.extend(both(d, "k8s/deploy.yaml", &k8s, &k));

    let k = next();
    let gha = format!(
        "on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n      AWS_ACCESS_KEY_ID: {}\n      AWS_SECRET_ACCESS_KEY: {}\n",
        k.id, k.secret
    );
    expected.extend(both(d, ".github/workflows/deploy.yml", &gha, &k));

    let k = next();
    let gitlab = format!(
        "variables:\n  AWS_ACCESS_KEY_ID: \"{}\"\n  AWS_SECRET_ACCESS_KEY: \"{}\"\n",
        k.id, k.secret
    );
    expected.extend(both(d, ".gitlab-ci.yml", &gitlab, &k));

    let k = next();
    let csv = format!(
        "User name,Password,Access key ID,Secret access key,Console login link\ndeploy,,{},{},https://123456789012.signin.aws.amazon.com/console\n",
        k.id, k.secret
    );
    expected.extend(both(d, "credentials.csv", &csv, &k));
}

/// Application config and code (XML, Python, Ruby, Go), and a lone secret.
fn plant_code(d: &std::path::Path, next: &mut impl FnMut() -> Keys, expected: &mut Vec<Place>) {
    let k = next();
    let xml = format!(
        "<configuration>\n  <appSettings>\n    <add key=\"AWSAccessKey\" value=\"{}\" />\n    <SecretAccessKey>{}</SecretAccessKey>\n  </appSettings>\n</configuration>\n",
        k.id, k.secret
    );
    expected.extend(both(d, "App.config", &xml, &k));

    let k = next();
    let py = format!(
        "import boto3\ns3 = boto3.client(\n    \"s3\",\n    aws_access_key_id=\"{}\",\n    aws_secret_access_key=\"{}\",\n)\n",
        k.id, k.secret
    );
    expected.extend(both(d, "app.py", &py, &k));

    let k = next();
    let rb = format!(
        "Aws.config.update(access_key_id: '{}', :secret_access_key => '{}')\n",
        k.id, k.secret
    );
    expected.extend(both(d, "config.rb", &rb, &k));

    let k = next();
    let go = format!(
        "creds := credentials.NewStaticCredentials(\"{}\", secretKey, \"\")\nsecretKey := \"{}\"\n",
        k.id, k.secret
    );
    expected.extend(both(d, "main.go", &go, &k));

    // Alone, each keeps its own rule.
    let k = next();
    let lone = format!("# rotated 2024-01\naws_secret_access_key = {}\n", k.secret);
    write(d, "old/credentials", &lone);
    expected.push(place("old/credentials", &lone, &k.secret, SECRET));
}

#[test]
fn ignores_examples_placeholders_interpolations_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut g = keyfence::rules::placeholder::Generator::new(9);
    let hex40 = g.string(keyfence::rules::placeholder::HEX, 40);
    let hex64 = g.string(keyfence::rules::placeholder::HEX, 64);
    let b64 = |g: &mut keyfence::rules::placeholder::Generator, n| {
        g.string(keyfence::rules::placeholder::BASE64, n)
    };
    let sha512 = b64(&mut g, 86);
    let h1 = b64(&mut g, 43);
    let img = format!(
        "{}AKIA{}{}",
        b64(&mut g, 40),
        g.string(keyfence::rules::placeholder::BASE32, 16),
        b64(&mut g, 40)
    );
    write(d, "docs.md", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n");
    write(d, "placeholder.tf", "provider \"aws\" {\n  access_key = \"AKIAXXXXXXXXXXXXXXXX\"\n  secret_key = \"your-secret-here\"\n  token      = \"<YOUR_SESSION_TOKEN>\"\n}\n");
    write(d, "refs.tf", "provider \"aws\" {\n  access_key = var.access_key\n  secret_key = \"${var.secret_key}\"\n}\n");
    write(d, ".github/workflows/ci.yml", "env:\n  AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}\n  AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_SECRET_ACCESS_KEY }}\n");
    write(d, "tmpl.yaml", "aws_secret_access_key: {{ aws_secret }}\n");
    write(d, "app.py", "secret = os.environ[\"AWS_SECRET_ACCESS_KEY\"]\nsecret_key = os.environ.get('AWS_SECRET_KEY')\n");
    write(d, "hashes.txt", format!("secret_key = \"{hex40}\"\ncommit {hex40}\nsha256 {hex64}\nid 123e4567-e89b-12d3-a456-426614174000\n"));
    write(
        d,
        "package-lock.json",
        format!("{{\"integrity\": \"sha512-{sha512}==\"}}\n"),
    );
    write(
        d,
        "go.sum",
        format!("github.com/aws/aws-sdk-go v1.44.0 h1:{h1}=\n"),
    );
    write(
        d,
        "page.html",
        format!("<img src=\"data:image/png;base64,{img}\">\n"),
    );
    let run = scan_json(d, &[]);
    assert_eq!(
        run.json(),
        Vec::<serde_json::Value>::new(),
        "stderr: {}",
        run.stderr
    );
    assert_eq!(run.code, 0);
}

#[test]
fn text_report_redacts_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let k = keys(3);
    write(
        dir.path(),
        "main.tf",
        format!("access_key = \"{}\"\n", k.id),
    );
    let run = run_in(dir.path(), &["scan", ".", "--no-color"]);
    assert_eq!(run.code, 1);
    let shown = format!("{}…{}", &k.id[..4], &k.id[16..]);
    assert!(
        run.stdout
            .contains(&format!("main.tf:1:15  critical  {ID}  {shown}")),
        "{}",
        run.stdout
    );
    // The key ID is shown in full only inside the advice's commands (an identifier, needed to
    // paste them), never in the finding itself.
    for line in run.stdout.lines().filter(|l| l.contains(&k.id)) {
        assert!(
            line.contains(&format!("--access-key-id {}", k.id))
                || line.contains(&format!("AttributeValue={}", k.id))
                || line.contains(&format!("--key-id {}", k.id))
                || line.starts_with(&format!("What to do now — AWS key {}", k.id)),
            "raw key outside the advice: {line}\n{}",
            run.stdout
        );
    }
    for advice in [
        "IAM",
        "CloudTrail",
        "EVERY region",
        "MFA",
        "environment variables",
        "OIDC",
    ] {
        assert!(
            run.stdout.contains(advice),
            "no `{advice}` in remediation:\n{}",
            run.stdout
        );
    }
    assert!(run.stderr.contains("scanned 1 file"), "{}", run.stderr);
    assert!(run.stderr.contains("1 finding"), "{}", run.stderr);

    let raw = run_in(dir.path(), &["scan", ".", "--no-color", "--no-redact"]);
    assert!(raw.stdout.contains(&k.id));
}
