//! Counts in sentences, written one way for every surface (pages, API messages, the command
//! line): "1 second", "2 seconds", never "1 seconds" or "0 session(s)".

/// "1 session", "3 sessions"; `unit` is the singular of a noun that takes an "s".
pub fn count(n: impl Into<i128>, unit: &str) -> String {
    match n.into() {
        1 => format!("1 {unit}"),
        n => format!("{n} {unit}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(count(1, "second"), "1 second");
        assert_eq!(count(0, "session"), "0 sessions");
        assert_eq!(count(2, "minute"), "2 minutes");
        assert_eq!(count(-1, "day"), "-1 days");
    }
}
