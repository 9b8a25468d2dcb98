//! Rules about heisen's own suppression directives. They are reported by the filter stage
//! ([`crate::suppress::apply`]), not by a query over facts.

pub mod suppression_without_reason;
pub mod unused_suppression;

pub use suppression_without_reason::SUPPRESSION_WITHOUT_REASON;
pub use unused_suppression::UNUSED_SUPPRESSION;
