//! `learnlog bench cluster`: `learnlog cluster` on this machine, loaded through HAProxy with ApacheBench (`ab`,
//! Debian's `apache2-utils`), as its users would load it. Catalogue reads with two query APIs behind the balancer,
//! then with one (the other taken out); commands (a trainee's lesson view, decided by the whole pipeline; after the
//! first it appends nothing) with two command APIs, then with one. Each pair is measured in the same run, and the
//! ratio says what a second process brings: on a machine of two cores, little, since every process shares them
//! with PostgreSQL and the balancer.

use std::net::TcpListener;
use std::time::Duration;

use api_contract::TokenKeys;

use super::mix::Mix;
use crate::cluster::Running;
use crate::config::Config;
use crate::error::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct ClusterBenchOptions {
    /// Requests per measurement.
    #[arg(long, default_value_t = 4000)]
    pub requests: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// What `ab` measured.
#[derive(Debug, Clone, Copy, Default)]
struct Measured {
    per_second: f64,
    p99_ms: f64,
    failed: u64,
}

pub async fn cluster(config: &Config, options: &ClusterBenchOptions) -> Result<String, Error> {
    let folder = std::env::temp_dir().join(format!("learnlog-bench-cluster-{}", uuid::Uuid::now_v7().simple()));
    let config = Config { data_dir: folder.clone(), database_url: None, sign_ups_per_hour: u32::MAX, ..config.clone() };
    let balancer = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let mut running = crate::cluster::start(&config, balancer).await?;
    let measured = measure(&mut running, &folder, options).await;
    running.stop().await;
    let _ = std::fs::remove_dir_all(&folder);
    measured
}

async fn measure(
    running: &mut Running,
    folder: &std::path::Path,
    options: &ClusterBenchOptions,
) -> Result<String, Error> {
    let base = format!("http://{}", running.layout().balancer);
    let keys = TokenKeys::new(&crate::secret::token_secret(None, folder)?)?;
    let mix = Mix::prepare(&base, &keys, 1, 20).await?;
    let (view, token) = mix.lesson_view();
    let catalogue = format!("{base}/api/v1/courses?page=1");
    let body = folder.join("empty.json");
    std::fs::write(&body, "")?;
    let mut report = format!(
        "learnlog cluster through HAProxy, ab -n {} -c {}: two processes of a pool, then one\n\
         workload | processes | requests/s | p99 ms | failed | two ÷ one\n",
        options.requests, options.concurrency
    );
    let cases = [
        ("catalogue reads", "query-api-2", vec![catalogue.clone()]),
        (
            "lesson views",
            "command-api-2",
            vec!["-m".into(), "POST".into(), "-H".into(), format!("Authorization: Bearer {token}"), view],
        ),
    ];
    for (name, second, target) in cases {
        // A short run first, so that both measurements find warm caches and open connections.
        ab(&target, options.requests / 10, options.concurrency).await?;
        let two = ab(&target, options.requests, options.concurrency).await?;
        running.take_out(second).await;
        // HAProxy finds it down after two failed checks, a second apart.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let one = ab(&target, options.requests, options.concurrency).await?;
        running.bring_back(second).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        for (processes, measured) in [(2, two), (1, one)] {
            let ratio = match processes {
                1 => String::new(),
                _ => format!("{:.2}x", two.per_second / one.per_second.max(f64::EPSILON)),
            };
            report.push_str(&format!(
                "{name} | {processes} | {:.0} | {:.0} | {} | {ratio}\n",
                measured.per_second, measured.p99_ms, measured.failed
            ));
        }
    }
    Ok(report)
}

/// Runs `ab` against the last of `arguments` (the URL), with the others before it.
async fn ab(arguments: &[String], requests: usize, concurrency: usize) -> Result<Measured, Error> {
    let output = tokio::process::Command::new("ab")
        .args(["-q", "-k", "-n", &requests.max(1).to_string(), "-c", &concurrency.max(1).to_string()])
        .args(arguments)
        .output()
        .await
        .map_err(|error| {
            Error::Config(format!("ApacheBench (ab) does not run: {error}; apt-get install -y apache2-utils"))
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::Config(format!("ab failed: {}{text}", String::from_utf8_lossy(&output.stderr))));
    }
    Ok(parse_ab(&text))
}

/// Requests per second, the 99th percentile and the failed (or non-2xx) requests of `ab`'s report.
fn parse_ab(text: &str) -> Measured {
    let number = |prefix: &str| -> Option<f64> {
        let line = text.lines().find(|line| line.trim_start().starts_with(prefix))?;
        line.trim_start()[prefix.len()..].split_whitespace().next()?.parse().ok()
    };
    let failed = number("Failed requests:").unwrap_or(0.0) + number("Non-2xx responses:").unwrap_or(0.0);
    Measured {
        per_second: number("Requests per second:").unwrap_or(0.0),
        p99_ms: number("99%").unwrap_or(0.0),
        failed: failed as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ab_s_report_is_read() {
        let report = "Complete requests:      4000\nFailed requests:        2\nNon-2xx responses:      3\n\
            Requests per second:    1234.56 [#/sec] (mean)\n  95%     20\n  99%     31\n 100%     45 (longest request)\n";
        let measured = parse_ab(report);
        assert_eq!((measured.per_second, measured.p99_ms, measured.failed), (1234.56, 31.0, 5));
    }
}
