//! Pagination: `page` (from 1) and `limit` (capped at 100), and the list envelope of API.md.

use std::collections::HashMap;

use api_contract::Problem;
use serde::Serialize;

pub(crate) const MAX_LIMIT: i64 = api_contract::MAX_PAGE_SIZE;

/// A query parameter, trimmed; `None` when it is missing or blank.
pub(crate) fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params.get(name).map(|value| value.trim()).filter(|value| !value.is_empty())
}

/// `search`, if given: at most [`api_contract::SEARCH_MAX_CHARS`] characters, else `400`.
pub(crate) fn search_param(params: &HashMap<String, String>) -> Result<Option<&str>, Problem> {
    match param(params, "search") {
        Some(search) if search.chars().count() > api_contract::SEARCH_MAX_CHARS => {
            Err(Problem::invalid_param("search", format!("is at most {} characters", api_contract::SEARCH_MAX_CHARS)))
        }
        search => Ok(search),
    }
}

/// Query parameter `name` as an id, if given; anything else is `400` naming it.
pub(crate) fn uuid_param(params: &HashMap<String, String>, name: &str) -> Result<Option<uuid::Uuid>, Problem> {
    param(params, name)
        .map(|value| value.parse().map_err(|_| Problem::invalid_param(name, "must be an id")))
        .transpose()
}

/// Query parameter `name` as a calendar date (`2026-11-30`), if given; anything else is `400` naming it.
pub(crate) fn date_param(params: &HashMap<String, String>, name: &str) -> Result<Option<time::Date>, Problem> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    param(params, name)
        .map(|value| {
            time::Date::parse(value, format).map_err(|_| Problem::invalid_param(name, "must be a date (2026-11-30)"))
        })
        .transpose()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub page: i64,
    pub limit: i64,
}

impl PageRequest {
    /// Reads `page` and `limit`; blank values take the defaults, a limit over the cap is capped.
    pub fn parse(page: Option<&str>, limit: Option<&str>, default_limit: i64) -> Result<Self, Problem> {
        let number = |name: &str, value: Option<&str>, default: i64| -> Result<i64, Problem> {
            match value.map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(text) => text
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=api_contract::MAX_WHOLE).contains(n))
                    .ok_or_else(|| Problem::invalid_param(name, "must be a whole number from 1 to 2^53 - 1")),
            }
        };
        let page = number("page", page, 1)?;
        let limit = number("limit", limit, default_limit)?.min(MAX_LIMIT);
        if page > api_contract::MAX_PAGE {
            return Err(Problem::invalid_param("page", "is too large"));
        }
        Ok(PageRequest { page, limit })
    }

    /// `page` and `limit` from a request's query parameters.
    pub fn from_query(params: &HashMap<String, String>, default_limit: i64) -> Result<Self, Problem> {
        Self::parse(param(params, "page"), param(params, "limit"), default_limit)
    }

    pub fn offset(self) -> i64 {
        (self.page - 1) * self.limit
    }
}

/// `{ data, page, page_size, total_pages, total_results }`; `page_size` counts the items on this page.
#[derive(Debug, Serialize)]
pub(crate) struct ListEnvelope<T> {
    pub data: Vec<T>,
    pub page: i64,
    pub page_size: usize,
    pub total_pages: i64,
    pub total_results: i64,
}

impl<T> ListEnvelope<T> {
    pub fn new(data: Vec<T>, request: PageRequest, total_results: i64) -> Self {
        ListEnvelope {
            page_size: data.len(),
            data,
            page: request.page,
            total_pages: (total_results + request.limit - 1) / request.limit,
            total_results,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_to_missing_or_blank_values_and_the_limit_is_capped() {
        assert_eq!(PageRequest::parse(None, Some(" "), 12).ok(), Some(PageRequest { page: 1, limit: 12 }));
        assert_eq!(PageRequest::parse(Some("3"), Some("500"), 12).ok(), Some(PageRequest { page: 3, limit: 100 }));
    }

    #[test]
    fn zero_negative_or_text_values_are_refused() {
        for (page, limit) in [("0", "1"), ("1", "0"), ("-1", "1"), ("one", "1"), ("1", "1.5")] {
            assert!(PageRequest::parse(Some(page), Some(limit), 12).is_err(), "{page} {limit}");
        }
    }

    #[test]
    fn the_envelope_counts_pages_like_the_original() {
        let envelope = ListEnvelope::new(vec![1, 2], PageRequest { page: 4, limit: 12 }, 38);
        assert_eq!((envelope.page_size, envelope.total_pages, envelope.total_results), (2, 4, 38));
        let empty = ListEnvelope::<i32>::new(vec![], PageRequest { page: 1, limit: 12 }, 0);
        assert_eq!(empty.total_pages, 0);
    }
}
