//! A one-shot mailbox: the producer writes the message, then raises `ready`; the consumer
//! waits for `ready`, then reads the message. See README.md.
pub mod buggy;
pub mod fixed;
