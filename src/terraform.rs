//! Terraform awareness without an HCL crate: which block (`provider "aws" (alias prod)`,
//! `backend "s3"`, `variable "x"`, …) encloses a byte offset of a `.tf` file.
//!
//! A small lexer walks the file from the start to the offset, skipping strings (with `${…}`
//! templates), comments and heredocs, and keeps a stack of open braces with the header text
//! before each. Braces that open an attribute's value (`tags = {`) are tracked but not named.

/// True for Terraform sources: `*.tf`, `*.tfvars`, `*.tf.json`.
pub(crate) fn is_terraform_path(path: &str) -> bool {
    path.ends_with(".tf") || path.ends_with(".tfvars") || path.ends_with(".tf.json")
}

/// True for Terraform state: `*.tfstate`, `*.tfstate.backup`.
pub(crate) fn is_state_path(path: &str) -> bool {
    path.ends_with(".tfstate") || path.ends_with(".tfstate.backup")
}

/// An open brace and the header before it.
#[derive(Debug, Clone)]
struct Open {
    at: usize,
    header: Option<String>,
}

/// The named blocks enclosing `offset`, outermost first, joined with ` > `; `None` at top level.
pub(crate) fn enclosing_block(text: &[u8], offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let stack = open_blocks(text, offset);
    let names: Vec<String> = stack
        .iter()
        .filter_map(|o| {
            let h = o.header.as_ref()?;
            let mut name = h.clone();
            if h.starts_with("provider ") {
                if let Some(alias) = attribute_in_block(text, o.at, "alias") {
                    name.push_str(&format!(" (alias {alias})"));
                }
            }
            Some(name)
        })
        .collect();
    (!names.is_empty()).then(|| names.join(" > "))
}

/// Lexes `text[..end]` and returns the braces still open at `end`.
fn open_blocks(text: &[u8], end: usize) -> Vec<Open> {
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    let mut stmt_start = 0;
    while i < end {
        let b = text[i];
        match b {
            b'"' => i = skip_string(text, i + 1),
            b'#' => i = skip_line(text, i),
            b'/' if text.get(i + 1) == Some(&b'/') => i = skip_line(text, i),
            b'/' if text.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&text[i + 2..], b"*/")
                    .map_or(text.len(), |p| i + 2 + p + 2);
            }
            b'<' if text.get(i + 1) == Some(&b'<') => i = skip_heredoc(text, i),
            b'{' => {
                let header = block_header(&text[stmt_start..i]);
                stack.push(Open { at: i, header });
                i += 1;
                stmt_start = i;
            }
            b'}' => {
                stack.pop();
                i += 1;
                stmt_start = i;
            }
            b'\n' => {
                i += 1;
                stmt_start = i;
            }
            _ => i += 1,
        }
    }
    stack
}

/// `provider "aws"` from the text before a `{`; `None` when the brace opens a value (`x = {`).
fn block_header(before: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(before);
    let s = s.trim();
    if s.is_empty() || s.contains('=') || s.contains(':') || s.starts_with('[') {
        return None;
    }
    let first = s.split_whitespace().next()?;
    if !first
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return None;
    }
    Some(s.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Index after the closing quote of a string starting at `i` (just past the opening quote).
fn skip_string(text: &[u8], mut i: usize) -> usize {
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            b'$' | b'%' if text.get(i + 1) == Some(&b'{') => {
                // A template: skip to its matching brace (quotes inside are part of it).
                let mut depth = 0usize;
                i += 1;
                while i < text.len() {
                    match text[i] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\n' => break,
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    text.len()
}

fn skip_line(text: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &text[i..]).map_or(text.len(), |p| i + p)
}

/// Skips `<<EOF … EOF` (and `<<-EOF`): returns the index after the terminator line.
fn skip_heredoc(text: &[u8], i: usize) -> usize {
    let mut j = i + 2;
    if text.get(j) == Some(&b'-') {
        j += 1;
    }
    let start = j;
    while j < text.len() && (text[j].is_ascii_alphanumeric() || text[j] == b'_') {
        j += 1;
    }
    if j == start {
        return i + 2;
    }
    let marker = &text[start..j];
    let mut line_start = skip_line(text, j) + 1;
    while line_start < text.len() {
        let line_end = skip_line(text, line_start);
        if text[line_start..line_end].trim_ascii() == marker {
            return line_end;
        }
        line_start = line_end + 1;
    }
    text.len()
}

/// The string value of `name = "…"` written directly in the block opened at `open`.
fn attribute_in_block(text: &[u8], open: usize, name: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut i = open;
    let mut line_start = open + 1;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i = skip_string(text, i + 1);
                continue;
            }
            b'#' => {
                i = skip_line(text, i);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return None;
                }
            }
            b'\n' => {
                if depth == 1 {
                    if let Some(v) = string_attribute(&text[line_start..i], name) {
                        return Some(v);
                    }
                }
                line_start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn string_attribute(line: &[u8], name: &str) -> Option<String> {
    let s = std::str::from_utf8(line).ok()?.trim();
    let rest = s.strip_prefix(name)?.trim_start().strip_prefix('=')?.trim();
    let v = rest.strip_prefix('"')?;
    let end = v.find('"')?;
    Some(v[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_at(text: &str, needle: &str) -> Option<String> {
        enclosing_block(text.as_bytes(), text.find(needle).unwrap())
    }

    #[test]
    fn names_provider_with_alias_and_nested_blocks() {
        let tf = r#"
# a { comment
provider "aws" {
  region = "us-east-1"
  access_key = "KEYHERE"
  alias  = "prod"
  default_tags { tags = { Team = "x}" } }
}
terraform {
  backend "s3" {
    bucket = "b"
    secret_key = "SECRETHERE"
  }
}
resource "aws_instance" "web" {
  user_data = <<EOF
{ not a block
EOF
  provisioner "remote-exec" {
    inline = ["PROVHERE"]
  }
}
TOPLEVEL = 1
"#;
        assert_eq!(
            block_at(tf, "KEYHERE").as_deref(),
            Some(r#"provider "aws" (alias prod)"#)
        );
        assert_eq!(
            block_at(tf, "SECRETHERE").as_deref(),
            Some(r#"terraform > backend "s3""#)
        );
        assert_eq!(
            block_at(tf, "PROVHERE").as_deref(),
            Some(r#"resource "aws_instance" "web" > provisioner "remote-exec""#)
        );
        assert_eq!(block_at(tf, "TOPLEVEL"), None);
    }
}
