//! Configuration: `heisen.toml`, or `[workspace.metadata.heisen]` /
//! `[package.metadata.heisen]` in the root `Cargo.toml`.
//!
//! ```toml
//! # Files never scanned: globs over paths relative to the workspace root. `*` stays within
//! # one directory, `**` crosses directories; a pattern that matches a directory excludes
//! # everything below it (`exclude = ["target"]` works). Top-level keys precede tables.
//! exclude = ["target/**", "tests/fixtures/**"]
//!
//! [rules]                      # per-rule levels: "allow" | "warn" | "deny"
//! wall-clock-ordering = "deny"
//!
//! [groups]                     # per-group levels; a rule level overrides its group's level
//! memory-ordering = "warn"
//!
//! [[ignore]]                   # per-path ignores: the named rules/groups are `allow` there
//! path = "src/legacy/**"
//! rules = ["atomic-load-store", "wall-clock"]
//!
//! [test-code]                  # per rule or group: is test code checked? (true | false)
//! wall-clock = true            # default: false for the wall-clock and retry groups
//! relaxed-any = false          # a rule entry overrides its group's entry
//! ```
//!
//! Test code ([`crate::analysis::test_code`]) is a `#[test]` function, anything inside a
//! `#[cfg(test)]` item, and the files under `tests/`, `benches/` and `xtask/` directories or of
//! an out-of-line `#[cfg(test)] mod`; `examples/` is not test code. By default every rule checks
//! test code except the `wall-clock` and `retry` groups: a test's clock readings and sleeps run
//! on one machine against a local fixture, where skew and a thundering herd cannot happen,
//! while a lost update, a wrong memory ordering or a deadlock in a test is a flaky test.
//!
//! Effective level of a rule for a file ([`Config::level_for`]): `allow` if an `[[ignore]]`
//! entry matching the file names the rule or its group; otherwise the `[rules]` level, else
//! the `[groups]` level, else the rule's default.
//!
//! Discovery ([`Config::discover`]): `--config FILE` if given (a missing file is an error; a
//! file named `Cargo.toml` is read in the metadata form); else `<root>/heisen.toml`; else
//! `[workspace.metadata.heisen]`, then `[package.metadata.heisen]` of `<root>/Cargo.toml`;
//! else the built-in default. Only the first source found is read; they are not merged.
//!
//! Every error — TOML syntax, wrong types, unknown keys, unknown rule or group names, bad
//! levels, bad globs — is a [`ConfigError`] that carries the file's text and the byte span of
//! the offending key or value, and renders as a miette diagnostic pointing at it.

use crate::finding::{Group, Level};
use crate::hash::Fnv1a64;
use crate::rules::RuleMeta;
use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file name looked for at the workspace root.
pub const FILE_NAME: &str = "heisen.toml";

/// The effective configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The file it was read from; `None` for the built-in default.
    pub origin: Option<PathBuf>,
    rule_levels: BTreeMap<String, Level>,
    group_levels: BTreeMap<Group, Level>,
    exclude: Vec<String>,
    exclude_set: GlobSet,
    ignores: Vec<IgnoreEntry>,
    test_code_rules: BTreeMap<String, bool>,
    test_code_groups: BTreeMap<Group, bool>,
}

#[derive(Clone, Debug)]
struct IgnoreEntry {
    pattern: String,
    matcher: GlobMatcher,
    rules: Vec<String>,
    groups: Vec<Group>,
}

/// What went wrong in a configuration file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// The file could not be read (e.g. `--config` names a missing file).
    Io,
    /// TOML syntax error, or a value of the wrong type.
    Syntax,
    /// A key heisen does not know (`[rulez]`, `pth = ..`).
    UnknownKey,
    /// A rule name that is not in the registry (in `[rules]` or `[[ignore]] rules`).
    UnknownRule,
    /// A group name that does not exist (in `[groups]`).
    UnknownGroup,
    /// A level other than `allow`, `warn`, `deny`.
    BadLevel,
    /// A glob that does not compile.
    BadGlob,
}

/// A configuration error with the span of the offending text; a miette [`Diagnostic`].
///
/// Boxed (the details are reached through `Deref`, e.g. `err.kind`, `err.span`) so that
/// `Result<_, ConfigError>` stays small.
#[derive(Clone)]
pub struct ConfigError(Box<ConfigErrorDetails>);

/// The contents of a [`ConfigError`].
#[derive(Clone)]
pub struct ConfigErrorDetails {
    pub kind: ConfigErrorKind,
    /// One line, lowercase start.
    pub message: String,
    /// The file the error is in.
    pub path: PathBuf,
    /// Byte span in the file's text, when the error has a location.
    pub span: Option<Range<usize>>,
    /// Text of the label at the span.
    pub label: String,
    pub help: Option<String>,
    source: Option<NamedSource<String>>,
    text: Option<String>,
}

impl std::ops::Deref for ConfigError {
    type Target = ConfigErrorDetails;
    fn deref(&self) -> &ConfigErrorDetails {
        &self.0
    }
}

impl ConfigError {
    fn new(kind: ConfigErrorKind, message: impl Into<String>, path: &Path) -> Self {
        ConfigError(Box::new(ConfigErrorDetails {
            kind,
            message: message.into(),
            path: path.to_path_buf(),
            span: None,
            label: String::new(),
            help: None,
            text: None,
            source: None,
        }))
    }

    fn at(mut self, text: &str, span: Range<usize>, label: impl Into<String>) -> Self {
        let start = span.start.min(text.len());
        let end = span.end.clamp(start, text.len());
        self.0.span = Some(start..end);
        self.0.label = label.into();
        self.0.text = Some(text.to_string());
        self.0.source = Some(NamedSource::new(
            self.path.display().to_string(),
            text.to_string(),
        ));
        self
    }

    fn help(mut self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    /// 1-based line and 1-based char column of the start of the span.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let (text, span) = (self.text.as_deref()?, self.span.as_ref()?);
        let before = text.get(..span.start)?;
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Some((line, before[line_start..].chars().count() + 1))
    }
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("path", &self.path)
            .field("line_col", &self.line_col())
            .finish()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == ConfigErrorKind::Io {
            return f.write_str(&self.message);
        }
        match self.line_col() {
            Some((l, c)) => write!(
                f,
                "invalid configuration {}:{l}:{c}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(
                f,
                "invalid configuration {}: {}",
                self.path.display(),
                self.message
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("heisen::config"))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span.clone()?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(
                Some(self.label.clone()),
                SourceSpan::new(span.start.into(), span.end - span.start),
            ),
        )))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    groups: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    ignore: Vec<RawIgnore>,
    #[serde(default, rename = "test-code")]
    test_code: BTreeMap<Spanned<String>, Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    path: Spanned<String>,
    rules: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
struct CargoToml {
    workspace: Option<CargoTable>,
    package: Option<CargoTable>,
}

#[derive(Deserialize)]
struct CargoTable {
    metadata: Option<CargoMetadata>,
}

#[derive(Deserialize)]
struct CargoMetadata {
    heisen: Option<RawConfig>,
}

fn syntax_error(e: toml::de::Error, text: &str, origin: &Path) -> ConfigError {
    let message = e.message().trim().to_string();
    let kind = if message.starts_with("unknown field") {
        ConfigErrorKind::UnknownKey
    } else {
        ConfigErrorKind::Syntax
    };
    let label = if kind == ConfigErrorKind::UnknownKey {
        "unknown key"
    } else {
        "here"
    };
    let err = ConfigError::new(kind, message, origin);
    match e.span() {
        Some(span) => err.at(text, span, label),
        None => err,
    }
}

fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    let p = pattern.trim_start_matches("./").trim_start_matches('/');
    Ok(GlobBuilder::new(p)
        .literal_separator(true)
        .build()?
        .compile_matcher())
}

/// Levenshtein distance, for "did you mean" hints.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|c| (distance(name, c), c))
        .filter(|(d, c)| *d <= 3.max(c.len() / 4))
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

fn parse_level(value: &Spanned<String>, text: &str, origin: &Path) -> Result<Level, ConfigError> {
    Level::from_name(value.get_ref()).ok_or_else(|| {
        ConfigError::new(
            ConfigErrorKind::BadLevel,
            format!("unknown level `{}`", value.get_ref()),
            origin,
        )
        .at(
            text,
            value.span(),
            "expected \"allow\", \"warn\" or \"deny\"",
        )
        .help("levels are \"allow\" (off), \"warn\" and \"deny\" (fails the check)")
    })
}

impl Config {
    /// Parses a `heisen.toml` text. `origin` names the file in errors; `rules` is the registry
    /// that rule names are checked against.
    pub fn from_toml_str(
        text: &str,
        origin: &Path,
        rules: &[&RuleMeta],
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(e, text, origin))?;
        Config::from_raw(raw, text, origin, rules)
    }

    /// Reads `[workspace.metadata.heisen]`, else `[package.metadata.heisen]`, from the text of
    /// a `Cargo.toml`. `Ok(None)` when neither table exists. Spans point into the Cargo.toml.
    pub fn from_cargo_toml_str(
        text: &str,
        origin: &Path,
        rules: &[&RuleMeta],
    ) -> Result<Option<Config>, ConfigError> {
        let manifest: CargoToml =
            toml::from_str(text).map_err(|e| syntax_error(e, text, origin))?;
        let raw = [manifest.workspace, manifest.package]
            .into_iter()
            .flatten()
            .filter_map(|t| t.metadata.and_then(|m| m.heisen))
            .next();
        raw.map(|raw| Config::from_raw(raw, text, origin, rules))
            .transpose()
    }

    /// Finds and reads the configuration for the workspace at `root` (see the module docs).
    pub fn discover(
        root: &Path,
        explicit: Option<&Path>,
        rules: &[&RuleMeta],
    ) -> Result<Config, ConfigError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    ConfigErrorKind::Io,
                    format!("could not read {}: {e}", path.display()),
                    path,
                )
            })
        };
        if let Some(path) = explicit {
            let text = read(path)?;
            if path.file_name().is_some_and(|n| n == "Cargo.toml") {
                return Ok(Config::from_cargo_toml_str(&text, path, rules)?.unwrap_or_default());
            }
            return Config::from_toml_str(&text, path, rules);
        }
        let heisen = root.join(FILE_NAME);
        if heisen.is_file() {
            return Config::from_toml_str(&read(&heisen)?, &heisen, rules);
        }
        let cargo = root.join("Cargo.toml");
        if cargo.is_file() {
            if let Some(config) = Config::from_cargo_toml_str(&read(&cargo)?, &cargo, rules)? {
                return Ok(config);
            }
        }
        Ok(Config::default())
    }

    fn from_raw(
        raw: RawConfig,
        text: &str,
        origin: &Path,
        rules: &[&RuleMeta],
    ) -> Result<Config, ConfigError> {
        let rule_names = || rules.iter().map(|r| r.name);
        let group_names = || Group::ALL.iter().map(|g| g.as_str());
        let mut config = Config {
            origin: Some(origin.to_path_buf()),
            ..Config::default()
        };
        for (name, level) in &raw.rules {
            if !rules.iter().any(|r| r.name == name.get_ref()) {
                let mut err = ConfigError::new(
                    ConfigErrorKind::UnknownRule,
                    format!("unknown rule `{}`", name.get_ref()),
                    origin,
                )
                .at(text, name.span(), "not a heisen rule");
                let hint = if Group::from_name(name.get_ref()).is_some() {
                    Some(format!(
                        "`{}` is a group: set it under [groups]",
                        name.get_ref()
                    ))
                } else {
                    suggest(name.get_ref(), rule_names())
                };
                err =
                    err.help(hint.unwrap_or_else(|| {
                        "`cargo heisen rules` lists the rule names".to_string()
                    }));
                return Err(err);
            }
            let level = parse_level(level, text, origin)?;
            config.rule_levels.insert(name.get_ref().clone(), level);
        }
        for (name, level) in &raw.groups {
            let Some(group) = Group::from_name(name.get_ref()) else {
                let hint = suggest(name.get_ref(), group_names()).unwrap_or_else(|| {
                    format!(
                        "groups are {}",
                        group_names().collect::<Vec<_>>().join(", ")
                    )
                });
                return Err(ConfigError::new(
                    ConfigErrorKind::UnknownGroup,
                    format!("unknown group `{}`", name.get_ref()),
                    origin,
                )
                .at(text, name.span(), "not a heisen group")
                .help(hint));
            };
            let level = parse_level(level, text, origin)?;
            config.group_levels.insert(group, level);
        }
        let bad_glob = |pattern: &Spanned<String>, e: globset::Error| {
            ConfigError::new(
                ConfigErrorKind::BadGlob,
                format!("invalid glob `{}`", pattern.get_ref()),
                origin,
            )
            .at(text, pattern.span(), e.kind().to_string())
        };
        let mut set = GlobSetBuilder::new();
        for pattern in &raw.exclude {
            let matcher = glob(pattern.get_ref()).map_err(|e| bad_glob(pattern, e))?;
            set.add(matcher.glob().clone());
            config.exclude.push(pattern.get_ref().clone());
        }
        config.exclude_set = set
            .build()
            .map_err(|e| ConfigError::new(ConfigErrorKind::BadGlob, e.to_string(), origin))?;
        let unknown_rule_or_group = |name: &Spanned<String>| {
            let hint = suggest(name.get_ref(), rule_names().chain(group_names()))
                .unwrap_or_else(|| "`cargo heisen rules` lists the rule names".into());
            ConfigError::new(
                ConfigErrorKind::UnknownRule,
                format!("unknown rule or group `{}`", name.get_ref()),
                origin,
            )
            .at(text, name.span(), "not a heisen rule or group")
            .help(hint)
        };
        for entry in &raw.ignore {
            let matcher = glob(entry.path.get_ref()).map_err(|e| bad_glob(&entry.path, e))?;
            let mut names = Vec::new();
            let mut groups = Vec::new();
            for name in &entry.rules {
                if rules.iter().any(|r| r.name == name.get_ref()) {
                    names.push(name.get_ref().clone());
                } else if let Some(g) = Group::from_name(name.get_ref()) {
                    groups.push(g);
                } else {
                    return Err(unknown_rule_or_group(name));
                }
            }
            config.ignores.push(IgnoreEntry {
                pattern: entry.path.get_ref().clone(),
                matcher,
                rules: names,
                groups,
            });
        }
        for (name, on) in &raw.test_code {
            if rules.iter().any(|r| r.name == name.get_ref()) {
                config
                    .test_code_rules
                    .insert(name.get_ref().clone(), *on.get_ref());
            } else if let Some(g) = Group::from_name(name.get_ref()) {
                config.test_code_groups.insert(g, *on.get_ref());
            } else {
                return Err(unknown_rule_or_group(name));
            }
        }
        Ok(config)
    }

    /// The level of `rule` for the file at `rel_path` (relative to the root, `/` or `\`
    /// separators): `Allow` when an `[[ignore]]` entry for the path names the rule or its
    /// group, else the rule's configured level, else its group's, else its default.
    pub fn level_for(&self, rule: &RuleMeta, rel_path: &str) -> Level {
        let path = normalize(rel_path);
        let ignored = self.ignores.iter().any(|i| {
            (i.rules.iter().any(|r| r == rule.name) || i.groups.contains(&rule.group))
                && candidates(&path).any(|p| i.matcher.is_match(p))
        });
        if ignored {
            return Level::Allow;
        }
        self.rule_levels
            .get(rule.name)
            .or_else(|| self.group_levels.get(&rule.group))
            .copied()
            .unwrap_or(rule.default_level)
    }

    /// Whether findings of `rule` are reported in test code (see the module docs): its
    /// `[test-code]` entry, else its group's, else `true` except for the `wall-clock` and
    /// `retry` groups.
    pub fn checks_test_code(&self, rule: &RuleMeta) -> bool {
        self.test_code_rules
            .get(rule.name)
            .or_else(|| self.test_code_groups.get(&rule.group))
            .copied()
            .unwrap_or(!matches!(rule.group, Group::WallClock | Group::Retry))
    }

    /// Whether the file at `rel_path` matches an `exclude` glob (itself or any ancestor
    /// directory).
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        let path = normalize(rel_path);
        let excluded = candidates(&path).any(|p| self.exclude_set.is_match(p));
        excluded
    }

    /// A stable hash (FNV-1a 64) of the effective configuration — levels, excludes, ignores;
    /// not the origin path or formatting — for the cache key.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv1a64::new();
        h.write_str("heisen-config/v1");
        h.write_str("rules");
        for (name, level) in &self.rule_levels {
            h.write_str(name);
            h.write_str(level.as_str());
        }
        h.write_str("groups");
        for (group, level) in &self.group_levels {
            h.write_str(group.as_str());
            h.write_str(level.as_str());
        }
        h.write_str("exclude");
        for pattern in &self.exclude {
            h.write_str(pattern);
        }
        h.write_str("ignore");
        for entry in &self.ignores {
            h.write_str(&entry.pattern);
            for r in &entry.rules {
                h.write_str(r);
            }
            h.write_str("groups");
            for g in &entry.groups {
                h.write_str(g.as_str());
            }
            h.write_str("end");
        }
        h.write_str("test-code");
        for (name, on) in &self.test_code_rules {
            h.write_str(name);
            h.write_str(if *on { "1" } else { "0" });
        }
        for (group, on) in &self.test_code_groups {
            h.write_str(group.as_str());
            h.write_str(if *on { "1" } else { "0" });
        }
        h.finish()
    }
}

/// `\` → `/`, leading `./` removed.
fn normalize(path: &str) -> String {
    let p = path.replace('\\', "/");
    let mut s = p.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.trim_start_matches('/').to_string()
}

/// The path itself and each of its ancestor directories (`a/b/c.rs`, `a`, `a/b`).
fn candidates(path: &str) -> impl Iterator<Item = &str> {
    std::iter::once(path).chain(path.match_indices('/').map(move |(i, _)| &path[..i]))
}

/// A commented `heisen.toml` listing every group and rule with its default level, all
/// commented out. It parses to the default configuration.
pub fn init_template(rules: &[&RuleMeta]) -> String {
    let mut s = String::new();
    s.push_str(
        "# heisen.toml: configuration of `cargo heisen check`.\n\
         # Levels: \"allow\" (off), \"warn\", \"deny\" (fails the check).\n\
         # Paths are globs relative to the workspace root: `*` stays within a directory,\n\
         # `**` crosses directories. Uncomment a line to change it.\n\
         \n\
         # Files never scanned; a pattern matching a directory excludes everything below it.\n\
         # (Top-level keys must come before the [tables].)\n\
         exclude = []\n\
         # exclude = [\"target/**\", \"tests/fixtures/**\"]\n\
         \n\
         # Group levels (unset: each rule keeps its own level). A [rules] level overrides these.\n\
         [groups]\n",
    );
    for group in Group::ALL {
        let members: Vec<&str> = rules
            .iter()
            .filter(|r| r.group == group)
            .map(|r| r.name)
            .collect();
        if members.is_empty() {
            s.push_str(&format!("# {} = \"warn\"\n", group.as_str()));
        } else {
            s.push_str(&format!(
                "# {} = \"warn\"  # rules: {}\n",
                group.as_str(),
                members.join(", ")
            ));
        }
    }
    s.push_str("\n# Rule levels (shown: the defaults).\n[rules]\n");
    for group in Group::ALL {
        let members: Vec<&&RuleMeta> = rules.iter().filter(|r| r.group == group).collect();
        if members.is_empty() {
            continue;
        }
        s.push_str(&format!("# {}\n", group.as_str()));
        for r in members {
            s.push_str(&format!(
                "# {} = \"{}\"  # {}\n",
                r.name,
                r.default_level.as_str(),
                r.summary.replace('\n', " ")
            ));
        }
    }
    s.push_str(
        "\n# Per-path ignores: the listed rules or groups are \"allow\" for matching files.\n\
         # [[ignore]]\n\
         # path = \"src/legacy/**\"\n\
         # rules = [\"atomic-load-store\", \"wall-clock\"]\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::test_support::{SAMPLE_ALLOWED, SAMPLE_LOST_UPDATE, SAMPLE_WALL_CLOCK};
    use crate::rules::meta::UNUSED_SUPPRESSION;

    fn rules() -> Vec<&'static RuleMeta> {
        vec![
            &SAMPLE_LOST_UPDATE,
            &SAMPLE_WALL_CLOCK,
            &SAMPLE_ALLOWED,
            &UNUSED_SUPPRESSION,
        ]
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, Path::new("heisen.toml"), &rules())
    }

    fn err(text: &str) -> ConfigError {
        parse(text).expect_err("config should be rejected")
    }

    #[test]
    fn default_levels() {
        let c = Config::default();
        assert_eq!(c.level_for(&SAMPLE_LOST_UPDATE, "src/a.rs"), Level::Warn);
        assert_eq!(c.level_for(&SAMPLE_WALL_CLOCK, "src/a.rs"), Level::Deny);
        assert_eq!(c.level_for(&SAMPLE_ALLOWED, "src/a.rs"), Level::Allow);
        assert!(!c.is_excluded("target/debug/x.rs"));
    }

    #[test]
    fn test_code_defaults_and_overrides() {
        let c = Config::default();
        // wall-clock (and retry) skip test code by default; lost-update checks it.
        assert!(!c.checks_test_code(&SAMPLE_WALL_CLOCK));
        assert!(c.checks_test_code(&SAMPLE_LOST_UPDATE));
        let c = parse("[test-code]\nwall-clock = true\nlost-update = false\n").unwrap();
        assert!(c.checks_test_code(&SAMPLE_WALL_CLOCK));
        assert!(!c.checks_test_code(&SAMPLE_LOST_UPDATE));
        // A rule entry beats its group's.
        let c = parse("[test-code]\nmemory-ordering = false\nrelaxed-any = true\n").unwrap();
        assert!(c.checks_test_code(&SAMPLE_ALLOWED));
        assert_ne!(c.fingerprint(), Config::default().fingerprint());
        let e = err("[test-code]\nwall-clok = true\n");
        assert_eq!(e.kind, ConfigErrorKind::UnknownRule);
        assert_eq!(e.help.as_deref(), Some("did you mean `wall-clock`?"));
        assert_eq!(
            err("[test-code]\nwall-clock = \"yes\"\n").kind,
            ConfigErrorKind::Syntax
        );
    }

    #[test]
    fn precedence_rule_over_group_over_default() {
        let c = parse(
            "[rules]\nrelaxed-any = \"deny\"\n[groups]\nmemory-ordering = \"warn\"\nlost-update = \"deny\"\nwall-clock = \"allow\"\n",
        )
        .unwrap();
        // Rule level beats group level.
        assert_eq!(c.level_for(&SAMPLE_ALLOWED, "a.rs"), Level::Deny);
        // Group level beats default.
        assert_eq!(c.level_for(&SAMPLE_LOST_UPDATE, "a.rs"), Level::Deny);
        assert_eq!(c.level_for(&SAMPLE_WALL_CLOCK, "a.rs"), Level::Allow);
        // Untouched group: default.
        assert_eq!(c.level_for(&UNUSED_SUPPRESSION, "a.rs"), Level::Warn);
    }

    #[test]
    fn excludes_and_ignores() {
        let c = parse(
            r#"exclude = ["target/**", "tests/fixtures", "**/generated_*.rs"]
[rules]
atomic-load-store = "deny"
[[ignore]]
path = "src/legacy/**"
rules = ["atomic-load-store"]
[[ignore]]
path = "src/time/*.rs"
rules = ["wall-clock"]
"#,
        )
        .unwrap();
        assert!(c.is_excluded("target/debug/build/x.rs"));
        assert!(c.is_excluded("tests/fixtures/a/b.rs"));
        assert!(c.is_excluded("./tests\\fixtures\\a.rs"));
        assert!(c.is_excluded("src/deep/generated_api.rs"));
        assert!(!c.is_excluded("tests/fixtures.rs"));
        assert!(!c.is_excluded("src/target.rs"));
        // Ignored for the path → Allow, even though the rule level is deny.
        assert_eq!(
            c.level_for(&SAMPLE_LOST_UPDATE, "src/legacy/old/a.rs"),
            Level::Allow
        );
        assert_eq!(c.level_for(&SAMPLE_LOST_UPDATE, "src/new.rs"), Level::Deny);
        // Other rules are unaffected by that ignore.
        assert_eq!(
            c.level_for(&SAMPLE_WALL_CLOCK, "src/legacy/a.rs"),
            Level::Deny
        );
        // Group ignore; `*` does not cross directories.
        assert_eq!(
            c.level_for(&SAMPLE_WALL_CLOCK, "src/time/clock.rs"),
            Level::Allow
        );
        assert_eq!(
            c.level_for(&SAMPLE_WALL_CLOCK, "src/time/sub/clock.rs"),
            Level::Deny
        );
    }

    #[test]
    fn unknown_top_level_key() {
        let e = err("exclude = []\nexcludes = [\"x\"]\n");
        assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
        assert_eq!(e.line_col(), Some((2, 1)));
    }

    #[test]
    fn unknown_key_in_ignore() {
        let e = err("[[ignore]]\npath = \"a\"\nrules = []\npaths = []\n");
        assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
        assert_eq!(e.line_col(), Some((4, 1)));
    }

    #[test]
    fn unknown_rule_with_span_and_hint() {
        let e = err("[rules]\natomic-load-store = \"warn\"\n  atomic-lod-store = \"deny\"\n");
        assert_eq!(e.kind, ConfigErrorKind::UnknownRule);
        assert_eq!(e.line_col(), Some((3, 3)));
        assert_eq!(e.help.as_deref(), Some("did you mean `atomic-load-store`?"));
        let e = err("[rules]\nwall-clock = \"deny\"\n");
        assert_eq!(
            e.help.as_deref(),
            Some("`wall-clock` is a group: set it under [groups]")
        );
    }

    #[test]
    fn unknown_group() {
        let e = err("[groups]\nmemory-order = \"warn\"\n");
        assert_eq!(e.kind, ConfigErrorKind::UnknownGroup);
        assert_eq!(e.line_col(), Some((2, 1)));
        assert_eq!(e.help.as_deref(), Some("did you mean `memory-ordering`?"));
    }

    #[test]
    fn bad_level() {
        let e = err("[rules]\nrelaxed-any = \"error\"\n");
        assert_eq!(e.kind, ConfigErrorKind::BadLevel);
        assert_eq!(e.line_col(), Some((2, 15)));
        let e = err("[groups]\nretry = \"loud\"\n");
        assert_eq!(e.kind, ConfigErrorKind::BadLevel);
        assert_eq!(e.line_col(), Some((2, 9)));
    }

    #[test]
    fn bad_globs() {
        let e = err("exclude = [\"ok/**\", \"src/[a.rs\"]\n");
        assert_eq!(e.kind, ConfigErrorKind::BadGlob);
        assert_eq!(e.line_col(), Some((1, 21)));
        let e = err("[[ignore]]\npath = \"{a,b\"\nrules = [\"retry\"]\n");
        assert_eq!(e.kind, ConfigErrorKind::BadGlob);
        assert_eq!(e.line_col(), Some((2, 8)));
    }

    #[test]
    fn unknown_rule_in_ignore() {
        let e = err("[[ignore]]\npath = \"a/**\"\nrules = [\"retry\", \"nope\"]\n");
        assert_eq!(e.kind, ConfigErrorKind::UnknownRule);
        assert_eq!(e.line_col(), Some((3, 19)));
    }

    #[test]
    fn syntax_and_type_errors() {
        let e = err("[rules\n");
        assert_eq!(e.kind, ConfigErrorKind::Syntax);
        assert_eq!(e.line_col().map(|(l, _)| l), Some(1));
        let e = err("exclude = \"target\"\n");
        assert_eq!(e.kind, ConfigErrorKind::Syntax);
        assert_eq!(e.line_col(), Some((1, 11)));
    }

    #[test]
    fn error_renders_as_miette_diagnostic_with_source() {
        let e = err("[rules]\nrelaxed-any = \"error\"\n");
        let mut out = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::none())
            .with_width(100)
            .render_report(&mut out, &e)
            .unwrap();
        assert!(out.contains("heisen::config"), "{out}");
        assert!(out.contains("unknown level `error`"), "{out}");
        assert!(out.contains("[heisen.toml:2:15]"), "{out}");
        assert!(out.contains("relaxed-any = \"error\""), "{out}");
        assert!(
            out.contains("expected \"allow\", \"warn\" or \"deny\""),
            "{out}"
        );
    }

    #[test]
    fn cargo_toml_metadata_forms() {
        let ws = "[workspace]\nmembers = [\"a\"]\n\n[workspace.metadata.heisen]\nexclude = [\"gen/**\"]\n[workspace.metadata.heisen.rules]\nrelaxed-any = \"warn\"\n";
        let c = Config::from_cargo_toml_str(ws, Path::new("Cargo.toml"), &rules())
            .unwrap()
            .unwrap();
        assert_eq!(c.level_for(&SAMPLE_ALLOWED, "a.rs"), Level::Warn);
        assert!(c.is_excluded("gen/x.rs"));
        let pkg = "[package]\nname = \"x\"\n[package.metadata.heisen.groups]\nretry = \"deny\"\nlost-update = \"allow\"\n";
        let c = Config::from_cargo_toml_str(pkg, Path::new("Cargo.toml"), &rules())
            .unwrap()
            .unwrap();
        assert_eq!(c.level_for(&SAMPLE_LOST_UPDATE, "a.rs"), Level::Allow);
        // No heisen table → None; unrelated keys are fine.
        let none = "[package]\nname = \"x\"\n[package.metadata.other]\nk = 1\n";
        assert!(
            Config::from_cargo_toml_str(none, Path::new("Cargo.toml"), &rules())
                .unwrap()
                .is_none()
        );
        // Errors point into Cargo.toml.
        let bad = "[package]\nname = \"x\"\n\n[package.metadata.heisen.rules]\nnope = \"warn\"\n";
        let e = Config::from_cargo_toml_str(bad, Path::new("Cargo.toml"), &rules()).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::UnknownRule);
        assert_eq!(e.line_col(), Some((5, 1)));
        assert_eq!(e.path, Path::new("Cargo.toml"));
    }

    #[test]
    fn discover_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Nothing → default.
        let c = Config::discover(root, None, &rules()).unwrap();
        assert!(c.origin.is_none());
        // Cargo.toml metadata.
        std::fs::write(
            root.join("Cargo.toml"),
            "[package]\nname = \"x\"\n[package.metadata.heisen.rules]\nrelaxed-any = \"warn\"\n",
        )
        .unwrap();
        let c = Config::discover(root, None, &rules()).unwrap();
        assert_eq!(c.origin.as_deref(), Some(root.join("Cargo.toml").as_path()));
        assert_eq!(c.level_for(&SAMPLE_ALLOWED, "a.rs"), Level::Warn);
        // heisen.toml wins over Cargo.toml.
        std::fs::write(
            root.join("heisen.toml"),
            "[rules]\nrelaxed-any = \"deny\"\n",
        )
        .unwrap();
        let c = Config::discover(root, None, &rules()).unwrap();
        assert_eq!(c.level_for(&SAMPLE_ALLOWED, "a.rs"), Level::Deny);
        // --config wins over both.
        let explicit = root.join("other.toml");
        std::fs::write(&explicit, "[groups]\nmemory-ordering = \"allow\"\n").unwrap();
        let c = Config::discover(root, Some(&explicit), &rules()).unwrap();
        assert_eq!(c.level_for(&SAMPLE_ALLOWED, "a.rs"), Level::Allow);
        // A missing explicit file is an error.
        let e = Config::discover(root, Some(&root.join("missing.toml")), &rules()).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::Io);
        assert!(e.to_string().starts_with("could not read "), "{e}");
        assert!(e.line_col().is_none());
    }

    #[test]
    fn fingerprint_tracks_effective_config() {
        let a = parse("[rules]\nrelaxed-any = \"warn\"\n").unwrap();
        let b = parse("# comment\n[rules]\n  relaxed-any   =   \"warn\"\n").unwrap();
        let c = parse("[rules]\nrelaxed-any = \"deny\"\n").unwrap();
        let d = parse("exclude = [\"x\"]\n[rules]\nrelaxed-any = \"warn\"\n").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_ne!(a.fingerprint(), d.fingerprint());
        assert_ne!(a.fingerprint(), Config::default().fingerprint());
        // Stable across runs and Rust versions: FNV-1a of fixed bytes.
        assert_eq!(
            Config::default().fingerprint(),
            Config::default().fingerprint()
        );
    }

    #[test]
    fn init_template_parses_to_default() {
        let template = init_template(&rules());
        let c = parse(&template).unwrap();
        assert_eq!(c.fingerprint(), Config::default().fingerprint());
        for r in rules() {
            assert!(
                template.contains(&format!("# {} = \"{}\"", r.name, r.default_level)),
                "{template}"
            );
            assert_eq!(c.level_for(r, "src/a.rs"), r.default_level);
        }
        // Uncommenting every rule line still parses (the names and levels are valid).
        let mut in_levels = false;
        let uncommented: String = template
            .lines()
            .map(|l| {
                if l.starts_with('[') || l.contains("[[ignore]]") {
                    in_levels = l == "[rules]" || l == "[groups]";
                }
                match l.strip_prefix("# ") {
                    Some(rest) if in_levels && rest.contains(" = \"") => rest,
                    _ => l,
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(uncommented.contains("\nretry = \"warn\""), "{uncommented}");
        parse(&uncommented).expect("uncommented template parses");
        insta::assert_snapshot!(template);
    }
}
