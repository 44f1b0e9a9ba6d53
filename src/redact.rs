//! The one shape a secret is shown in unless `--no-redact`. A leaf module: findings, reports and
//! config error messages (which may quote a secret pasted into the wrong field) all use it.

/// Shows enough of a secret to recognise it and too little to use it: `AKIA…WXYZ`.
pub fn redact(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    match chars.len() {
        n if n >= 16 => {
            let head: String = chars[..4].iter().collect();
            let tail: String = chars[n - 4..].iter().collect();
            format!("{head}…{tail}")
        }
        n if n >= 8 => {
            let head: String = chars[..2].iter().collect();
            format!("{head}…")
        }
        _ => "…".to_string(),
    }
}
