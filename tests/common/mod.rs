//! Shared helpers for the git integration tests: real repositories made with the git CLI in a
//! temp dir (isolated from the user's and system's git config), and the real keyfence binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use keyfence::rules::placeholder::Generator;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_keyfence");

/// A fresh AWS access key ID made at test time (the repository holds no keys).
pub fn key(seed: u64) -> String {
    Generator::new(seed).aws_key_id("AKIA")
}

/// A temp dir that holds one or more repositories and serves as `$HOME`.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `git init -b main NAME`.
    pub fn repo(&self, name: &str) -> Repo {
        let path = self.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        let repo = Repo {
            path,
            home: self.path().to_path_buf(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    /// A repository handle for a directory made some other way (clone, worktree, bare).
    pub fn at(&self, name: &str) -> Repo {
        Repo {
            path: self.path().join(name),
            home: self.path().to_path_buf(),
        }
    }

    /// Runs git in the sandbox root.
    pub fn git(&self, args: &[&str]) -> String {
        self.at(".").git(args)
    }
}

pub struct Repo {
    pub path: PathBuf,
    pub home: PathBuf,
}

/// Applies the isolated environment to any command (git or keyfence).
pub fn isolate(cmd: &mut Command, home: &Path) {
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CEILING_DIRECTORIES",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@e")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@e")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("NO_COLOR", "1");
}

impl Repo {
    pub fn git_output(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(&self.path);
        isolate(&mut cmd, &self.home);
        cmd.output().expect("git runs")
    }

    /// Runs git and returns trimmed stdout; panics with stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert!(
            out.status.success(),
            "git {args:?} failed in {}:\n{}{}",
            self.path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, content).unwrap();
    }

    /// `git add -A && git commit -m MSG`; returns the new commit id.
    pub fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", msg]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// The keyfence binary, run in this repository with the isolated environment.
    pub fn keyfence(&self, args: &[&str]) -> Run {
        self.keyfence_in(&self.path, args, None)
    }

    pub fn keyfence_in(&self, cwd: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = assert_cmd::Command::new(BIN);
        cmd.args(args).current_dir(cwd);
        isolate_assert(&mut cmd, &self.home);
        if let Some(s) = stdin {
            cmd.write_stdin(s.to_string());
        }
        let out = cmd.output().expect("keyfence runs");
        Run::from(out)
    }
}

fn isolate_assert(cmd: &mut assert_cmd::Command, home: &Path) {
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1");
}

/// A finished keyfence run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// (file, line, rule, commit) of one finding, as the tests compare them.
pub type Seen = (Option<String>, u64, String, Option<String>);

impl Run {
    pub fn json(&self) -> Vec<Value> {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Every finding as (file, line, rule, commit), sorted.
    pub fn seen(&self) -> Vec<Seen> {
        let mut v: Vec<Seen> = self
            .json()
            .iter()
            .map(|f| {
                (
                    f["file"].as_str().map(str::to_string),
                    f["line"].as_u64().unwrap(),
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["commit"].as_str().map(str::to_string),
                )
            })
            .collect();
        v.sort();
        v
    }

    /// Asserts the exit code, with both streams in the message.
    pub fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub const AKID: &str = "aws-access-key-id";

/// An expected finding.
pub fn at(file: &str, line: u64, commit: Option<&str>) -> Seen {
    (
        Some(file.to_string()),
        line,
        AKID.to_string(),
        commit.map(str::to_string),
    )
}

/// A PATH holding the built keyfence first, as a user's would.
pub fn path_with_keyfence() -> String {
    let dir = Path::new(BIN).parent().unwrap();
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Makes a hook script executable.
pub fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Writes `hooks/<name>` of the git dir `git_dir` as a shell script with `body`.
pub fn write_hook(git_dir: &Path, name: &str, body: &str) {
    let hook = git_dir.join("hooks").join(name);
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, format!("#!/bin/sh\n{body}\n")).unwrap();
    make_executable(&hook);
}

impl Repo {
    /// `git push ARGS` with keyfence on PATH; returns (success, stdout+stderr).
    pub fn push(&self, args: &[&str]) -> (bool, String) {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        self.git_hooked(&all)
    }

    /// `git ARGS` with keyfence on PATH, so installed hooks run it; (success, stdout+stderr).
    pub fn git_hooked(&self, args: &[&str]) -> (bool, String) {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(&self.path);
        isolate(&mut cmd, &self.home);
        cmd.env("PATH", path_with_keyfence());
        let out = cmd.output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), said)
    }

    /// keyfence in this repository with extra environment variables (and everything named
    /// `PRE_COMMIT*` removed first, so only `envs` says whether the framework runs it).
    pub fn keyfence_env(&self, args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut cmd = assert_cmd::Command::new(BIN);
        cmd.args(args).current_dir(&self.path);
        isolate_assert(&mut cmd, &self.home);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PRE_COMMIT") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.write_stdin(stdin.unwrap_or("").to_string());
        Run::from(cmd.output().expect("keyfence runs"))
    }

    /// Writes raw bytes to `rel`.
    pub fn write_bytes(&self, rel: &str, content: &[u8]) {
        let p = self.path.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(p, content).unwrap();
    }
}

/// A bare repository `name` in the sandbox whose pre-receive hook runs
/// `keyfence hook pre-receive EXTRA...` (each argument single-quoted).
pub fn bare_server(sb: &Sandbox, name: &str, extra: &[&str]) -> Repo {
    sb.git(&["init", "-q", "--bare", "-b", "main", name]);
    let server = sb.at(name);
    let args: Vec<String> = extra.iter().map(|a| format!("'{a}'")).collect();
    write_hook(
        &server.path,
        "pre-receive",
        &format!("exec '{BIN}' hook pre-receive {}", args.join(" ")),
    );
    server
}

/// Every finding's (file, line, rule, source) as the JSON report has them, sorted.
pub fn sources(run: &Run) -> Vec<(Option<String>, u64, String, String)> {
    let mut v: Vec<_> = run
        .json()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().map(str::to_string),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["source"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// SARIF schema validation and GitHub checks, shared with tests/support.
pub mod sarif;
