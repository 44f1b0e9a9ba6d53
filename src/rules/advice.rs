//! Pack-level advice: remediation text that belongs to where a secret sits rather than to one
//! rule (Terraform configuration and state), written once in a pack as `[[advice]]` and printed
//! by the text report when an annotator names it on a finding (see `crate::annotate`).

use serde::Deserialize;

/// One `[[advice]]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Advice {
    /// What annotators name it by.
    pub(crate) id: String,
    /// The heading: `What to do now — {title}`.
    pub(crate) title: String,
    /// Numbered steps (`1. …`), continuation lines indented.
    pub(crate) text: String,
    /// Steps that apply only once a secret is, or may be, public (rotating it): left out, and
    /// the rest renumbered, at a commit or push gate, whose own advice says when to rotate.
    #[serde(default)]
    pub(crate) exposed_only_steps: Vec<usize>,
}

impl Advice {
    /// The text's lines; with `exposed` false, without its exposed-only steps, renumbered.
    pub(crate) fn lines(&self, exposed: bool) -> Vec<String> {
        let lines = self.text.trim().lines().map(str::to_string);
        if exposed || self.exposed_only_steps.is_empty() {
            return lines.collect();
        }
        let mut out = Vec::new();
        let (mut skipping, mut dropped) = (false, 0);
        for line in lines {
            let t = line.trim_start();
            let step = t
                .split_once(". ")
                .and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest)));
            match step {
                Some((n, _)) if self.exposed_only_steps.contains(&n) => {
                    skipping = true;
                    dropped += 1;
                }
                Some((n, rest)) => {
                    skipping = false;
                    let indent = &line[..line.len() - t.len()];
                    out.push(format!("{indent}{}. {rest}", n - dropped));
                }
                None if skipping && line.starts_with(' ') => {}
                None => {
                    skipping = false;
                    out.push(line);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposed_only_steps_drop_out_before_exposure() {
        let a = Advice {
            id: "x".into(),
            title: "X".into(),
            text: "Intro.\n1. Rotate.\n   really.\n2. Remove it.\n3. Purge.".into(),
            exposed_only_steps: vec![1],
        };
        assert_eq!(a.lines(true).len(), 5);
        assert_eq!(a.lines(false), ["Intro.", "1. Remove it.", "2. Purge."]);
    }
}
