//! Group `lost-update`: read-modify-write without a version guard.

pub mod atomic_load_store;
pub mod free_of_loaded_pointer;
pub mod kv_read_then_write;
pub mod load_then_save;
pub mod map_check_then_act;
pub mod read_before_lock;
pub mod split_lock_update;
pub mod sql_read_then_write;
