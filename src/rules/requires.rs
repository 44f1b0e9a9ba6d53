//! Compiling a composite rule's `requires` (see [`super::spec::RequiresSpec`]): the rule's
//! finding is made by the composite step (`crate::compose`) from a match of the required rule
//! and a secret-half match nearby, not by its regex alone.

use super::spec::RequiresSpec;

/// A compiled `requires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Requires {
    /// The rule whose match must be nearby.
    pub(crate) rule: String,
    pub(crate) within_lines: usize,
    pub(crate) same_block: bool,
    /// Rules whose matches are the secret half as they are.
    pub(crate) secrets: Vec<String>,
    /// Rules whose matches are the secret half only when the secret has [`Requires::shape`].
    pub(crate) shaped_secrets: Vec<String>,
    pub(crate) shape: Option<Shape>,
}

/// A named shape a secret half must have. Named rather than a regex because it counts character
/// classes and entropy, which a pattern cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// 40 base64 characters of an AWS secret access key (see [`crate::engine::validate::aws_secret_shaped`]).
    AwsSecretAccessKey,
}

impl Shape {
    pub(crate) const NAMES: &'static [&'static str] = &["aws-secret-access-key"];

    fn by_name(name: &str) -> Option<Shape> {
        match name {
            "aws-secret-access-key" => Some(Shape::AwsSecretAccessKey),
            _ => None,
        }
    }

    /// True when `secret` has this shape.
    pub(crate) fn fits(self, secret: &[u8]) -> bool {
        match self {
            Shape::AwsSecretAccessKey => crate::engine::validate::aws_secret_shaped(secret),
        }
    }
}

/// The largest `within_lines` accepted: the window is walked line by line.
pub(crate) const MAX_WITHIN_LINES: usize = 1000;

impl Requires {
    /// Checks a `requires` as written; the error names the field at fault.
    pub(crate) fn compile(spec: &RequiresSpec) -> Result<Requires, String> {
        if spec.rule.is_empty() {
            return Err("`requires.rule` must name a rule".into());
        }
        if spec.within_lines > MAX_WITHIN_LINES {
            return Err(format!(
                "`requires.within_lines` must be at most {MAX_WITHIN_LINES}"
            ));
        }
        let shape = match &spec.shape {
            Some(name) => Some(Shape::by_name(name).ok_or_else(|| {
                let names = Shape::NAMES.join("`, `");
                format!("unknown `requires.shape`; expected one of `{names}`")
            })?),
            None => None,
        };
        if shape.is_none() && !spec.shaped_secrets.is_empty() {
            return Err("`requires.shaped_secrets` needs `requires.shape`".into());
        }
        Ok(Requires {
            rule: spec.rule.clone(),
            within_lines: spec.within_lines,
            same_block: spec.same_block,
            secrets: spec.secrets.clone(),
            shaped_secrets: spec.shaped_secrets.clone(),
            shape,
        })
    }

    /// True when a match of `rule_id` with `secret` is a secret half of `composite`.
    pub(crate) fn is_secret_half(&self, composite: &str, rule_id: &str, secret: &[u8]) -> bool {
        rule_id == composite
            || self.secrets.iter().any(|r| r == rule_id)
            || (self.shaped_secrets.iter().any(|r| r == rule_id)
                && self.shape.is_some_and(|s| s.fits(secret)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(shape: Option<&str>, shaped: &[&str]) -> RequiresSpec {
        RequiresSpec {
            rule: "a".into(),
            within_lines: 3,
            same_block: true,
            secrets: vec!["b".into()],
            shaped_secrets: shaped.iter().map(|s| s.to_string()).collect(),
            shape: shape.map(str::to_string),
        }
    }

    #[test]
    fn unknown_shapes_and_shapeless_shaped_secrets_are_errors() {
        assert!(Requires::compile(&spec(Some("aws-secret-access-key"), &["c"])).is_ok());
        let e = Requires::compile(&spec(Some("round"), &[])).unwrap_err();
        assert!(e.contains("aws-secret-access-key"), "{e}");
        assert!(Requires::compile(&spec(None, &["c"])).is_err());
    }

    #[test]
    fn secret_halves() {
        let r = Requires::compile(&spec(None, &[])).unwrap();
        assert!(r.is_secret_half("pair", "pair", b"x"));
        assert!(r.is_secret_half("pair", "b", b"x"));
        assert!(!r.is_secret_half("pair", "c", b"x"));
    }
}
