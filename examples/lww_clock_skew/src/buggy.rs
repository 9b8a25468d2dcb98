//! Last-write-wins by wall-clock timestamp.

use heisen::time::{SystemTime, UNIX_EPOCH};

/// A value with the time it was written.
#[derive(Clone, Debug)]
pub struct Versioned {
    /// The value.
    pub value: String,
    /// Milliseconds since the epoch, from the writing replica's clock.
    pub written_at: u64,
}

/// One replica of a last-write-wins register.
pub struct Replica {
    /// How far this machine's clock is off (NTP drift, a paused VM), in milliseconds, on top
    /// of what `SystemTime::now()` says (in a model run that is already skewed per thread).
    skew_ms: i64,
    current: Option<Versioned>,
}

impl Replica {
    /// A replica whose clock is `skew_ms` off.
    pub fn new(skew_ms: i64) -> Replica {
        Replica {
            skew_ms,
            current: None,
        }
    }

    /// The current value.
    pub fn get(&self) -> Option<&str> {
        self.current.as_ref().map(|v| v.value.as_str())
    }

    /// A local write, stamped with this replica's wall clock.
    pub fn write(&mut self, value: &str) -> Versioned {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_millis() as i64;
        let v = Versioned {
            value: value.to_string(),
            written_at: (now + self.skew_ms) as u64,
        };
        self.current = Some(v.clone());
        v
    }

    /// A write replicated from another replica.
    /// BUG: the later write wins only if its machine's clock says so. A write made on a
    /// replica whose clock is behind loses to an older write from a replica whose clock is
    /// right, even when its writer had already seen that older write.
    pub fn merge(&mut self, other: Versioned) {
        let newer = match &self.current {
            Some(mine) => other.written_at > mine.written_at,
            None => true,
        };
        if newer {
            self.current = Some(other);
        }
    }
}
