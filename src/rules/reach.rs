//! How far a rule's matches can lie from its keywords.
//!
//! A blob that holds one of a rule's keywords used to be searched whole with the rule's regex,
//! and with hundreds of rules most of the scan time went to regexes running over kilobytes where
//! they could not match: a keyword such as `ibm` (in every "Copyright IBM Corp" header) woke the
//! IBM rule on every file of a HashiCorp tree. When every match of a pattern must contain one of
//! the rule's keywords and no match is longer than `L` bytes, every match lies within `L` bytes
//! of a keyword hit; likewise, when no match holds more than `N` line feeds, every match lies
//! within `N` lines of a keyword hit's line (most patterns allow `[ \t]*`, so are unbounded in
//! bytes, but stay on one line save for a final separator). Searching only there finds exactly
//! the matches a whole-blob search finds. Patterns for which neither can be shown keep the
//! whole-blob search.

use regex_syntax::hir::{Class, Hir, HirKind};

/// How far a match can reach from the keyword it must hold; at least one bound is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reach {
    /// The longest match, in bytes.
    pub(crate) bytes: Option<usize>,
    /// The most line feeds one match holds.
    pub(crate) newlines: Option<usize>,
}

/// `Some` when every match of `hir` contains one of `keywords` (lowercase, compared ASCII
/// case-insensitively as the prefilter does) and its length or its line feeds are bounded.
/// (Under a Unicode `(?i)`, `k` and `s` also match the Kelvin sign and the long s, which the
/// prefilter does not fold: such a pattern is searched whole.)
pub(crate) fn reach(hir: &Hir, keywords: &[String]) -> Option<Reach> {
    if keywords.is_empty() || !holds_keyword(hir, keywords) {
        return None;
    }
    let reach = Reach {
        bytes: hir.properties().maximum_len(),
        newlines: newlines(hir),
    };
    (reach.bytes.is_some() || reach.newlines.is_some()).then_some(reach)
}

/// The most line feeds a match of `hir` can hold, `None` when unbounded.
fn newlines(hir: &Hir) -> Option<usize> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(lit) => Some(memchr::memchr_iter(b'\n', &lit.0).count()),
        HirKind::Class(Class::Bytes(c)) => Some(usize::from(
            c.ranges()
                .iter()
                .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        )),
        HirKind::Class(Class::Unicode(c)) => Some(usize::from(
            c.ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        )),
        HirKind::Repetition(rep) => match (newlines(&rep.sub)?, rep.max) {
            (0, _) => Some(0),
            (n, Some(max)) => n.checked_mul(max as usize),
            (_, None) => None,
        },
        HirKind::Capture(cap) => newlines(&cap.sub),
        HirKind::Concat(parts) => parts
            .iter()
            .try_fold(0usize, |sum, p| sum.checked_add(newlines(p)?)),
        HirKind::Alternation(alts) => alts
            .iter()
            .try_fold(0usize, |most, a| Some(most.max(newlines(a)?))),
    }
}

/// Whether every match of `hir` contains a keyword.
fn holds_keyword(hir: &Hir, keywords: &[String]) -> bool {
    let mut budget = DISTRIBUTIONS;
    holds(hir, keywords, &mut budget)
}

/// At most this many alternatives are distributed over the parts around them, per pattern.
const DISTRIBUTIONS: usize = 512;

fn holds(hir: &Hir, keywords: &[String], budget: &mut usize) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) | HirKind::Class(_) => false,
        HirKind::Literal(lit) => contains_keyword(&lit.0.to_ascii_lowercase(), keywords),
        HirKind::Repetition(rep) => rep.min >= 1 && holds(&rep.sub, keywords, budget),
        HirKind::Capture(cap) => holds(&cap.sub, keywords, budget),
        HirKind::Alternation(alts) => alts.iter().all(|a| holds(a, keywords, budget)),
        HirKind::Concat(parts) => concat_holds(parts, keywords, budget),
    }
}

/// [`holds`] for parts in a row. When no part and no stretch of fixed parts holds a keyword,
/// the first alternation (or optional part) that is not one of a few texts is distributed over
/// the parts around it: `h(?:cloud|etzner)[_.-]?token` (the parser factors common prefixes out)
/// holds when `hcloud[_.-]?token` and `hetzner[_.-]?token` both do.
fn concat_holds(parts: &[Hir], keywords: &[String], budget: &mut usize) -> bool {
    let parts = flatten(parts);
    if parts.iter().any(|p| holds(p, keywords, budget))
        || parts
            .split(|p| fixed_texts(p).is_none())
            .any(|run| run_holds_keyword(run, keywords))
    {
        return true;
    }
    // An alternation first; else a part of a few texts, when a run had too many spellings.
    let Some((at, choices)) = (parts.iter().enumerate())
        .find_map(|(i, p)| choices(p).map(|c| (i, c)))
        .or_else(|| (parts.iter().enumerate()).find_map(|(i, p)| spellings(p).map(|c| (i, c))))
    else {
        return false;
    };
    if *budget < choices.len() {
        return false;
    }
    *budget -= choices.len();
    choices.into_iter().all(|choice| {
        let mut spliced = parts[..at].to_vec();
        spliced.extend(choice);
        spliced.extend_from_slice(&parts[at + 1..]);
        concat_holds(&spliced, keywords, budget)
    })
}

/// Parts in a row with nested rows and capture groups spliced in: a group does not change the
/// text it matches.
fn flatten(parts: &[Hir]) -> Vec<Hir> {
    let mut flat = Vec::new();
    for p in parts {
        match p.kind() {
            HirKind::Concat(inner) => flat.extend(flatten(inner)),
            HirKind::Capture(cap) => flat.extend(flatten(std::slice::from_ref(&cap.sub))),
            _ => flat.push(p.clone()),
        }
    }
    flat
}

/// The ways through an alternation or an optional part that is not one of a few fixed texts,
/// each as parts to splice in its place.
fn choices(hir: &Hir) -> Option<Vec<Vec<Hir>>> {
    if fixed_texts(hir).is_some() {
        return None;
    }
    match hir.kind() {
        HirKind::Alternation(alts) => Some(
            alts.iter()
                .map(|a| flatten(std::slice::from_ref(a)))
                .collect(),
        ),
        HirKind::Repetition(rep) if rep.min == 0 && rep.max == Some(1) => {
            Some(vec![Vec::new(), flatten(std::slice::from_ref(&rep.sub))])
        }
        _ => None,
    }
}

/// A part that spells one of several texts, as one literal per text.
fn spellings(hir: &Hir) -> Option<Vec<Vec<Hir>>> {
    let texts = fixed_texts(hir)?;
    (texts.len() > 1).then(|| {
        texts
            .into_iter()
            .map(|t| {
                if t.is_empty() {
                    Vec::new()
                } else {
                    vec![Hir::literal(t)]
                }
            })
            .collect()
    })
}

/// Whether some stretch of `run` (parts that each spell a few texts) spells a keyword in every
/// spelling: `(?:cloudflare|cf)[_.-]?token` does with the keywords `cloudflare`, `cftoken`,
/// `cf_token`, `cf.token` and `cf-token`.
fn run_holds_keyword(run: &[Hir], keywords: &[String]) -> bool {
    let texts: Vec<Vec<Vec<u8>>> = run.iter().map(|p| fixed_texts(p).unwrap()).collect();
    (0..texts.len()).any(|from| {
        (from + 1..=texts.len())
            .map_while(|to| product(texts[from..to].iter().cloned()))
            .any(|spellings| spellings.iter().all(|t| contains_keyword(t, keywords)))
    })
}

/// At most this many spellings are followed through a run of parts.
const SPELLINGS: usize = 64;

/// Every text `hir` can match, lowercased, when it can only match a few fixed texts (up to ASCII
/// case): `(?i)ibm` is three one-letter classes, which together always spell `ibm`, and
/// `xox[bp]` spells `xoxb` or `xoxp`.
fn fixed_texts(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => letters(class).map(|l| l.into_iter().map(|b| vec![b]).collect()),
        HirKind::Capture(cap) => fixed_texts(&cap.sub),
        HirKind::Concat(parts) => {
            product(parts.iter().map(fixed_texts).collect::<Option<Vec<_>>>()?)
        }
        HirKind::Alternation(alts) => {
            let mut all = Vec::new();
            for a in alts {
                all.extend(fixed_texts(a)?);
            }
            all.sort_unstable();
            all.dedup();
            (all.len() <= SPELLINGS).then_some(all)
        }
        HirKind::Repetition(rep) if Some(rep.min) == rep.max && rep.min <= 4 => {
            let sub = fixed_texts(&rep.sub)?;
            product((0..rep.min).map(|_| sub.clone()))
        }
        // An optional part: a separator such as `[_.-]?`.
        HirKind::Repetition(rep) if rep.min == 0 && rep.max == Some(1) => {
            let mut texts = fixed_texts(&rep.sub)?;
            texts.push(Vec::new());
            texts.sort_unstable();
            texts.dedup();
            Some(texts)
        }
        _ => None,
    }
}

/// The texts made of one choice from each of `parts` in turn; `None` past [`SPELLINGS`].
fn product(parts: impl IntoIterator<Item = Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    let mut texts = vec![Vec::new()];
    for choices in parts {
        if texts.len() * choices.len() > SPELLINGS {
            return None;
        }
        texts = texts
            .iter()
            .flat_map(|t| choices.iter().map(move |c| [&t[..], c].concat()))
            .collect();
    }
    texts.sort_unstable();
    texts.dedup();
    Some(texts)
}

/// The lowercase ASCII bytes a class stands for, when it holds a few ASCII bytes (`[0-9]` at
/// most) or letters in either case, and nothing else.
fn letters(class: &Class) -> Option<Vec<u8>> {
    let ranges: Vec<(u32, u32)> = match class {
        Class::Bytes(c) => (c.ranges().iter())
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
        Class::Unicode(c) => (c.ranges().iter())
            .map(|r| (r.start().into(), r.end().into()))
            .collect(),
    };
    let members = ranges
        .into_iter()
        .flat_map(|(a, b)| a..=b)
        .take(2 * SPELLINGS);
    let mut lower = Vec::new();
    for m in members {
        match m {
            0..=0x7f => lower.push((m as u8).to_ascii_lowercase()),
            _ => return None,
        }
    }
    lower.sort_unstable();
    lower.dedup();
    (lower.len() <= 16).then_some(lower)
}

fn contains_keyword(text: &[u8], keywords: &[String]) -> bool {
    keywords
        .iter()
        .any(|k| memchr::memmem::find(text, k.as_bytes()).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach_of(pattern: &str, keywords: &[&str]) -> Option<Reach> {
        // Parsed as the engine parses rule patterns: ASCII unless `(?u)` says otherwise.
        let hir = regex_automata::util::syntax::parse_with(
            pattern,
            &regex_automata::util::syntax::Config::new()
                .utf8(false)
                .unicode(false),
        )
        .unwrap();
        let kw: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        reach(&hir, &kw)
    }

    fn bytes(bytes: usize, newlines: usize) -> Option<Reach> {
        Some(Reach {
            bytes: Some(bytes),
            newlines: Some(newlines),
        })
    }

    #[test]
    fn a_bounded_pattern_spelling_its_keyword_has_a_reach() {
        assert_eq!(reach_of("xoxb-[0-9]{10}", &["xoxb"]), bytes(15, 0));
        assert!(reach_of("(?i)ibm[_.-]?api[_.-]?key=[a-z]{4}", &["ibm"]).is_some());
        assert!(reach_of("(?i)secret_key=[a-z]{4}", &["secret"]).is_some());
        assert!(reach_of("(?i:ask)", &["ask"]).is_some());
        // Every alternative holds a keyword, possibly a different one, also where the keyword
        // runs on past the alternation or a small class.
        assert!(reach_of("(?:ghp|gho)_[A-Za-z0-9]{36}", &["ghp_", "gho_"]).is_some());
        assert!(reach_of("xox[bp]-[0-9]{10}", &["xoxb-", "xoxp-"]).is_some());
        assert!(reach_of("(?i)(?:ibm|iam)_key=[a-z]{4}", &["ibm_k", "iam_k"]).is_some());
        // Optional separators, spelled every way.
        let cf = "(?i:(?:cloudflare|cf)[_.-]?token)=[a-z]{4}";
        let spelled = ["cloudflare", "cftoken", "cf_token", "cf.token", "cf-token"];
        assert!(reach_of(cf, &spelled).is_some());
        // Prefixes the parser factors out of an alternation, and optional parts that are not
        // fixed texts.
        let factored =
            "(?i:hcloud[_.-]?token|hetzner[_.-]?(?:cloud[_.-]?)?(?:api[_.-]?)?token)=[a-z]{4}";
        assert!(reach_of(factored, &["hcloud", "hetzner"]).is_some());
        assert!(reach_of("sntry(?:s_[a-z]{60}|u_[0-9]{64})", &["sntrys_", "sntryu_"]).is_some());
        // Too many spellings for one run: split on the separators' choices.
        let many = "(?i:cf[_.-]?(?:global[_.-]?)?(?:api[_.-]?)?key)=[a-z]{4}";
        let kw = [
            "cf_api", "cf-api", "cf.api", "cfapi", "cf_key", "cf-key", "cf.key", "cfkey",
        ];
        let global = ["cf_global", "cf-global", "cf.global", "cfglobal"];
        assert!(reach_of(many, &[&kw[..], &global[..]].concat()).is_some());
        assert_eq!(reach_of(many, &kw), None);
        // The keyword spans the end of an alternation and a capture group.
        let cargo = r#"(?:cargo_token=|token=")(?P<secret>cio[a-z]{32})"#;
        assert!(reach_of(cargo, &["cargo_token", "\"cio"]).is_some());
        assert!(reach_of("oracle(?:[+][a-z]+)?://[a-z]{4}", &["oracle://", "oracle+"]).is_some());
        assert!(reach_of(
            "[0-9]Q~[a-z]{4}",
            &["0q~", "1q~", "2q~", "3q~", "4q~", "5q~", "6q~", "7q~", "8q~", "9q~"]
        )
        .is_some());
        assert!(reach_of("(?P<secret>AKIA[A-Z2-7]{16})", &["akia"]).is_some());
        assert!(reach_of("(?:token){1,3}", &["token"]).is_some());
    }

    #[test]
    fn a_pattern_unbounded_in_length_may_be_bounded_in_lines() {
        let one_line = Reach {
            bytes: None,
            newlines: Some(0),
        };
        assert_eq!(reach_of("xoxb-[0-9]+", &["xoxb"]), Some(one_line));
        assert_eq!(
            reach_of("(?i)key[ \t]*=[ \t]*[a-z]{4}", &["key"]),
            Some(one_line)
        );
        // A final separator that may be a line feed, `$` (no byte), and `\n` spelled out.
        let sep = "(?i)key[ \t]*=[a-z]{4}(?:[^a-z]|$)";
        assert_eq!(reach_of(sep, &["key"]).unwrap().newlines, Some(1));
        assert_eq!(
            reach_of("key\n[a-z]+\r?\n[a-z]+", &["key"])
                .unwrap()
                .newlines,
            Some(2)
        );
        assert_eq!(
            reach_of("key(?:\n[a-z]){0,3}x+", &["key"])
                .unwrap()
                .newlines,
            Some(3)
        );
    }

    #[test]
    fn unbounded_or_keyword_free_patterns_are_searched_whole() {
        // Unbounded in bytes and in lines.
        assert_eq!(reach_of("xoxb-[0-9\n]+", &["xoxb"]), None);
        assert_eq!(reach_of("(?s)xoxb-.+", &["xoxb"]), None);
        assert_eq!(reach_of(r"xoxb-\s*[0-9]{4}", &["xoxb"]), None);
        // An alternative without the keyword.
        assert_eq!(reach_of("(?:ibm|iam)_key=[a-z]{4}", &["ibm"]), None);
        // The keyword broken by an optional separator.
        assert_eq!(reach_of("iam[_-]?apikey", &["iam_apikey"]), None);
        // Under a Unicode `(?i)`, `k` also matches the Kelvin sign, which the prefilter does not
        // fold; a class may name it, or the long s, outright.
        assert_eq!(reach_of("(?u)(?i:ask)", &["ask"]), None);
        assert_eq!(reach_of("(?u)[s\\x{17f}]ecret=[a-z]{4}", &["secret"]), None);
        assert!(reach_of("(?u)(?i:abc)=[a-z]{4}", &["abc"]).is_some());
        // Optional, or a class that is not one letter.
        assert_eq!(reach_of("(?:akia)?[A-Z]{16}", &["akia"]), None);
        assert_eq!(reach_of("[ab]kia[A-Z]{16}", &["akia"]), None);
        assert_eq!(reach_of("[a-z]kia[A-Z]{16}", &["akia"]), None);
        assert_eq!(reach_of("xoxb-[0-9]{10}", &[]), None);
        // A keyword the pattern only spells in part, or spells only in some spellings.
        assert_eq!(reach_of("xox[bp]-[0-9]{10}", &["xoxb"]), None);
        assert_eq!(reach_of("(?:ghp|gho)_[A-Za-z0-9]{36}", &["ghp_"]), None);
        let cf = "(?i:(?:cloudflare|cf)[_.-]?token)=[a-z]{4}";
        assert_eq!(
            reach_of(cf, &["cloudflare", "cftoken", "cf_token", "cf-token"]),
            None
        );
        assert_eq!(
            reach_of("sntry(?:s_[a-z]{60}|u_[0-9]{64})", &["sntrys_"]),
            None
        );
        assert_eq!(
            reach_of("oracle(?:[+][a-z]+)?://[a-z]{4}", &["oracle://"]),
            None
        );
    }

    /// Rules whose pattern is a token's shape alone, run only on blobs that name the provider
    /// somewhere: their keyword is context, not part of the match, so they are searched whole.
    /// (`terraform-credentials-block-token` is gated on `credentials "` with the one space
    /// `terraform fmt` writes, while its pattern also takes tabs or more spaces.)
    const CONTEXT_RULES: [&str; 9] = [
        "twilio-api-key",
        "mailgun-api-key",
        "mailchimp-api-key",
        "telegram-bot-token",
        "terraform-credentials-block-token",
        "harness-pat",
        "asana-pat",
        "airtable-pat",
        "dropbox-short-lived-token",
    ];

    /// Every other shipped rule spells one of its keywords in every match, in every spelling its
    /// pattern allows (`cf.token` as well as `cf_token`): else a spelling the keywords miss is
    /// only found where a keyword happens to occur elsewhere in the blob, and the rule cannot be
    /// searched around its keywords.
    #[test]
    fn every_shipped_rule_spells_one_of_its_keywords_unless_they_are_context() {
        let set = crate::rules::RuleSet::defaults().unwrap();
        let mut wrong = Vec::new();
        for rule in &set.rules {
            let hir = crate::rules::pattern::rule_hir(rule.regex.as_str()).unwrap();
            let spells = holds_keyword(&hir, &rule.keywords);
            if spells == CONTEXT_RULES.contains(&rule.id.as_str()) {
                wrong.push(format!("{} (spells a keyword: {spells})", rule.id));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
        let windowed = set
            .rules
            .iter()
            .filter(|r| r.regex.search(&r.keywords).reach.is_some());
        assert!(windowed.count() >= 230);
    }
}
