//! Previous/next links for long admin listings.

/// Rows per page on admin listings.
pub const PER_PAGE: i64 = 50;

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
