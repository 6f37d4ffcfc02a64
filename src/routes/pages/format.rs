//! How pages show devices and times to people.

use time::OffsetDateTime;

use crate::wording::count;

/// "Firefox on Linux" from a User-Agent header; good enough to recognise one's own devices.
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Version/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    let os = [
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(browser), Some(os)) => format!("{browser} on {os}"),
        (Some(browser), None) => browser.to_owned(),
        (None, Some(os)) => format!("Browser on {os}"),
        // An API client: its product token ("MyApp/2.1" -> "MyApp").
        (None, None) => ua
            .split(['/', ' '])
            .next()
            .filter(|name| !name.is_empty())
            .map(|name| name.chars().take(40).collect())
            .unwrap_or_else(|| "Unknown device".into()),
    }
}

/// The first block of a UUID: enough to tell sessions (or accounts) apart on a page.
pub fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// "just now", "3 minutes ago", "yesterday", "5 days ago".
pub fn relative_time(then: i64, now: i64) -> String {
    let seconds = (now - then).max(0);
    let plural = |n: i64, unit: &str| format!("{} ago", count(n, unit));
    match seconds {
        0..45 => "just now".into(),
        45..3600 => plural((seconds / 60).max(1), "minute"),
        3600..86400 => plural(seconds / 3600, "hour"),
        86400..172800 => "yesterday".into(),
        _ => plural(seconds / 86400, "day"),
    }
}

/// "22 Nov 2026".
pub fn date(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| {
            let month = t.month().to_string();
            format!("{} {} {}", t.day(), &month[..3], t.year())
        })
        .unwrap_or_default()
}

/// "22 Nov 2026, 13:05 UTC".
pub fn date_time(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(|t| format!("{}, {:02}:{:02} UTC", date(seconds), t.hour(), t.minute()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_browsers_read_as_browser_on_os() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let chrome_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        let safari_iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0";
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Linux");
        assert_eq!(describe_device(Some(chrome_mac)), "Chrome on macOS");
        assert_eq!(describe_device(Some(safari_iphone)), "Safari on iOS");
        assert_eq!(describe_device(Some(edge)), "Edge on Windows");
        assert_eq!(describe_device(Some(android)), "Chrome on Android");
    }

    #[test]
    fn api_clients_and_missing_agents_still_read_sensibly() {
        assert_eq!(describe_device(Some("curl/8.5.0")), "curl");
        assert_eq!(
            describe_device(Some("billing-service/2.1 (+ops)")),
            "billing-service"
        );
        assert_eq!(describe_device(None), "Unknown device");
        assert_eq!(describe_device(Some("   ")), "Unknown device");
    }

    #[test]
    fn relative_times_read_like_a_person_would_say_them() {
        assert_eq!(relative_time(1000, 1010), "just now");
        assert_eq!(relative_time(1000, 1000 + 60), "1 minute ago");
        assert_eq!(relative_time(1000, 1000 + 180), "3 minutes ago");
        assert_eq!(relative_time(1000, 1000 + 7200), "2 hours ago");
        assert_eq!(relative_time(1000, 1000 + 90000), "yesterday");
        assert_eq!(relative_time(1000, 1000 + 5 * 86400), "5 days ago");
        assert_eq!(relative_time(2000, 1000), "just now");
    }

    #[test]
    fn dates_are_short_and_unambiguous() {
        assert_eq!(date(1_795_354_763), "22 Nov 2026");
        assert_eq!(date_time(1_795_354_763), "22 Nov 2026, 13:39 UTC");
    }
}
