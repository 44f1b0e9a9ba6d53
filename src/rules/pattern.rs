//! Regex and glob building blocks: size caps, the total budget of a user's regexes, lazily
//! compiled shipped patterns, and error messages that never echo a pattern.

use globset::Glob;
use regex::bytes::{Regex, RegexBuilder};

/// Compiled size cap for one rule's regex: a config from a scanned repository must not be able to
/// make keyfence allocate without bound.
pub(crate) const REGEX_SIZE_LIMIT: usize = 8 << 20;
/// Cap on the lazy DFA cache of one regex.
pub(crate) const DFA_SIZE_LIMIT: usize = 8 << 20;

/// What is left of [`limits::TOTAL_REGEX_SIZE`] while user regexes are compiled.
#[derive(Debug)]
pub(super) struct RegexBudget {
    left: usize,
}

/// Why a user regex was refused.
pub(super) enum UserRegexError {
    Invalid(regex::Error),
    /// The regex is valid but would take the whole config over its total budget.
    OverBudget,
}

impl UserRegexError {
    pub(super) fn describe(&self, src: &str) -> String {
        match self {
            UserRegexError::Invalid(e) => format!("invalid regex: {}", regex_error(e, src)),
            UserRegexError::OverBudget => format!(
                "the config's regexes together exceed the total compiled-size limit of {} MiB \
                 (reached at this one); use fewer or simpler patterns",
                limits::TOTAL_REGEX_SIZE >> 20
            ),
        }
    }
}

impl RegexBudget {
    pub(super) fn new() -> Self {
        RegexBudget {
            left: limits::TOTAL_REGEX_SIZE,
        }
    }

    /// Compiles a user regex and charges its size. The size is measured on a Thompson NFA built
    /// under a limit of what is left, so the check itself never allocates past the budget.
    pub(super) fn build(&mut self, src: &str) -> Result<Regex, UserRegexError> {
        use regex_automata::nfa::thompson;
        let limit = REGEX_SIZE_LIMIT.min(self.left / limits::REGEX_SIZE_FACTOR);
        let nfa = thompson::Compiler::new()
            .syntax(regex_automata::util::syntax::Config::new().utf8(false))
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(limit)),
            )
            .build(src);
        let size = match nfa {
            Ok(nfa) => nfa.memory_usage() * limits::REGEX_SIZE_FACTOR,
            Err(_) => {
                // A syntax error, or over the per-regex limit: the regex crate says which.
                build_regex(src).map_err(UserRegexError::Invalid)?;
                return Err(UserRegexError::OverBudget);
            }
        };
        if size > self.left {
            return Err(UserRegexError::OverBudget);
        }
        self.left -= size;
        build_regex(src).map_err(UserRegexError::Invalid)
    }
}

/// An allowlist regex, compiled when first needed.
///
/// Compiling every shipped pattern costs tens of milliseconds, more than the whole pre-commit
/// gate may take, while a typical blob wakes only a few rules. Shipped patterns are therefore
/// compiled on first use (the test suite compiles and exercises every one of them); patterns from
/// a user's config or extra packs are compiled at load, so a bad one is an error up front.
#[derive(Debug)]
pub(crate) struct LazyRegex {
    src: String,
    compiled: std::sync::OnceLock<Regex>,
}

impl LazyRegex {
    pub(super) fn compiled(regex: Regex, src: &str) -> Self {
        LazyRegex {
            src: src.to_string(),
            compiled: std::sync::OnceLock::from(regex),
        }
    }

    pub(super) fn deferred(src: &str) -> Self {
        LazyRegex {
            src: src.to_string(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    pub(crate) fn regex(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            build_regex(&self.src)
                .expect("shipped allowlist patterns compile (checked by the test suite)")
        })
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.src
    }
}

/// A rule's pattern, compiled on first use like a [`LazyRegex`] (and for the same reason), as the regex engine underneath
/// `regex::bytes` so that a search can be bounded to a window of a blob while `^`, `$` and `\b`
/// still see the bytes around it (see [`super::reach`]).
#[derive(Debug)]
pub(crate) struct RuleRegex {
    src: String,
    compiled: std::sync::OnceLock<RuleSearch>,
}

/// A compiled rule pattern and what the engine needs to know about it.
#[derive(Debug)]
pub(crate) struct RuleSearch {
    pub(crate) regex: regex_automata::meta::Regex,
    /// Index of the `secret` capture group; the whole match when absent.
    pub(crate) secret_group: Option<usize>,
    /// How far from a keyword hit a match can reach, when every match holds a keyword.
    pub(crate) reach: Option<super::reach::Reach>,
}

impl RuleRegex {
    /// `src` was checked at load (user patterns) or by the test suite (shipped ones).
    pub(super) fn new(src: &str) -> Self {
        RuleRegex {
            src: src.to_string(),
            compiled: std::sync::OnceLock::new(),
        }
    }

    /// The compiled pattern; `keywords` are the rule's (lowercase), which decide its reach.
    pub(crate) fn search(&self, keywords: &[String]) -> &RuleSearch {
        self.compiled.get_or_init(|| {
            let hir =
                rule_hir(&self.src).expect("rule patterns are checked before they are searched");
            let reach = super::reach::reach(&hir, keywords);
            let regex = build_search(&hir, reach.is_none());
            let secret_group = regex
                .group_info()
                .to_index(regex_automata::PatternID::ZERO, "secret");
            RuleSearch {
                regex,
                secret_group,
                reach,
            }
        })
    }

    #[cfg(test)]
    pub(crate) fn as_str(&self) -> &str {
        &self.src
    }
}

/// A rule pattern parsed ASCII-first: secrets are ASCII, `\s`, `\w` and `\d` are ASCII classes
/// as in the RE2 syntax rule packs are written for, and the automata are a third of the size (a
/// shipped pattern costs about 0.08 ms to compile instead of 0.25, paid on first use by every
/// scan). A pattern that needs Unicode (`\p{L}`) gets it.
pub(super) fn rule_hir(src: &str) -> Option<regex_syntax::hir::Hir> {
    use regex_automata::util::syntax;
    [false, true].into_iter().find_map(|unicode| {
        let config = syntax::Config::new().utf8(false).unicode(unicode);
        syntax::parse_with(src, &config).ok()
    })
}

/// Compiles a rule pattern as `regex::bytes::RegexBuilder` would, with keyfence's size caps.
/// A literal prefilter is built only for patterns searched over whole blobs: around keyword hits
/// it finds nothing the lazy DFA does not, and building it is about 30% of the compile time.
fn build_search(hir: &regex_syntax::hir::Hir, whole_blobs: bool) -> regex_automata::meta::Regex {
    use regex_automata::{meta, MatchKind};
    let config = meta::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(false)
        .auto_prefilter(whole_blobs)
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(DFA_SIZE_LIMIT);
    meta::Builder::new()
        .configure(config)
        .build_from_hir(hir)
        .expect("rule patterns are checked before they are searched")
}

/// What a config and the extra packs (everything but the shipped packs) may hold in total. One
/// capped regex is harmless, hundreds of them are gigabytes; a config may come from the repository
/// being scanned, so the whole of it is bounded, and checked before anything is compiled.
pub(crate) mod limits {
    /// Total compiled size of all regexes of user rules and allowlists, estimated as
    /// [`REGEX_SIZE_FACTOR`] times the forward NFA (the regex engine also builds a reverse NFA
    /// and other search structures).
    pub(crate) const TOTAL_REGEX_SIZE: usize = 64 << 20;
    /// See [`TOTAL_REGEX_SIZE`].
    pub(crate) const REGEX_SIZE_FACTOR: usize = 3;
    /// Rule entries (new rules and overrides).
    pub(crate) const RULES: usize = 2_000;
    /// Regexes: rule patterns plus allowlist `regexes`.
    pub(crate) const REGEXES: usize = 4_000;
    /// Path globs: rule `paths` plus allowlist `paths`.
    pub(crate) const GLOBS: usize = 10_000;
    /// Allowlist `stopwords`.
    pub(crate) const STOPWORDS: usize = 10_000;
    /// Rule `keywords`.
    pub(crate) const KEYWORDS: usize = 10_000;
    /// Allowlist `commits`.
    pub(crate) const COMMITS: usize = 100_000;
}

/// What is wrong with a regex, without echoing it: a pattern may hold a secret (an allowlisted key,
/// say), and an error message ends up in CI logs. Names the kind of error and where in the pattern.
pub(crate) fn regex_error(err: &regex::Error, src: &str) -> String {
    match err {
        regex::Error::CompiledTooBig(limit) => format!(
            "compiled size exceeds the limit of {} MiB; bound its repetitions (nested counted \
             repetitions such as `{{1000}}{{1000}}` multiply) or simplify it",
            limit >> 20
        ),
        regex::Error::Syntax(message) => {
            let parsed = regex_syntax::ParserBuilder::new()
                .utf8(false)
                .build()
                .parse(src);
            let (kind, span) = match &parsed {
                Err(regex_syntax::Error::Parse(e)) => (e.kind().to_string(), Some(*e.span())),
                Err(regex_syntax::Error::Translate(e)) => (e.kind().to_string(), Some(*e.span())),
                _ => {
                    let kind = message
                        .lines()
                        .rev()
                        .find_map(|l| l.strip_prefix("error: "))
                        .unwrap_or("syntax error");
                    (kind.to_string(), None)
                }
            };
            match span {
                Some(sp) if src.contains('\n') => format!(
                    "{kind} (line {} of the pattern, column {})",
                    sp.start.line, sp.start.column
                ),
                Some(sp) => format!("{kind} (at character {} of the pattern)", sp.start.column),
                None => kind,
            }
        }
        _ => "cannot be compiled".to_string(),
    }
}

/// Builds a bytes regex under the size caps.
pub(crate) fn build_regex(src: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(src)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
}

/// A glob with `/` matched literally. The error says what is wrong, never the glob itself (the
/// caller names the field and index): globset's own message quotes the whole glob.
pub(super) fn compile_glob(g: &str) -> Result<Glob, String> {
    globset::GlobBuilder::new(g)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid glob: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::RuleRegex;

    fn finds(pattern: &str, text: &str) -> bool {
        let rule = RuleRegex::new(pattern);
        rule.search(&[]).regex.is_match(text.as_bytes())
    }

    #[test]
    fn rule_patterns_are_ascii_unless_they_need_unicode() {
        // ASCII case folding and classes: the Kelvin sign is not a `k`, a no-break space is
        // not `\s`.
        assert!(finds("(?i)^key$", "KEY"));
        assert!(!finds("(?i)^key$", "\u{212a}ey"));
        assert!(!finds(r"^a\sb$", "a\u{a0}b"));
        assert!(finds(r"^a\sb$", "a\tb"));
        // A pattern that needs Unicode compiles with it instead of failing the scan.
        assert!(finds(r"^\p{Lu}{3}-[0-9]{2}$", "ÄÖÜ-12"));
        assert!(finds(r"(?u)^(?i:\x{212a})ey$", "key"));
    }

    use super::*;

    #[test]
    fn regex_errors_say_what_and_where_without_the_pattern() {
        let src = "tok_SECRETVALUE(";
        let e = build_regex(src).unwrap_err();
        let msg = regex_error(&e, src);
        assert_eq!(msg, "unclosed group (at character 16 of the pattern)");
        let e = build_regex(r"\w{1000}{1000}").unwrap_err();
        assert!(regex_error(&e, "").starts_with("compiled size exceeds the limit of 8 MiB"));
    }
}
