//! Pagination: `page` (from 1) and `limit` (capped at 100), and the list envelope of API.md.

use api_contract::query::{Limit, PageNumber};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

pub(crate) const MAX_LIMIT: i64 = api_contract::MAX_PAGE_SIZE;

/// `page` and `limit`, which every paged list reads.
#[derive(Debug, Clone, Copy, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Paging {
    /// The page, from 1.
    #[param(inline)]
    page: Option<PageNumber>,
    /// How many items a page holds; more than 100 is taken as 100.
    #[param(inline)]
    limit: Option<Limit>,
}

impl Paging {
    /// The page asked for, `default_limit` items long unless the caller said how many.
    pub fn request(self, default_limit: i64) -> PageRequest {
        PageRequest {
            page: self.page.map_or(1, |page| page.0),
            limit: self.limit.map_or(default_limit, |limit| limit.0).min(MAX_LIMIT),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub page: i64,
    pub limit: i64,
}

impl PageRequest {
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

    fn paging(query: &str) -> Result<PageRequest, api_contract::Problem> {
        api_contract::query::read::<Paging>(query).map(|paging| paging.request(12))
    }

    #[test]
    fn defaults_apply_to_missing_or_blank_values_and_the_limit_is_capped() {
        assert_eq!(paging("limit=%20").ok(), Some(PageRequest { page: 1, limit: 12 }));
        assert_eq!(paging("page=3&limit=500").ok(), Some(PageRequest { page: 3, limit: 100 }));
    }

    #[test]
    fn zero_negative_or_text_values_are_refused() {
        for query in ["page=0", "limit=0", "page=-1", "page=one", "limit=1.5", "page=1000000000000000001"] {
            assert!(paging(query).is_err(), "{query}");
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
