//! A minute of `learnlog bench soak`: every role under a steady mix of people's requests (catalogue reads,
//! their own courses, lesson views, orders by wallet and by card on the payments sandbox's page, sign-ups,
//! reviews, refunds, exams), then its end checks. Speed is not asserted here; what must hold is that nothing
//! failed, every order was fulfilled and every approved refund completed exactly once, no follower parked a
//! dead letter, and the live read models equal a rebuild from the first event.

use learnlog::bench::soak::{SoakOptions, soak};
use learnlog::config::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_of_the_whole_journey_fulfils_every_order_once_and_leaves_read_models_equal_to_a_rebuild() {
    let data_dir = std::env::temp_dir().join(format!("learnlog-soak-{}", uuid::Uuid::now_v7().simple()));
    let config = Config { data_dir: data_dir.clone(), ..Config::default() };
    let options = SoakOptions { minutes: 1, people: 8, every_ms: 400 };
    let soak = soak(&config, &options, &mut |text| eprint!("{text}")).await.expect("the soak runs");
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(soak.orders > 0 && soak.refunds > 0, "the people ordered and got refunds: {}", soak.report);
    assert!(soak.exams > 0, "the people took the exam: {}", soak.report);
    assert!(soak.passed, "{}", soak.report);
}
