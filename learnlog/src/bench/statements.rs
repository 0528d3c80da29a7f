//! A benchmark's profile of its SQL (`--statements`): `pg_stat_statements` over one run, the statements of the
//! run's database by total time, planning included, each with its share of the whole. The cluster loads the
//! extension only for such a run (`BenchCluster::start_profiled`): it costs a little on every statement.

use crate::error::Error;

/// Creates the extension in `url`'s database if it is not there, and forgets what was counted so far.
pub(crate) async fn reset(url: &str) -> Result<(), Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()")
        .await?;
    Ok(())
}

/// The `limit` statements of `url`'s database that took the most time since [`reset`], as a table.
pub(crate) async fn top(url: &str, title: &str, limit: i64) -> Result<String, Error> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let rows = client
        .query(
            "WITH here AS (SELECT s.* FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
                 WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat_statements%'), \
             total AS (SELECT sum(total_exec_time + total_plan_time) AS ms FROM here) \
             SELECT calls, (total_exec_time + total_plan_time)::float8 AS ms, \
                 (100 * (total_exec_time + total_plan_time) / NULLIF(total.ms, 0))::float8 AS share, \
                 ((total_exec_time + total_plan_time) / NULLIF(calls, 0))::float8 AS mean_ms, \
                 (total_plan_time / NULLIF(total_exec_time + total_plan_time, 0) * 100)::float8 AS planning, \
                 rows, query \
             FROM here, total ORDER BY ms DESC LIMIT $1",
            &[&limit],
        )
        .await?;
    let mut table = format!(
        "{title}: statements by total time (pg_stat_statements, planning included)\n\
         calls   | total ms | share | mean ms | planning | rows    | statement\n"
    );
    for row in rows {
        let query: String = row.try_get("query")?;
        let query: String = query.split_whitespace().collect::<Vec<_>>().join(" ");
        let shown: String = query.chars().take(110).collect();
        table.push_str(&format!(
            "{:>7} | {:>8.0} | {:>4.1}% | {:>7.3} | {:>7.1}% | {:>7} | {shown}\n",
            row.try_get::<_, i64>("calls")?,
            row.try_get::<_, f64>("ms")?,
            row.try_get::<_, Option<f64>>("share")?.unwrap_or(0.0),
            row.try_get::<_, Option<f64>>("mean_ms")?.unwrap_or(0.0),
            row.try_get::<_, Option<f64>>("planning")?.unwrap_or(0.0),
            row.try_get::<_, i64>("rows")?,
        ));
    }
    Ok(table)
}
