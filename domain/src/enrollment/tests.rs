//! Given an enrolment's events, when a command, then events or a refusal.

use super::certificates::email_certificate;
use super::exams::{reveal_exam_answers, submit_exam};
use super::learning::{answer_exercise, open_course, recompute_progress, view_lesson};
use super::refunds::{complete_refund, decide_request, request_refund};
use super::*;
use crate::course_content::{Exercise, Lesson, Section};
use crate::effects::{Decided, Effect};
use crate::given::when;

const TRAINEE: Uuid = Uuid::from_u128(1);
const COURSE: Uuid = Uuid::from_u128(2);
const CERTIFICATE: Uuid = Uuid::from_u128(77);
const EXERCISE: Uuid = Uuid::from_u128(40);
const LEARNER: Learner = Learner { trainee_id: TRAINEE, course_id: COURSE, certificate_id: CERTIFICATE };

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn course(status: CourseStatus) -> Course {
    Course { id: COURSE, owner: Uuid::from_u128(3), status, ..Course::default() }
}

fn purchase(order: u128) -> EnrollmentSource {
    EnrollmentSource::Purchase { order_id: Uuid::from_u128(order), price_cents: 1999 }
}

/// A question with three options whose answer is option 1.
fn question(n: u128) -> Answerable {
    Answerable { id: id(n), options: 3, answer_index: 1 }
}

/// A course of `lessons`, one exercise of questions 41 and 42, and an exam of `exam` questions.
fn content(lessons: &[u128], exam: &[u128]) -> Content {
    let lessons = lessons.iter().map(|&n| Lesson { id: id(n), minutes: 5, video_url: String::new() }).collect();
    let exercise = Exercise { id: EXERCISE, questions: vec![question(41), question(42)] };
    Content {
        sections: vec![Section { id: id(10), lessons, exercises: vec![exercise] }],
        exam: exam.iter().map(|&n| question(n)).collect(),
        ..Content::default()
    }
}

fn course_of_one() -> Content {
    content(&[20], &[])
}

fn enrolled() -> Enrollment {
    Enrollment::from_events(
        &enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled"),
    )
}

/// The enrolment after `events`.
fn then(enrollment: &Enrollment, events: &[Event]) -> Enrollment {
    crate::given::then(enrollment.clone(), events)
}

fn types(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(Event::event_type).collect()
}

fn exam(answers: &[(u128, u32)]) -> BTreeMap<Uuid, u32> {
    answers.iter().map(|&(question, answer)| (id(question), answer)).collect()
}

#[test]
fn the_deciders_take_each_command_to_its_rule() {
    let course = course(CourseStatus::Published);
    let enroll = EnrolmentCommand::Enroll { course: &course, trainee_id: TRAINEE, source: purchase(9) };
    assert_eq!(when(decide(&Enrollment::default(), enroll)), enroll_rule(&Enrollment::default(), &course));
    let enrollment = enrolled();
    let content = course_of_one();
    let view = LearningCommand::ViewLesson { content: &content, learner: LEARNER, lesson_id: id(20) };
    assert_eq!(when(decide_learning(&enrollment, view)), view_lesson(&enrollment, &content, LEARNER, id(20)));
    let open = LearningCommand::Open { trainee_id: TRAINEE, course_id: COURSE };
    assert_eq!(when(decide_learning(&enrollment, open)), open_course(&enrollment, TRAINEE, COURSE));
    let request = RefundCommand::Request {
        trainee_id: TRAINEE,
        course_id: COURSE,
        refund_id: id(50),
        individual: true,
        reason: "Not for me",
    };
    let by_rule = request_refund(&enrollment, (TRAINEE, COURSE), id(50), true, "Not for me");
    let recorded = Effect::RefundRequest { refund_id: id(50), trainee_id: TRAINEE, course_id: COURSE };
    assert_eq!(decide_refunds(&enrollment, request), by_rule.map(|events| Decided::with(events, [recorded])));
}

fn enroll_rule(enrollment: &Enrollment, course: &Course) -> Result<Vec<Event>, EnrollmentRejection> {
    enroll(enrollment, course, TRAINEE, purchase(9))
}

#[test]
fn a_purchase_enrols_once_and_the_same_purchase_again_changes_nothing() {
    let events =
        enroll(&Enrollment::default(), &course(CourseStatus::Published), TRAINEE, purchase(9)).expect("enrolled");
    let Event::TraineeEnrolled(enrolled) = &events[0] else { panic!("another event") };
    assert_eq!((enrolled.course_id, enrolled.instructor_id), (Uuid::from_u128(2), Uuid::from_u128(3)));
    let enrollment = Enrollment::from_events(&events);
    assert!(enrollment.is_active());
    assert_eq!(enroll(&enrollment, &course(CourseStatus::Published), TRAINEE, purchase(9)), Ok(Vec::new()));
}

#[test]
fn a_second_order_or_a_grant_for_an_owned_course_is_refused() {
    let enrollment = enrolled();
    let published = course(CourseStatus::Published);
    assert_eq!(enroll(&enrollment, &published, TRAINEE, purchase(10)), Err(EnrollmentRejection::AlreadyEnrolled));
    let grant = EnrollmentSource::AdminGrant { admin_id: Uuid::from_u128(4) };
    assert_eq!(enroll(&enrollment, &published, TRAINEE, grant), Err(EnrollmentRejection::AlreadyEnrolled));
}

#[test]
fn a_lesson_counts_once_and_progress_is_the_share_of_lessons_seen() {
    let course = content(&[20, 21, 22], &[]);
    let enrolled = enrolled();
    let first = view_lesson(&enrolled, &course, LEARNER, id(20)).expect("viewed");
    assert!(matches!(&first[..], [Event::LessonViewed(v)] if v.progress == 33), "trunc(1/3 x 100)");
    let seen = then(&enrolled, &first);
    assert_eq!(view_lesson(&seen, &course, LEARNER, id(20)), Ok(Vec::new()), "a second view counts nothing");
    let second = view_lesson(&seen, &course, LEARNER, id(21)).expect("viewed");
    assert!(matches!(&second[..], [Event::LessonViewed(v)] if v.progress == 66));
    assert_eq!(view_lesson(&seen, &course, LEARNER, id(99)), Err(LearningRejection::LessonNotFound));
    assert_eq!(view_lesson(&Enrollment::default(), &course, LEARNER, id(20)), Err(LearningRejection::NotEnrolled));
    assert_eq!(open_course(&Enrollment::default(), TRAINEE, COURSE), Err(LearningRejection::NotEnrolled));
    assert!(open_course(&enrolled, TRAINEE, COURSE).is_ok());
}

#[test]
fn progress_never_goes_down_on_a_view_even_after_lessons_were_added() {
    let mut enrollment = enrolled();
    enrollment.visited = HashSet::from([id(20)]);
    enrollment.progress = 100;
    enrollment.completed = true;
    let more = content(&[20, 21, 22, 23], &[]);
    let viewed = view_lesson(&enrollment, &more, LEARNER, id(21)).expect("viewed");
    assert!(matches!(&viewed[..], [Event::LessonViewed(v)] if v.progress == 100), "and no second completion");
    assert_eq!(progress_of(&HashSet::from([id(20), id(21)]), &more.lesson_ids()), 50);
    assert_eq!(progress_of(&HashSet::from([id(20)]), &[]), 0);
}

#[test]
fn progress_is_recomputed_over_the_lessons_that_exist_now_and_only_when_it_changes() {
    let mut enrollment = enrolled();
    enrollment.visited = HashSet::from([id(20)]);
    enrollment.progress = 50;
    let removed = recompute_progress(&enrollment, &content(&[20], &[]), LEARNER);
    assert_eq!(
        types(&removed),
        ["ProgressRecomputed", "CourseCompleted", "CertificateIssued"],
        "the unseen lesson went"
    );
    assert!(matches!(&removed[0], Event::ProgressRecomputed(p) if p.progress == 100));
    let added = recompute_progress(&enrollment, &content(&[20, 21, 22], &[]), LEARNER);
    assert!(matches!(&added[..], [Event::ProgressRecomputed(p)] if p.progress == 33), "lessons were added");
    assert_eq!(recompute_progress(&enrollment, &content(&[20, 21], &[]), LEARNER), Vec::new(), "unchanged");
    assert_eq!(recompute_progress(&Enrollment::default(), &content(&[20], &[]), LEARNER), Vec::new());
}

#[test]
fn a_certificate_issued_stays_when_lessons_are_added_later() {
    let course = content(&[20], &[]);
    let done = then(&enrolled(), &view_lesson(&enrolled(), &course, LEARNER, id(20)).expect("viewed"));
    assert_eq!(done.certificate_id, Some(CERTIFICATE));
    let more = recompute_progress(&done, &content(&[20, 21], &[]), LEARNER);
    let after = then(&done, &more);
    assert_eq!((after.progress, after.completed, after.certificate_id), (50, true, Some(CERTIFICATE)));
    let all = view_lesson(&after, &content(&[20, 21], &[]), LEARNER, id(21)).expect("viewed");
    assert_eq!(types(&all), ["LessonViewed"], "completed once");
}

#[test]
fn the_last_lesson_of_a_course_without_an_exam_completes_it_and_issues_the_certificate() {
    let course = content(&[20, 21], &[]);
    let half = then(&enrolled(), &view_lesson(&enrolled(), &course, LEARNER, id(20)).expect("viewed"));
    let last = view_lesson(&half, &course, LEARNER, id(21)).expect("viewed");
    assert_eq!(types(&last), ["LessonViewed", "CourseCompleted", "CertificateIssued"]);
    assert!(matches!(&last[2], Event::CertificateIssued(c) if c.certificate_id == CERTIFICATE));
}

#[test]
fn with_an_exam_completion_waits_for_a_passing_grade_whichever_comes_last() {
    let course = content(&[20], &[60, 61]);
    let viewed = then(&enrolled(), &view_lesson(&enrolled(), &course, LEARNER, id(20)).expect("viewed"));
    assert!(!viewed.completed, "progress 100 but the exam is not passed");
    let failed = submit_exam(&viewed, &course, LEARNER, exam(&[(60, 0), (61, 2)])).expect("attempt");
    assert_eq!(types(&failed), ["ExamSubmitted"]);
    assert!(matches!(&failed[0], Event::ExamSubmitted(e) if e.grade == 0 && !e.passed && e.attempt == 1));
    let once = then(&viewed, &failed);
    let passed = submit_exam(&once, &course, LEARNER, exam(&[(60, 1)])).expect("attempt");
    assert_eq!(types(&passed), ["ExamSubmitted", "CourseCompleted", "CertificateIssued"]);
    assert!(matches!(&passed[0], Event::ExamSubmitted(e) if e.grade == 50 && e.passed && e.best_grade == 50));

    // The exam passed first, the last lesson after.
    let exam_first = submit_exam(&enrolled(), &course, LEARNER, exam(&[(60, 1), (61, 1)])).expect("attempt");
    assert_eq!(types(&exam_first), ["ExamSubmitted"], "progress is 0");
    let then_view = view_lesson(&then(&enrolled(), &exam_first), &course, LEARNER, id(20)).expect("viewed");
    assert_eq!(types(&then_view), ["LessonViewed", "CourseCompleted", "CertificateIssued"]);
}

#[test]
fn three_attempts_at_most_and_the_best_grade_counts() {
    let course = content(&[20], &[60, 61, 62, 63]);
    let mut enrollment = enrolled();
    for (answers, grade, best) in [(&[(60, 1), (61, 1)][..], 50, 50), (&[(60, 1)][..], 25, 50), (&[][..], 0, 50)] {
        let attempt = submit_exam(&enrollment, &course, LEARNER, exam(answers)).expect("attempt");
        assert!(matches!(&attempt[0], Event::ExamSubmitted(e) if e.grade == grade && e.best_grade == best));
        enrollment = then(&enrollment, &attempt);
    }
    assert_eq!(enrollment.exam_attempts, 3);
    assert_eq!(submit_exam(&enrollment, &course, LEARNER, exam(&[])), Err(LearningRejection::AttemptsExhausted));
}

#[test]
fn exam_answers_are_keyed_by_question_and_must_be_options_of_it() {
    let course = content(&[20], &[60, 61]);
    let enrollment = enrolled();
    assert_eq!(
        submit_exam(&enrollment, &course, LEARNER, exam(&[(99, 1)])),
        Err(LearningRejection::NotAnExamQuestion { question_id: id(99) })
    );
    assert_eq!(
        submit_exam(&enrollment, &course, LEARNER, exam(&[(61, 3)])),
        Err(LearningRejection::NotAnOption { question_id: id(61) })
    );
    assert_eq!(submit_exam(&enrollment, &content(&[20], &[]), LEARNER, exam(&[])), Err(LearningRejection::NoExam));
    assert_eq!(submit_exam(&Enrollment::default(), &course, LEARNER, exam(&[])), Err(LearningRejection::NotEnrolled));
}

#[test]
fn answers_are_revealed_only_after_an_attempt_and_end_the_attempts() {
    let course = content(&[20], &[60]);
    let enrollment = enrolled();
    assert_eq!(reveal_exam_answers(&enrollment, TRAINEE, COURSE), Err(LearningRejection::NotAttempted));
    let tried = then(&enrollment, &submit_exam(&enrollment, &course, LEARNER, exam(&[(60, 0)])).expect("attempt"));
    let revealed = reveal_exam_answers(&tried, TRAINEE, COURSE).expect("revealed");
    assert_eq!(types(&revealed), ["ExamAnswersRevealed"]);
    let shown = then(&tried, &revealed);
    assert_eq!(reveal_exam_answers(&shown, TRAINEE, COURSE), Ok(Vec::new()), "once is enough");
    assert_eq!(submit_exam(&shown, &course, LEARNER, exam(&[(60, 1)])), Err(LearningRejection::AnswersRevealed));
}

#[test]
fn an_exercise_answer_says_whether_it_is_right_and_must_be_an_option() {
    let course = content(&[20], &[]);
    let enrollment = enrolled();
    let right = answer_exercise(&enrollment, &course, TRAINEE, COURSE, (EXERCISE, id(41)), 1).expect("answered");
    assert!(matches!(&right[..], [Event::ExerciseAnswerSubmitted(a)] if a.correct));
    let wrong = answer_exercise(&enrollment, &course, TRAINEE, COURSE, (EXERCISE, id(41)), 0).expect("answered");
    assert!(matches!(&wrong[..], [Event::ExerciseAnswerSubmitted(a)] if !a.correct));
    assert!(!then(&enrollment, &[right, wrong].concat()).exercise_answers[&id(41)], "the last one counts");
    assert_eq!(
        answer_exercise(&enrollment, &course, TRAINEE, COURSE, (EXERCISE, id(41)), 3),
        Err(LearningRejection::NotAnOption { question_id: id(41) })
    );
    for unknown in [(EXERCISE, id(99)), (id(98), id(41))] {
        assert_eq!(
            answer_exercise(&enrollment, &course, TRAINEE, COURSE, unknown, 1),
            Err(LearningRejection::ExerciseNotFound)
        );
    }
    assert_eq!(
        answer_exercise(&Enrollment::default(), &course, TRAINEE, COURSE, (EXERCISE, id(41)), 1),
        Err(LearningRejection::NotEnrolled)
    );
}

#[test]
fn the_certificate_is_emailed_automatically_once_and_on_request_not_too_often() {
    let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
    let enrollment = enrolled();
    assert_eq!(email_certificate(&enrollment, TRAINEE, COURSE, true, now), Err(LearningRejection::NoCertificate));
    let course = content(&[20], &[]);
    let done = then(&enrollment, &view_lesson(&enrollment, &course, LEARNER, id(20)).expect("viewed"));
    let auto = email_certificate(&done, TRAINEE, COURSE, true, now).expect("emailed");
    assert!(matches!(&auto[..], [Event::CertificateEmailRequested(e)] if e.auto && e.certificate_id == CERTIFICATE));
    let emailed = then(&done, &auto);
    assert_eq!(email_certificate(&emailed, TRAINEE, COURSE, true, now), Ok(Vec::new()), "auto goes out once");
    let soon = now + Duration::minutes(9);
    assert!(matches!(
        email_certificate(&emailed, TRAINEE, COURSE, false, soon),
        Err(LearningRejection::EmailedRecently { retry_after_seconds: 60 })
    ));
    let later = now + CERTIFICATE_EMAIL_INTERVAL;
    let manual = email_certificate(&emailed, TRAINEE, COURSE, false, later).expect("emailed again");
    assert!(matches!(&manual[..], [Event::CertificateEmailRequested(e)] if !e.auto));
    assert_eq!(
        email_certificate(&Enrollment::default(), TRAINEE, COURSE, false, now),
        Err(LearningRejection::NotEnrolled)
    );
}

#[test]
fn a_revoked_enrolment_learns_nothing_more_keeps_its_certificate_and_may_be_enrolled_again() {
    let course = content(&[20, 21], &[]);
    let reason = RevocationReason::AdminAction { admin_id: id(5) };
    assert_eq!(revoke(&Enrollment::default(), TRAINEE, COURSE, reason.clone()), Err(LearningRejection::NotEnrolled));
    let revoked = then(&enrolled(), &revoke(&enrolled(), TRAINEE, COURSE, reason.clone()).expect("revoked"));
    assert_eq!(revoke(&revoked, TRAINEE, COURSE, reason), Ok(Vec::new()), "once");
    assert_eq!(view_lesson(&revoked, &course, LEARNER, id(20)), Err(LearningRejection::NotActive));
    assert_eq!(open_course(&revoked, TRAINEE, COURSE), Err(LearningRejection::NotActive));
    assert_eq!(submit_exam(&revoked, &content(&[20], &[60]), LEARNER, exam(&[])), Err(LearningRejection::NotActive));
    assert_eq!(recompute_progress(&revoked, &content(&[20], &[]), LEARNER), Vec::new());
    let again =
        enroll(&revoked, &self::course(CourseStatus::Published), TRAINEE, purchase(10)).expect("enrolled again");
    assert!(then(&revoked, &again).is_active());

    // A completed course stays completed through a revocation and a new enrolment: no second certificate.
    let done = then(&enrolled(), &view_lesson(&enrolled(), &course_of_one(), LEARNER, id(20)).expect("viewed"));
    let reason = RevocationReason::AdminAction { admin_id: id(5) };
    let gone = then(&done, &revoke(&done, TRAINEE, COURSE, reason).expect("revoked"));
    let back =
        then(&gone, &enroll(&gone, &self::course(CourseStatus::Published), TRAINEE, purchase(11)).expect("again"));
    assert_eq!((back.progress, back.certificate_id), (0, Some(CERTIFICATE)));
    assert_eq!(types(&view_lesson(&back, &course_of_one(), LEARNER, id(20)).expect("viewed")), ["LessonViewed"]);
}

const REFUND: Uuid = Uuid::from_u128(88);
const WHO: (Uuid, Uuid) = (TRAINEE, COURSE);

#[test]
fn a_refund_is_asked_for_once_by_an_individual_trainee_before_half_of_a_bought_course() {
    let enrollment = enrolled();
    let asked = request_refund(&enrollment, WHO, REFUND, true, " Not for me ").expect("requested");
    assert!(matches!(&asked[..], [Event::RefundRequested(r)]
        if r.paid_cents == 1999 && r.order_id == id(9) && r.progress_at_request == 0 && r.reason.text() == Some("Not for me")));
    let requested = then(&enrollment, &asked);
    assert_eq!(request_refund(&requested, WHO, id(89), true, "again"), Err(RefundRejection::AlreadyRequested));
    assert_eq!(request_refund(&enrollment, WHO, REFUND, false, "x"), Err(RefundRejection::NotAnIndividualTrainee));
    assert!(matches!(request_refund(&enrollment, WHO, REFUND, true, "  "), Err(RefundRejection::InvalidReason(_))));

    let mut half = enrollment.clone();
    half.progress = 50;
    assert_eq!(request_refund(&half, WHO, REFUND, true, "x"), Err(RefundRejection::AfterHalf { progress: 50 }));
    half.progress = 49;
    assert!(request_refund(&half, WHO, REFUND, true, "x").is_ok(), "strictly below half");

    let grant = EnrollmentSource::AdminGrant { admin_id: id(5) };
    let granted = Enrollment::from_events(
        &enroll(&Enrollment::default(), &self::course(CourseStatus::Published), TRAINEE, grant).expect("granted"),
    );
    assert_eq!(request_refund(&granted, WHO, REFUND, true, "x"), Err(RefundRejection::NotPurchased));
    assert_eq!(
        request_refund(&Enrollment::default(), WHO, REFUND, true, "x"),
        Err(RefundRejection::Learning(LearningRejection::NotEnrolled))
    );
}

#[test]
fn an_admin_acknowledges_then_approves_or_rejects_once_and_the_saga_completes_once() {
    let enrollment = enrolled();
    let requested = then(&enrollment, &request_refund(&enrollment, WHO, REFUND, true, "x").expect("requested"));
    assert_eq!(decide_request(&enrollment, WHO, RefundDecision::Approve), Err(RefundRejection::NoRequest));
    let seen = then(&requested, &decide_request(&requested, WHO, RefundDecision::Acknowledge).expect("seen"));
    assert_eq!(decide_request(&seen, WHO, RefundDecision::Acknowledge), Ok(Vec::new()), "seen already");
    let approved = decide_request(&seen, WHO, RefundDecision::Approve).expect("approved");
    assert!(matches!(&approved[..], [Event::RefundApproved(a)] if a.refund_cents == 1399 && a.paid_cents == 1999));
    let approved = then(&seen, &approved);
    for decision in
        [RefundDecision::Approve, RefundDecision::Reject { reason: "no".into() }, RefundDecision::Acknowledge]
    {
        assert_eq!(decide_request(&approved, WHO, decision), Err(RefundRejection::AlreadyDecided), "final");
    }
    let completed = complete_refund(&approved, WHO, REFUND).expect("completed");
    assert_eq!(types(&completed), ["EnrollmentRevoked", "RefundCompleted"]);
    let done = then(&approved, &completed);
    assert!(!done.is_active());
    assert_eq!(complete_refund(&done, WHO, REFUND), Ok(Vec::new()), "once");
    assert_eq!(complete_refund(&requested, WHO, REFUND), Err(RefundRejection::AlreadyDecided), "not approved");

    let rejected = decide_request(&requested, WHO, RefundDecision::Reject { reason: "Watched it".into() });
    let rejected = then(&requested, &rejected.expect("rejected"));
    assert_eq!(decide_request(&rejected, WHO, RefundDecision::Approve), Err(RefundRejection::AlreadyDecided));
    assert!(matches!(
        decide_request(&requested, WHO, RefundDecision::Reject { reason: String::new() }),
        Err(RefundRejection::InvalidReason(_))
    ));
}

#[test]
fn a_refund_revokes_only_the_access_its_own_order_bought() {
    let enrollment = enrolled();
    let requested = then(&enrollment, &request_refund(&enrollment, WHO, REFUND, true, "x").expect("requested"));
    let approved = then(&requested, &decide_request(&requested, WHO, RefundDecision::Approve).expect("approved"));
    // Before the saga completes the refund, an admin revokes the access, and the trainee buys the course again.
    let revoked = EnrollmentRevoked {
        trainee_id: TRAINEE,
        course_id: COURSE,
        reason: RevocationReason::AdminAction { admin_id: id(5) },
    };
    let revoked = then(&approved, &[Event::EnrollmentRevoked(revoked)]);
    let bought_again = enroll(&revoked, &course(CourseStatus::Published), TRAINEE, purchase(10)).expect("bought");
    let bought_again = then(&revoked, &bought_again);

    let completed = complete_refund(&bought_again, WHO, REFUND).expect("completed");
    assert_eq!(types(&completed), ["RefundCompleted"], "order 10's access stays");
    assert!(then(&bought_again, &completed).is_active());
}

#[test]
fn retired_courses_keep_enrolling_but_deleted_or_unknown_ones_do_not() {
    let fresh = Enrollment::default();
    assert!(enroll(&fresh, &course(CourseStatus::Retired), TRAINEE, purchase(9)).is_ok());
    for status in [CourseStatus::Deleted, CourseStatus::Missing] {
        assert_eq!(enroll(&fresh, &course(status), TRAINEE, purchase(9)), Err(EnrollmentRejection::CourseNotFound));
    }
}

#[test]
fn a_refund_request_s_thread_is_the_trainee_s_and_the_admins_only() {
    let enrollment = enrolled();
    let trainee = events::Actor { user_id: TRAINEE, role: events::Role::IndividualTrainee };
    let admin = events::Actor { user_id: id(90), role: events::Role::Admin };
    let stranger = events::Actor { user_id: id(91), role: events::Role::IndividualTrainee };
    let follow_up = |enrollment: &Enrollment, author: &events::Actor, text: &str| {
        let command = RefundCommand::FollowUp { trainee_id: TRAINEE, course_id: COURSE, author, text };
        decide_refunds(enrollment, command).map(|decided| decided.events)
    };
    assert_eq!(follow_up(&enrollment, &trainee, "Hello?"), Err(RefundRejection::NoRequest), "nothing asked yet");
    let asked = request_refund(&enrollment, (TRAINEE, COURSE), id(50), true, "Not for me").expect("asked");
    let enrollment = asked.iter().fold(enrollment, Enrollment::evolve);
    let written = follow_up(&enrollment, &trainee, "  Any news?  ").expect("written");
    assert!(matches!(&written[..], [Event::RefundRequestFollowUpAdded(f)]
        if f.refund_id == id(50) && !f.by_admin && f.text.text() == Some("Any news?")));
    let answered = follow_up(&enrollment, &admin, "Soon").expect("answered");
    assert!(matches!(&answered[..], [Event::RefundRequestFollowUpAdded(f)] if f.by_admin));
    assert_eq!(follow_up(&enrollment, &stranger, "Me too"), Err(RefundRejection::NoRequest));
    assert!(matches!(follow_up(&enrollment, &trainee, " "), Err(RefundRejection::InvalidText(_))));
}
