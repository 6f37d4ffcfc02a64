//! Previous/next links for long admin listings.

/// Rows per page on admin listings.
pub const PER_PAGE: i64 = 50;

/// The page asked for (1 to 2^31 - 1, whatever was typed) and the offset of its first row:
/// no page number overflows into a negative offset.
pub fn page_and_offset(asked: Option<i64>) -> (i64, i64) {
    let page = asked.unwrap_or(1).clamp(1, i64::from(i32::MAX));
    (page, (page - 1) * PER_PAGE)
}

pub struct Pager {
    pub page: i64,
    pub has_prev: bool,
    pub has_next: bool,
    pub prev_href: String,
    pub next_href: String,
}

impl Pager {
    pub fn new(base: &str, extra: &[(&str, &str)], page: i64, total: i64) -> Pager {
        let href = |page: i64| {
            let page = page.to_string();
            let mut pairs: Vec<(&str, &str)> = extra.to_vec();
            pairs.push(("page", &page));
            format!(
                "{base}?{}",
                serde_urlencoded::to_string(pairs).unwrap_or_default()
            )
        };
        Pager {
            page,
            has_prev: page > 1,
            has_next: page * PER_PAGE < total,
            prev_href: href(page - 1),
            next_href: href(page + 1),
        }
    }
}
