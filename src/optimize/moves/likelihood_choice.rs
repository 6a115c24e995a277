//! The likelihood-choice move (v25; a prompt move: the student stays in the plan):
//! a node that chooses one of a closed set of classes (an `enum` output) becomes a
//! `likelihood_choice` node. For each class the student is shown a prompt that
//! says what the class covers, with example texts of it, and the node's text is
//! read as the student's reply; the class under whose prompt the text is most
//! likely wins.
//!
//! Why: the 135M student is at chance when it is asked which class a text is
//! (`notes/students.md`: 28% on four-way triage, constrained output and a good
//! prompt), and the word tables (`word_frequency_classifier`) know only the words
//! they were fitted on, so a held-out text worded otherwise falls through them.
//! Reading is what the student can do: how likely it finds a text after a
//! description of a class measures how well the text fits the class, word choice
//! and paraphrase included — the "noisy channel" classification of few-shot
//! prompting (Min et al., 2022), which is known to hold up better than asking for
//! small models. A probe outside the project on three triage sets already
//! measured (development data; 40 held-out each, the description of each class
//! only, no example texts, the prompt as plain text without a chat template):
//! 79/120, where the student asked directly is at chance.
//!
//! The demonstrations are chosen, not fixed: none, the texts the teacher wrote per
//! class (the same texts the word table is fitted on, asked once), or those and
//! the training texts; each with or without a word table's evidence added (the
//! table the word-frequency classifier fits: the student reads the wording, the
//! table counts the words, and their log-probabilities add, a product of the two
//! models). In the probe, on 90 held-out texts of the same three sets (SmolLM2's
//! chat template, as this node runs): the student alone 52 (description only),
//! 60 (the teacher's texts), 60 (those and the training texts); the table alone
//! 56; the two added 64, 62 and 68. Measured blind: later9 0.59 with v25 (the
//! reading was replaced by a later move: v26 makes it final), later10 0.66 with
//! v26 (the table won on leave-one-out). Every training example is scored by the candidate fitted
//! without it (its text among neither the demonstrations nor the table's texts),
//! so every figure compared is one no candidate was fitted to; at equal figures
//! the smaller candidate wins.

use super::keyword_classifier::ClassChoice;
use super::word_frequency_classifier::{fit_table, training_texts, ClassTexts};
use super::{Candidate, FittedCandidate, MoveContext};
use crate::optimize::settings::Move;
use crate::plan::lock_file::{LockedClassPrompt, LockedLikelihoodChoice, LockedNode, PlanNodeKind};
use crate::runtime::word_table::WordTable;

/// Which texts a candidate's class prompts show, smallest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Demonstrations {
    None,
    TeacherTexts,
    TeacherAndTrainingTexts,
}

impl Demonstrations {
    fn describe(self) -> &'static str {
        match self {
            Demonstrations::None => "no example texts",
            Demonstrations::TeacherTexts => "the teacher's example texts",
            Demonstrations::TeacherAndTrainingTexts => "the teacher's example texts and the training texts",
        }
    }
}

/// The system prompt of one class: the node's task line, what the class covers,
/// then its example texts. Literal text (the plan stores it as written).
fn class_system(task: &str, class: &str, description: &str, examples: &[&str]) -> String {
    let mut system = format!("{}\nTexts of the class \"{class}\" are about: {description}.", task.trim());
    if !examples.is_empty() {
        system.push_str("\nTexts of this class:\n");
        for example in examples {
            system.push_str("- ");
            system.push_str(&example.replace('\n', " "));
            system.push('\n');
        }
    }
    system
}

fn class_prompt(class: &str) -> String {
    format!("Write a text of the class \"{class}\".")
}

/// `node` as a likelihood choice whose class prompts show `examples_of(class)`,
/// with `table`'s evidence added to the student's when there is one.
fn likelihood_node(node: &LockedNode, choice: &ClassChoice, examples_of: impl Fn(&str) -> Vec<String>, table: Option<&WordTable>) -> LockedNode {
    let classes = choice
        .classes
        .iter()
        .map(|class| {
            let examples = examples_of(class);
            let examples: Vec<&str> = examples.iter().map(String::as_str).collect();
            LockedClassPrompt { class: class.clone(), system: class_system(&choice.task, class, &choice.description_of(class), &examples), prompt: class_prompt(class) }
        })
        .collect();
    let mut reading = node.clone();
    reading.kind = PlanNodeKind::LikelihoodChoice;
    reading.likelihood = Some(LockedLikelihoodChoice { reply: format!("{{{}}}", choice.reference), classes, word_table: table.cloned() });
    reading.system = None;
    reading.prompt = None;
    reading.consensus = None;
    reading.code = None;
    reading.code_inputs.clear();
    reading.reads = vec![choice.reference.split('.').next().unwrap_or(&choice.reference).to_string()];
    reading
}

/// One candidate's shape: which demonstrations, and whether a word table's
/// evidence is added (fitted on the teacher's texts, the node's descriptions and
/// the training texts — the table the word-frequency classifier fits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    demonstrations: Demonstrations,
    word_table: bool,
}

impl Shape {
    fn describe(self) -> String {
        if self.word_table {
            format!("{}, plus a word table's evidence", self.demonstrations.describe())
        } else {
            self.demonstrations.describe().to_string()
        }
    }
}

pub(crate) async fn likelihood_choice(context: &MoveContext<'_>, score_before: usize, choice: &ClassChoice, class_texts: &ClassTexts) -> Option<FittedCandidate> {
    let node = context.node;
    let training = training_texts(context, choice);
    let teacher_examples = |class: &str| class_texts.texts.iter().filter(|(of, _)| of == class).map(|(_, text)| text.clone()).collect::<Vec<_>>();
    // The candidate of `shape`, fitted without the training example `left_out`.
    let node_of = |shape: Shape, left_out: Option<usize>| {
        let examples_of = |class: &str| {
            let mut examples = if shape.demonstrations == Demonstrations::None { Vec::new() } else { teacher_examples(class) };
            if shape.demonstrations == Demonstrations::TeacherAndTrainingTexts {
                examples.extend(training.iter().filter(|(index, of, _)| of == class && Some(*index) != left_out).map(|(_, _, text)| text.clone()));
            }
            examples
        };
        let table = shape.word_table.then(|| fit_table(choice, class_texts, &training, left_out, true));
        likelihood_node(node, choice, examples_of, table.as_ref())
    };
    let total = context.trial.total();
    let mut demonstrations = vec![Demonstrations::None];
    if !class_texts.texts.is_empty() {
        demonstrations.push(Demonstrations::TeacherTexts);
    }
    if !training.is_empty() {
        demonstrations.push(Demonstrations::TeacherAndTrainingTexts);
    }
    let shapes: Vec<Shape> = [false, true].into_iter().flat_map(|word_table| demonstrations.iter().map(move |demonstrations| Shape { demonstrations: *demonstrations, word_table })).collect();
    let mut best: Option<(Shape, usize)> = None;
    let mut figures = Vec::new();
    for shape in shapes {
        // Every example is scored by the candidate fitted without it: the figure
        // compared is one no candidate was fitted to.
        let outputs = context.trial.outputs(|index| vec![node_of(shape, Some(index))]).await;
        if let Some(error) = outputs.iter().find_map(|output| output.as_ref().err()).filter(|error| error.contains("cannot score a reply")) {
            context.tried(Move::Prompt, format!("likelihood choice: {error}"), 0);
            return None;
        }
        let left_out_right = context.trial.score(&outputs);
        context.tried(Move::Prompt, format!("likelihood choice, the student reading each text under each class's prompt with {}: {left_out_right}/{total}, each text scored by the candidate fitted without it", shape.describe()), left_out_right);
        figures.push(format!("{}: {left_out_right}/{total}", shape.describe()));
        if best.is_none_or(|(_, best_figure)| left_out_right > best_figure) {
            best = Some((shape, left_out_right));
        }
    }
    let (shape, left_out_right) = best?;
    let mut reading = node_of(shape, None);
    let outputs = context.trial.outputs_of(std::slice::from_ref(&reading)).await;
    let score = context.trial.score(&outputs);
    let partial = context.trial.partial(&outputs);
    let critique = format!(
        "The student cannot say which of {} a text is, but it can read: shown a prompt per class that says what the class covers, with {} as demonstrations{}, it finds a text most likely under the prompt of its class on {left_out_right} of {total} training examples (the student answering: {score_before}), each scored by the candidate fitted without it. Candidates compared so, on the training examples: {}; the smallest wins a tie.",
        choice.classes.join(", "),
        shape.demonstrations.describe(),
        if shape.word_table { " and a word table's evidence added" } else { "" },
        figures.join("; "),
    );
    let artefact = format!("likelihood choice with {}", shape.describe());
    context.record_attempt(Move::Prompt, &critique, &artefact, left_out_right, score_before);
    reading.provenance = context.provenance(Move::Prompt, &critique, score_before, score);
    reading.provenance.leave_one_out = Some(format!("{left_out_right}/{total} training texts right, each scored by the candidate fitted without it"));
    let candidate = Candidate { nodes: vec![reading], the_move: Move::Prompt, critique, score, partial };
    (left_out_right > score_before).then_some(FittedCandidate { candidate, left_out_right })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_prompt_says_what_the_class_covers_then_its_examples() {
        let system = class_system(" You sort messages. ", "billing", "payments, refunds", &["I was charged twice.", "Refund\nplease"]);
        assert_eq!(system, "You sort messages.\nTexts of the class \"billing\" are about: payments, refunds.\nTexts of this class:\n- I was charged twice.\n- Refund please\n");
        assert_eq!(class_system("Sort.", "shipping", "parcels", &[]), "Sort.\nTexts of the class \"shipping\" are about: parcels.");
        assert_eq!(class_prompt("shipping"), "Write a text of the class \"shipping\".");
    }
}
