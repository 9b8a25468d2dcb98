crate::declare_rule! {
    /// ### What it does
    /// Reports a suppression directive that gives no reason: a comment
    /// `// heisen: allow(rule)` with nothing after the closing parenthesis (or only `--`),
    /// or an attribute `heisen::allow(rule)` without `reason = "..."`.
    ///
    /// The directive still suppresses its findings; only the missing reason is reported, so
    /// adding a directive never makes the original finding come back in a different form.
    ///
    /// ### Why is this bad
    /// Concurrency hazards are suppressed because of an argument ("only one writer",
    /// "guarded by the outer lock"). Without the argument written down, a reviewer cannot
    /// check it, and nobody notices when a later change makes it false.
    ///
    /// ### Example
    /// ```rust,ignore
    /// // heisen: allow(atomic-load-store)
    /// let b = balance.load(Ordering::SeqCst);
    /// balance.store(b + 1, Ordering::SeqCst);
    /// ```
    ///
    /// ### Use instead
    /// ```rust,ignore
    /// // heisen: allow(atomic-load-store) -- only the single ledger thread writes `balance`
    /// let b = balance.load(Ordering::SeqCst);
    /// balance.store(b + 1, Ordering::SeqCst);
    ///
    /// #[cfg_attr(any(), heisen::allow(atomic-load-store, reason = "single writer"))]
    /// fn credit(balance: &AtomicI64) { /* ... */ }
    /// ```
    ///
    /// ### Known limitations
    /// Any non-empty text counts as a reason; heisen does not judge whether it is a good one.
    pub static SUPPRESSION_WITHOUT_REASON = {
        name: "suppression-without-reason",
        group: Meta,
        level: Warn,
        summary: "a suppression directive gives no reason",
    };
}
