//! The Enrollment decider under random command sequences (the trainee learning, the course's lessons changing,
//! admins, sagas and retries), each event checked against the enrolment just before it: progress stays within
//! 0 to 100 and follows R8, learning needs an active enrolment, three exam attempts at most (D6), completion and
//! its certificate once and only at 100 % with the exam passed (D1), and one refund request ever, decided once and
//! completed at most once (R4, R5, D2, D5, D9).

use proptest::prelude::*;

use super::*;
use crate::course_content::{Exercise, Lesson, Section};
use crate::given::then;

const TRAINEE: Uuid = Uuid::from_u128(1);
const COURSE: Uuid = Uuid::from_u128(2);
const EXERCISE: Uuid = Uuid::from_u128(40);
/// The lessons the course may have, now or after its content changed; 29 is never one of them.
const LESSONS: [u128; 5] = [20, 21, 22, 23, 24];
const EXAM: [u128; 3] = [60, 61, 62];

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// Enough cases to find a slip, few enough for the fast tier; no regression files are written.
fn config() -> ProptestConfig {
    ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() }
}

/// A question with three options whose answer is option 1.
fn question(n: u128) -> Answerable {
    Answerable { id: id(n), options: 3, answer_index: 1 }
}

/// The course with `lessons`, one exercise of questions 41 and 42, and the exam if it has one.
fn content(lessons: &[u128], exam: bool) -> Content {
    let lessons = lessons.iter().map(|&n| Lesson { id: id(n), minutes: 5, video_url: String::new() }).collect();
    let exercise = Exercise { id: EXERCISE, questions: vec![question(41), question(42)] };
    let exam = if exam { EXAM.iter().map(|&n| question(n)).collect() } else { Vec::new() };
    Content { sections: vec![Section { id: id(10), lessons, exercises: vec![exercise] }], exam, ..Content::default() }
}

#[derive(Debug, Clone)]
enum Step {
    Enroll {
        source: EnrollmentSource,
        course: CourseStatus,
    },
    /// The course's lessons are now these; Saga 8 recomputes the progress.
    ChangeLessons(Vec<u128>),
    View(u128),
    Recompute,
    Open,
    Answer {
        question: u128,
        answer_index: u32,
    },
    Exam(BTreeMap<Uuid, u32>),
    Reveal,
    Email {
        auto: bool,
        minutes_later: i64,
    },
    Revoke(RevocationReason),
    RequestRefund {
        individual: bool,
        reason: &'static str,
    },
    DecideRefund(RefundDecision),
    /// The refund saga's last step, for the enrolment's request or another one.
    CompleteRefund {
        of_the_request: bool,
    },
    FollowUp {
        by_admin: bool,
    },
}

fn source() -> impl Strategy<Value = EnrollmentSource> {
    prop_oneof![
        3 => (1..=2_u128).prop_map(|order| EnrollmentSource::Purchase {
            order_id: id(order),
            price_cents: order as i64 * 1_000 + 999,
        }),
        1 => Just(EnrollmentSource::AdminGrant { admin_id: id(7) }),
        1 => Just(EnrollmentSource::CorporateGrant { request_id: id(8) }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let course = prop_oneof![
        6 => Just(CourseStatus::Published),
        1 => Just(CourseStatus::Retired),
        1 => Just(CourseStatus::Deleted),
        1 => Just(CourseStatus::Missing),
    ];
    let revocation = prop_oneof![
        Just(RevocationReason::AdminAction { admin_id: id(7) }),
        Just(RevocationReason::CourseDeleted),
        Just(RevocationReason::Refunded { refund_id: id(500) }),
    ];
    let decision = prop_oneof![
        2 => Just(RefundDecision::Acknowledge),
        3 => Just(RefundDecision::Approve),
        1 => Just(RefundDecision::Reject { reason: "Seen too much".to_owned() }),
        1 => Just(RefundDecision::Reject { reason: " ".to_owned() }),
    ];
    let answers = prop::collection::btree_map(prop::sample::select(vec![60, 61, 62, 69]).prop_map(id), 0..4_u32, 0..4);
    prop_oneof![
        3 => (source(), course).prop_map(|(source, course)| Step::Enroll { source, course }),
        1 => prop::sample::subsequence(LESSONS.to_vec(), 0..=LESSONS.len()).prop_map(Step::ChangeLessons),
        8 => prop::sample::select(vec![20, 21, 22, 23, 24, 29]).prop_map(Step::View),
        1 => Just(Step::Recompute),
        1 => Just(Step::Open),
        2 => (prop::sample::select(vec![41, 42, 49]), 0..4_u32)
            .prop_map(|(question, answer_index)| Step::Answer { question, answer_index }),
        3 => answers.prop_map(Step::Exam),
        1 => Just(Step::Reveal),
        2 => (any::<bool>(), 0..15_i64).prop_map(|(auto, minutes_later)| Step::Email { auto, minutes_later }),
        1 => revocation.prop_map(Step::Revoke),
        3 => (prop::bool::weighted(0.9), prop::sample::select(vec!["Not for me", "Not for me", " "]))
            .prop_map(|(individual, reason)| Step::RequestRefund { individual, reason }),
        4 => decision.prop_map(Step::DecideRefund),
        3 => prop::bool::weighted(0.8).prop_map(|of_the_request| Step::CompleteRefund { of_the_request }),
        1 => any::<bool>().prop_map(|by_admin| Step::FollowUp { by_admin }),
    ]
}

/// The decision on `step`, `None` when it is refused. `n` is the step's place in the history: certificate and
/// refund ids are new at each step, so that a second issue or request would show.
fn decided(enrollment: &Enrollment, content: &Content, step: Step, n: u128, now: OffsetDateTime) -> Option<Decided> {
    let (trainee_id, course_id) = (TRAINEE, COURSE);
    let learner = Learner { trainee_id, course_id, certificate_id: id(1_000 + n) };
    let learn = |command| decide_learning(enrollment, command).ok();
    let refund = |command| decide_refunds(enrollment, command).ok();
    match step {
        Step::Enroll { source, course } => {
            let course = Course { id: COURSE, owner: id(3), status: course, ..Course::default() };
            decide(enrollment, EnrolmentCommand::Enroll { course: &course, trainee_id, source }).ok()
        }
        Step::ChangeLessons(_) | Step::Recompute => learn(LearningCommand::RecomputeProgress { content, learner }),
        Step::View(lesson) => learn(LearningCommand::ViewLesson { content, learner, lesson_id: id(lesson) }),
        Step::Open => learn(LearningCommand::Open { trainee_id, course_id }),
        Step::Answer { question, answer_index } => learn(LearningCommand::AnswerExercise {
            content,
            trainee_id,
            course_id,
            exercise_id: EXERCISE,
            question_id: id(question),
            answer_index,
        }),
        Step::Exam(answers) => learn(LearningCommand::SubmitExam { content, learner, answers }),
        Step::Reveal => learn(LearningCommand::RevealExamAnswers { trainee_id, course_id }),
        Step::Email { auto, .. } => learn(LearningCommand::EmailCertificate { trainee_id, course_id, auto, now }),
        Step::Revoke(reason) => learn(LearningCommand::Revoke { trainee_id, course_id, reason }),
        Step::RequestRefund { individual, reason } => {
            let refund_id = id(500 + n);
            refund(RefundCommand::Request { trainee_id, course_id, refund_id, individual, reason })
        }
        Step::DecideRefund(decision) => refund(RefundCommand::Decide { trainee_id, course_id, decision, mail: None }),
        Step::CompleteRefund { of_the_request } => {
            let requested = enrollment.refund.as_ref().map(|refund| refund.refund_id);
            let refund_id = requested.filter(|_| of_the_request).unwrap_or(id(499));
            refund(RefundCommand::Complete { trainee_id, course_id, refund_id })
        }
        Step::FollowUp { by_admin } => {
            let author = match by_admin {
                true => events::Actor { user_id: id(7), role: events::Role::Admin },
                false => events::Actor { user_id: TRAINEE, role: events::Role::IndividualTrainee },
            };
            refund(RefundCommand::FollowUp { trainee_id, course_id, author: &author, text: "Any news?" })
        }
    }
}

/// What the whole history has recorded, for the rules that span it.
#[derive(Debug, Default)]
struct Tally {
    refund_requests: u32,
    refund_decisions: u32,
    refunds_completed: u32,
    completions: u32,
    certificates: u32,
    automatic_emails: u32,
}

/// R8: trunc(seen / lessons x 100) over the lessons the course has now.
fn share_seen(visited: &HashSet<Uuid>, content: &Content) -> u8 {
    let lessons = content.lesson_ids();
    let seen = lessons.iter().filter(|lesson| visited.contains(lesson)).count();
    if lessons.is_empty() { 0 } else { (seen * 100 / lessons.len()) as u8 }
}

/// Checks one event against the enrolment just before it.
fn recorded(before: &Enrollment, event: &Event, content: &Content, tally: &mut Tally) -> Result<(), TestCaseError> {
    let active = before.status == EnrollmentStatus::Active;
    let refund = before.refund.as_ref().map(|refund| refund.status);
    match event {
        Event::TraineeEnrolled(_) => prop_assert!(!active, "enrolled twice"),
        Event::EnrollmentRevoked(revoked) => {
            prop_assert!(active, "revoked while {:?}", before.status);
            // R7, D2: a refund takes back the access its order bought, and no other.
            let refunded = match revoked.reason {
                RevocationReason::Refunded { refund_id } => before.refund.as_ref().filter(|r| r.refund_id == refund_id),
                _ => None,
            };
            if let Some(request) = refunded {
                let bought = matches!(before.source,
                    Some(EnrollmentSource::Purchase { order_id, .. }) if order_id == request.order_id);
                prop_assert!(
                    bought,
                    "the refund of order {} revokes the access of {:?}",
                    request.order_id,
                    before.source
                );
            }
        }
        Event::LessonViewed(viewed) => {
            prop_assert!(active && !before.visited.contains(&viewed.lesson_id));
            prop_assert!(content.lesson_ids().contains(&viewed.lesson_id));
            let mut visited = before.visited.clone();
            visited.insert(viewed.lesson_id);
            prop_assert_eq!(viewed.progress, share_seen(&visited, content).max(before.progress), "R8, never lower");
        }
        Event::ProgressRecomputed(recomputed) => {
            prop_assert!(active);
            prop_assert_eq!(recomputed.progress, share_seen(&before.visited, content), "Saga 8");
        }
        Event::CourseOpened(_) | Event::ExerciseAnswerSubmitted(_) | Event::ExamAnswersRevealed(_) => {
            prop_assert!(active, "{} while {:?}", event.event_type(), before.status);
        }
        Event::ExamSubmitted(exam) => {
            prop_assert!(active && !before.answers_revealed && !content.exam.is_empty());
            prop_assert_eq!(exam.attempt, before.exam_attempts + 1);
            prop_assert!(exam.attempt <= MAX_EXAM_ATTEMPTS, "attempt {}", exam.attempt);
            prop_assert!(exam.grade <= 100 && exam.passed == (exam.grade >= PASSING_GRADE));
            let best = before.best_grade.map_or(exam.grade, |best| best.max(exam.grade));
            prop_assert_eq!(exam.best_grade, best, "D6: the best grade counts");
        }
        Event::CourseCompleted(_) => {
            tally.completions += 1;
            let passed = content.exam.is_empty() || before.best_grade.is_some_and(|grade| grade >= PASSING_GRADE);
            prop_assert!(before.progress == 100 && passed && !before.completed, "D1: {:?}", before);
        }
        Event::CertificateIssued(_) => {
            tally.certificates += 1;
            prop_assert!(before.completed && before.certificate_id.is_none());
        }
        Event::CertificateEmailRequested(email) => {
            prop_assert!(before.certificate_id == Some(email.certificate_id));
            tally.automatic_emails += u32::from(email.auto);
        }
        Event::RefundRequested(requested) => {
            tally.refund_requests += 1;
            let bought = matches!(before.source,
                Some(EnrollmentSource::Purchase { price_cents, .. }) if price_cents == requested.paid_cents);
            prop_assert!(active && bought && refund.is_none(), "R5: {:?}", before);
            prop_assert!(
                requested.progress_at_request == before.progress && before.progress < REFUND_PROGRESS_LIMIT,
                "R4"
            );
        }
        Event::RefundRequestAcknowledged(_) => prop_assert_eq!(refund, Some(RefundStatus::Requested)),
        Event::RefundApproved(approved) => {
            tally.refund_decisions += 1;
            prop_assert!(matches!(refund, Some(RefundStatus::Requested | RefundStatus::Pending)), "D9: {:?}", refund);
            prop_assert_eq!(Some(approved.paid_cents), before.refund.as_ref().map(|refund| refund.paid_cents));
            prop_assert_eq!(approved.refund_cents, approved.paid_cents * 70 / 100, "D5");
        }
        Event::RefundRejected(_) => {
            tally.refund_decisions += 1;
            prop_assert!(matches!(refund, Some(RefundStatus::Requested | RefundStatus::Pending)), "D9: {:?}", refund);
        }
        Event::RefundCompleted(_) => {
            tally.refunds_completed += 1;
            prop_assert_eq!(refund, Some(RefundStatus::Approved));
        }
        Event::RefundRequestFollowUpAdded(_) => prop_assert!(refund.is_some()),
        other => prop_assert!(false, "an enrolment records {}", other.event_type()),
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_enrolment_keeps_its_rules_whatever_happens_to_it(
        lessons in prop::sample::subsequence(LESSONS.to_vec(), 0..=LESSONS.len()),
        exam in any::<bool>(),
        steps in prop::collection::vec(step(), 0..60),
    ) {
        let mut content = content(&lessons, exam);
        let mut enrollment = Enrollment::default();
        let mut tally = Tally::default();
        let mut now = time::macros::datetime!(2026-11-30 12:00 UTC);
        for (n, step) in (0_u128..).zip(steps) {
            match &step {
                Step::ChangeLessons(lessons) => content = self::content(lessons, exam),
                Step::Email { minutes_later, .. } => now += Duration::minutes(*minutes_later),
                _ => {}
            }
            // A refused command records nothing: the enrolment stays the fold of what was accepted.
            let Some(decided) = decided(&enrollment, &content, step, n, now) else { continue };
            for event in &decided.events {
                recorded(&enrollment, event, &content, &mut tally)?;
                enrollment = then(enrollment, std::slice::from_ref(event));
            }
            prop_assert!(enrollment.progress <= 100, "progress {}", enrollment.progress);
            prop_assert!(enrollment.exam_attempts <= MAX_EXAM_ATTEMPTS);
            prop_assert!(!enrollment.completed || enrollment.certificate_id.is_some(), "completed, no certificate");
            let Tally { refund_requests, refund_decisions, refunds_completed, completions, certificates, .. } = tally;
            // D1, R10: one completion, one certificate, one automatic email, whatever the retries.
            prop_assert!(completions <= 1 && certificates <= 1 && tally.automatic_emails <= 1, "{:?}", tally);
            // R5: one request ever, decided once, refunded at most once.
            prop_assert!(refund_requests <= 1 && refund_decisions <= 1 && refunds_completed <= 1, "{:?}", tally);
            // A refund takes away the access its own order bought, and only that.
            if decided.events.iter().any(|event| matches!(event, Event::RefundCompleted(_))) {
                let refunded = enrollment.refund.as_ref().map(|refund| refund.order_id);
                let bought_by_refunded = matches!(
                    enrollment.source,
                    Some(EnrollmentSource::Purchase { order_id, .. }) if Some(order_id) == refunded
                );
                prop_assert!(!(enrollment.is_active() && bought_by_refunded), "a refunded enrolment keeps its access");
            }
        }
    }
}
