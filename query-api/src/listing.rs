//! A list's page and its count from the same filters, in one statement: the page's rows carry
//! `count(*) OVER ()`, counted in the same snapshot as the rows, so `total_results` never disagrees with the
//! page while a projection writes. A page past the end has no row to carry the count: it is counted alone.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row};

use crate::page::PageRequest;

/// `SELECT <columns> FROM <tables> WHERE <filter> ORDER BY <order>`, written once for both the page and the
/// count. `params` are the filter's `$1`..`$n`; the page's limit and offset follow them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listing<'a> {
    /// The selected columns, without `SELECT`.
    pub columns: &'a str,
    /// The tables and joins, without `FROM`.
    pub from: &'a str,
    /// The filter, without `WHERE`.
    pub filter: &'a str,
    /// The order, without `ORDER BY`; it must end with a unique column so that pages never overlap.
    pub order: &'a str,
}

/// One page of rows, and how many rows the filters match in all.
#[derive(Debug)]
pub(crate) struct Page {
    pub rows: Vec<Row>,
    pub total: i64,
}

impl Listing<'_> {
    /// The rows of `page` and the total, from the same snapshot.
    pub async fn page(
        &self,
        client: &Client,
        params: &[&(dyn ToSql + Sync)],
        page: PageRequest,
    ) -> Result<Page, tokio_postgres::Error> {
        let (limit, offset) = (page.limit, page.offset());
        let mut all: Vec<&(dyn ToSql + Sync)> = params.to_vec();
        all.extend([&limit as &(dyn ToSql + Sync), &offset]);
        let rows = client.query(&self.page_sql(params.len()), &all).await?;
        let total = match rows.first() {
            Some(first) => first.try_get::<_, i64>(TOTAL)?,
            None if offset == 0 => 0,
            None => client.query_one(&self.count_sql(), params).await?.try_get(0)?,
        };
        Ok(Page { rows, total })
    }

    fn page_sql(&self, params: usize) -> String {
        let Listing { columns, from, filter, order } = self;
        let (limit, offset) = (params + 1, params + 2);
        format!(
            "SELECT {columns}, count(*) OVER () AS {TOTAL} FROM {from} WHERE {filter} ORDER BY {order} \
             LIMIT ${limit} OFFSET ${offset}"
        )
    }

    fn count_sql(&self) -> String {
        let Listing { from, filter, .. } = self;
        format!("SELECT count(*) FROM {from} WHERE {filter}")
    }
}

/// The name of the count column every page row carries.
const TOTAL: &str = "total_results";

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: Listing<'static> = Listing {
        columns: "id, status",
        from: "order_view",
        filter: "($1::uuid IS NULL OR trainee_id = $1)",
        order: "placed_at DESC, id",
    };

    #[test]
    fn the_page_and_its_count_are_written_from_the_same_filter() {
        assert_eq!(
            ORDERS.page_sql(1),
            "SELECT id, status, count(*) OVER () AS total_results FROM order_view \
             WHERE ($1::uuid IS NULL OR trainee_id = $1) ORDER BY placed_at DESC, id LIMIT $2 OFFSET $3"
        );
        assert_eq!(ORDERS.count_sql(), "SELECT count(*) FROM order_view WHERE ($1::uuid IS NULL OR trainee_id = $1)");
    }
}
