//! Procedural macros behind `heisen`.
