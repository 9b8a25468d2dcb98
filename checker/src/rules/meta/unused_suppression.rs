crate::declare_rule! {
    /// ### What it does
    /// Reports a suppression directive — `// heisen: allow(rule) -- reason` or
    /// `#[cfg_attr(any(), heisen::allow(rule, reason = "..."))]` — that suppresses no
    /// finding, and a directive that names a rule or group heisen does not know
    /// (message "unknown rule `x`") or that cannot be read at all.
    ///
    /// When a directive lists several rules, each rule that suppresses nothing is named in
    /// the message.
    ///
    /// ### Why is this bad
    /// A stale suppression hides the next real finding on that line: the hazard it was
    /// written for has been fixed (or moved), but the directive stays and silently applies
    /// to whatever code ends up there. A misspelled rule name suppresses nothing while
    /// looking like it does.
    ///
    /// ### Example
    /// ```rust,ignore
    /// // heisen: allow(atomic-load-store) -- only one writer thread
    /// counter.fetch_add(1, Ordering::SeqCst); // already atomic: nothing to suppress
    ///
    /// // heisen: allow(atomic-lod-store) -- typo
    /// let v = x.load(Ordering::SeqCst);
    /// ```
    ///
    /// ### Use instead
    /// Delete the directive, or correct the rule name (`cargo heisen rules` lists them).
    ///
    /// ### Known limitations
    /// A directive for a rule that is disabled in the configuration (level `allow`) can look
    /// unused, because the disabled rule produced nothing to suppress. A comment directive
    /// covers only its own line and the next line of code, so a directive placed too far from
    /// the finding is reported here rather than applied.
    pub static UNUSED_SUPPRESSION = {
        name: "unused-suppression",
        group: Meta,
        level: Warn,
        summary: "a suppression directive suppresses no finding or names an unknown rule",
    };
}
