//! JUnit XML for CI dashboards (GitLab's test report, Jenkins, Azure DevOps): one failing test case
//! per finding, or one passing case when there is none, so a clean run shows as a pass.

use std::io::Write;

/// `s` escaped for XML text and attributes. Characters XML 1.0 cannot hold at all (C0 controls
/// other than tab and newline) are written visibly, as the text report shows them.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' => out.push(c),
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&super::escape_control(&c.to_string()));
            }
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn write(out: &mut dyn Write, input: &super::Input) -> std::io::Result<()> {
    let (findings, rules, opts) = input.parts();
    let failures = findings.len();
    let tests = failures.max(1);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="keyfence" tests="{tests}" failures="{failures}" errors="0">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="keyfence secrets" tests="{tests}" failures="{failures}" errors="0" skipped="0">"#
    )?;
    if findings.is_empty() {
        writeln!(
            out,
            r#"    <testcase classname="keyfence" name="no secrets found"/>"#
        )?;
    }
    for f in findings {
        let place = match &f.file {
            Some(file) => format!("{file}:{}:{}", f.line, f.column),
            None => format!("commit message:{}:{}", f.line, f.column),
        };
        let classname = f.file.as_deref().unwrap_or("commit message");
        let secret = f.shown_secret(opts.redact);
        let mut body = format!("{}\n{place}  {secret}\n", f.description);
        if !f.line_text.is_empty() {
            body.push_str(&format!("{:>4} | {}\n", f.line, f.line_text));
        }
        if let Some(d) = super::text::details(f, opts) {
            body.push_str(&format!("{d}\n"));
        }
        if let Some(c) = &f.commit {
            body.push_str(&format!(
                "commit {} {} <{}> {}\n",
                c.id, c.author, c.email, c.summary
            ));
        }
        if let Some(r) = rules.get(&f.rule_id).and_then(|r| r.remediation.as_deref()) {
            body.push_str(&format!("\nWhat to do now:\n{}\n", r.trim()));
        }
        writeln!(
            out,
            r#"    <testcase classname="{}" name="{} at {}" file="{}">"#,
            xml_escape(classname),
            xml_escape(&f.rule_id),
            xml_escape(&place),
            xml_escape(f.file.as_deref().unwrap_or(""))
        )?;
        writeln!(
            out,
            r#"      <failure type="{}" message="{}: {}">{}</failure>"#,
            xml_escape(&f.rule_id),
            xml_escape(&f.description),
            xml_escape(&secret),
            xml_escape(&body)
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(xml_escape("x\x1b[2Jy\u{202e}"), "x\\x1b[2Jy\\u{202e}");
        assert_eq!(xml_escape("t\tn\n"), "t\tn\n");
    }
}
