//! The course's exam (R9, D6): attempts, grades, and showing the answers.

use super::learning::{completing, judge};
use super::*;

/// An exam attempt (R9, D6): answers keyed by question id, each one of its question's options; a question
/// left out counts as wrong. Grade = trunc(correct / questions x 100); the best grade counts and 50 passes,
/// which may complete the course (D1).
pub(super) fn submit_exam(
    enrollment: &Enrollment,
    content: &Content,
    learner: Learner,
    answers: BTreeMap<Uuid, u32>,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    if content.exam.is_empty() {
        return Err(LearningRejection::NoExam);
    }
    if enrollment.answers_revealed {
        return Err(LearningRejection::AnswersRevealed);
    }
    if enrollment.exam_attempts >= MAX_EXAM_ATTEMPTS {
        return Err(LearningRejection::AttemptsExhausted);
    }
    let mut correct = 0_usize;
    for (&question_id, &answer_index) in &answers {
        let question = content
            .exam
            .iter()
            .find(|question| question.id == question_id)
            .ok_or(LearningRejection::NotAnExamQuestion { question_id })?;
        correct += usize::from(judge(question, answer_index)?);
    }
    let grade = u8::try_from(correct * 100 / content.exam.len()).unwrap_or(100);
    let best_grade = enrollment.best_grade.map_or(grade, |best| best.max(grade));
    let Learner { trainee_id, course_id, certificate_id } = learner;
    let submitted = vec![Event::ExamSubmitted(ExamSubmitted {
        trainee_id,
        course_id,
        attempt: enrollment.exam_attempts + 1,
        answers,
        grade,
        passed: grade >= PASSING_GRADE,
        best_grade,
    })];
    Ok(completing(enrollment, submitted, content, trainee_id, course_id, certificate_id))
}

/// Shows the exam's answers, once the trainee made an attempt; after that no attempt follows.
pub(super) fn reveal_exam_answers(
    enrollment: &Enrollment,
    trainee_id: Uuid,
    course_id: Uuid,
) -> Result<Vec<Event>, LearningRejection> {
    enrollment.learning()?;
    if enrollment.exam_attempts == 0 {
        return Err(LearningRejection::NotAttempted);
    }
    if enrollment.answers_revealed {
        return Ok(Vec::new());
    }
    Ok(vec![Event::ExamAnswersRevealed(ExamAnswersRevealed { trainee_id, course_id })])
}
