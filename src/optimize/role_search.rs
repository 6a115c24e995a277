//! Roles by search (optimiser v13): which number of each training text plays which
//! role, found together with the formula, by code alone.
//!
//! The roles are the numbers of one training text, the *anchor* (the one with the
//! fewest numbers, so that every other text has a number for each role). A formula
//! over the roles must give the anchor's training answer with the anchor's own
//! numbers, and, for every other training text, with *some* assignment of that
//! text's numbers to the roles it uses (each number to one role). Expressions are
//! enumerated by size as formula search does (`formula_search`), the smallest size
//! that fits wins; an assignment that gives a text's answer is that text's label.
//! Where a text has several (the roles of `a * b` can swap), the one whose numbers'
//! neighbouring words look most like the anchor's is taken, by the context table
//! the plan reads with (`context_readers`), learned from the anchor first.
//!
//! Why: labelled programs (`labelled_programs`) need a 1.5B teacher to solve one
//! training text as a program and fill it for the others; measured on families
//! written after v9–v12, it labelled two of twelve families. The labels are only a
//! means: a formula that gives every training answer under one consistent reading of
//! each text's numbers is a label the sandbox has already checked, and small
//! formulas over three or four named quantities are exactly what exhaustive search
//! finds. The answer of each training text rules out almost every assignment (its
//! numbers are drawn independently, several of seven digits), so the data choose.
//!
//! Every expression held against the anchor, and every assignment tried for an
//! expression that fitted it, is a hypothesis: the count goes into the PAC bound's
//! k.

use std::collections::BTreeMap;

use super::context_readers::{assign_roles, learn_context_table, same_number, ContextTable, NumberContext};
use super::formula_search::parenthesised;
// The plan rounds with the sandbox's `round(x, d)`; the search meets rounded
// answers with the same function, so a fit and the plan agree to the last digit.
use crate::sandbox::prelude::round_float_to_decimals;

/// Expressions of up to this many leaves are built and stored exhaustively; a
/// fifth leaf is tried on top (four-leaf expressions with one more leaf, and
/// three-leaf with two-leaf ones), not stored.
const MAX_LEAVES: usize = 4;
/// At most this many constants in one expression (as formula search).
const MAX_CONSTANTS: u8 = 2;
/// The anchor's numbers: more roles make the search slow and the fit loose.
const MAX_ROLES: usize = 7;
/// A text with more numbers than this is not searched (assignments grow as n^4).
const MAX_NUMBERS_PER_TEXT: usize = 12;
/// Expressions that fitted the anchor, kept per size to be checked on the others
/// (equivalent forms of the right formula are many; a bound keeps a pathological
/// text from taking long).
const MAX_ANCHOR_FITS: usize = 200_000;

/// The roles, the formula over them, and each training text's label.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchedRoles {
    /// The training text whose numbers are the roles.
    pub anchor: usize,
    /// The roles the formula uses, by variable name, in the anchor's text order.
    pub roles: Vec<String>,
    /// Starlark over the role names (and constants).
    pub expression: String,
    /// Per training text: role → the number it was assigned.
    pub labels: Vec<BTreeMap<String, f64>>,
    /// The table learned from the labels (the plan's reader).
    pub table: ContextTable,
    /// Training texts whose every role the table reads back as labelled.
    pub read_back: usize,
    /// Training texts whose every role a table learned from the other texts'
    /// labels reads as labelled (`labels_read_left_out`; set for the fit `best`
    /// returns).
    pub read_left_out: usize,
    /// A fit one leaf smaller that this one was preferred to, and why
    /// (`settle`), for the critique.
    pub passed_over: Option<String>,
}

/// The outcome: the fit if one exists, and the hypotheses held against the data.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleSearch {
    pub found: Option<SearchedRoles>,
    pub considered: u64,
    /// Why nothing was searched, when nothing was.
    pub skipped: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Operator {
    Add,
    Subtract,
    Multiply,
    Divide,
    /// `//`: by a whole constant ("a third of the elves", `int(x)` as `x // 1`)
    /// anywhere; by a quantity of the text only as a count of whole things at
    /// the end of a formula (see `Operator::combined`). Nested under a sum,
    /// floor division by a quantity let a formula hit training answers by
    /// coincidence: v14 kept `(point // throw - free) * throw - throw` and `(floor
    /// + tile // floor) * width` on two families written after it (0.04 and 0.06
    /// held-out), and v15 to v27 forbade it by a quantity altogether.
    FloorDivide,
    /// Division rounded up ("how many cases of twelve are needed", v27), under the
    /// same rule as `//`. Written `-(-x // n)`, which the sandbox's integer
    /// arithmetic evaluates exactly.
    CeilingDivide,
}

const OPERATORS: [Operator; 6] = [Operator::Add, Operator::Subtract, Operator::Multiply, Operator::Divide, Operator::FloorDivide, Operator::CeilingDivide];

impl Operator {
    fn apply(self, a: f64, b: f64) -> Option<f64> {
        let value = match self {
            Operator::Add => a + b,
            Operator::Subtract => a - b,
            Operator::Multiply => a * b,
            Operator::Divide if b != 0.0 => a / b,
            Operator::FloorDivide if b != 0.0 && b.fract() == 0.0 => (a / b).floor(),
            Operator::CeilingDivide if b != 0.0 && b.fract() == 0.0 => (a / b).ceil(),
            _ => return None,
        };
        value.is_finite().then_some(value)
    }

    /// Whether `left operator right` may be built, and if so where the result
    /// stands with a division rounded by a quantity of the text.
    ///
    /// Such a division counts whole things: crossings for the vehicles waiting,
    /// full bags of the cans collected. It is the end of a formula, whole or
    /// times what each is worth ("every full bag pays $3"), and since v31 one
    /// quantity of the text may be added after it or taken from it ("plus a
    /// one-off fee of $47", "less the boxes already at home"); nothing else is
    /// built on it: it is never divided or rounded again, never added to a sum
    /// or times anything once a quantity is added, and it never rounds something
    /// that already holds one. Every coincidental fit of floor division by a
    /// quantity seen (v14) nested it under a sum that went on (`(point // throw
    /// - free) * throw - throw`, `(floor + tile // floor) * width`), and both
    /// are still never built. v28 (the count as the last step) was a hypothesis
    /// made after ferry_crossing and recycling_drive (later14) needed one; v31
    /// (one quantity after it) after rafting_trip (later17) needed "rafts × price
    /// + fee"; each stands until the families drawn after it show it helps.
    fn combined(self, left: Usage, right: Usage) -> Option<RoundedByAQuantity> {
        use RoundedByAQuantity::{Count, CountAndOneQuantity, No};
        let rounds_by_a_quantity = matches!(self, Operator::FloorDivide | Operator::CeilingDivide) && right.roles != 0;
        match (left.rounded_by_a_quantity, right.rounded_by_a_quantity) {
            (No, No) => Some(if rounds_by_a_quantity { Count } else { No }),
            _ if rounds_by_a_quantity => None,
            (Count, No) | (No, Count) if self == Operator::Multiply => Some(Count),
            (Count, No) if matches!(self, Operator::Add | Operator::Subtract) && right.single_quantity => Some(CountAndOneQuantity),
            (No, Count) if self == Operator::Add && left.single_quantity => Some(CountAndOneQuantity),
            _ => None,
        }
    }

    fn commutative(self) -> bool {
        matches!(self, Operator::Add | Operator::Multiply)
    }

    /// The character `formula_search::parenthesised` reads.
    fn precedence_mark(self) -> char {
        match self {
            Operator::Add => '+',
            Operator::Subtract => '-',
            Operator::Multiply => '*',
            Operator::Divide => '/',
            Operator::FloorDivide | Operator::CeilingDivide => 'f',
        }
    }

    fn written(self) -> &'static str {
        match self {
            Operator::Add => "+",
            Operator::Subtract => "-",
            Operator::Multiply => "*",
            Operator::Divide => "/",
            Operator::FloorDivide | Operator::CeilingDivide => "//",
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Shape {
    Role(usize),
    Constant(f64),
    /// The share a role's per cent leaves or makes of a whole, for a role the
    /// anchor writes as a percentage (`reads_as_a_percentage`). One leaf, no
    /// constant (v32).
    Percent(usize, PercentShare),
    Binary { operator: Operator, left: usize, right: usize },
}

/// What a percentage makes of a whole, as one leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PercentShare {
    /// `1 - pct / 100`: what is left after the per cent is taken off (a
    /// discount, a donation).
    Less,
    /// `1 + pct / 100`: the whole with the per cent put on top (a tip, a rise, a
    /// tax).
    More,
}

impl PercentShare {
    fn of(self, percent: f64) -> f64 {
        match self {
            PercentShare::Less => 1.0 - percent / 100.0,
            PercentShare::More => 1.0 + percent / 100.0,
        }
    }

    /// Written as the sandbox evaluates it (left to right), so the plan computes
    /// the value the search checked.
    fn written(self, name: &str) -> String {
        match self {
            PercentShare::Less => format!("1 - {name} / 100"),
            PercentShare::More => format!("1 + {name} / 100"),
        }
    }
}

/// Where an expression stands with a division rounded by a quantity of the text
/// (`Operator::combined`), in the order a fit is preferred within one size: the
/// less of this freedom a fit takes, the less it can meet answers by coincidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RoundedByAQuantity {
    /// It holds none.
    No,
    /// A count of whole things, alone or times other factors.
    Count,
    /// Such a count with one quantity of the text added or taken away: nothing
    /// more is built on it.
    CountAndOneQuantity,
}

/// An expression of the arena: its shape (children by arena index), its value on
/// the anchor, its size in leaves and constants, and the roles it uses (a bit set).
#[derive(Clone, Copy, Debug)]
struct Expression {
    shape: Shape,
    anchor_value: f64,
    constants: u8,
    roles: u32,
    rounded_by_a_quantity: RoundedByAQuantity,
}

impl Expression {
    fn usage(&self) -> Usage {
        Usage { roles: self.roles, constants: self.constants, rounded_by_a_quantity: self.rounded_by_a_quantity, single_quantity: matches!(self.shape, Shape::Role(_)) }
    }
}

/// What an operand uses: the roles (a bit set), the constants, where it stands
/// with a division rounded by a quantity, and whether it is one quantity of the
/// text alone (what `Operator::combined` reads).
#[derive(Clone, Copy, Debug)]
struct Usage {
    roles: u32,
    constants: u8,
    rounded_by_a_quantity: RoundedByAQuantity,
    single_quantity: bool,
}

struct Arena {
    expressions: Vec<Expression>,
}

impl Arena {
    /// The value of expression `index` with `role_values` for the roles.
    fn evaluate(&self, index: usize, role_values: &[f64]) -> Option<f64> {
        match self.expressions[index].shape {
            Shape::Role(role) => Some(role_values[role]),
            Shape::Constant(value) => Some(value),
            Shape::Percent(role, share) => Some(share.of(role_values[role])),
            Shape::Binary { operator, left, right } => operator.apply(self.evaluate(left, role_values)?, self.evaluate(right, role_values)?),
        }
    }

    fn text(&self, index: usize, names: &[String]) -> String {
        match self.expressions[index].shape {
            Shape::Role(role) => names[role].clone(),
            Shape::Constant(value) => format_constant(value),
            Shape::Percent(role, share) => share.written(&names[role]),
            Shape::Binary { operator, left, right } => binary_text(operator, &self.text(left, names), &self.text(right, names)),
        }
    }
}

/// An expression that may not be stored: a stored one, or a binary over two
/// stored ones (the largest stored size is combined only on the fly).
#[derive(Clone, Copy, Debug)]
enum Part {
    Stored(usize),
    Pair { operator: Operator, left: usize, right: usize, rounded_by_a_quantity: RoundedByAQuantity },
}

/// A fit of the anchor: a part, or (five leaves) a binary over two parts.
#[derive(Clone, Copy, Debug)]
enum AnchorFit {
    Whole(Part),
    Composite { operator: Operator, left: Part, right: Part, rounded_by_a_quantity: RoundedByAQuantity },
}

impl Part {
    fn evaluate(self, arena: &Arena, role_values: &[f64]) -> Option<f64> {
        match self {
            Part::Stored(index) => arena.evaluate(index, role_values),
            Part::Pair { operator, left, right, .. } => operator.apply(arena.evaluate(left, role_values)?, arena.evaluate(right, role_values)?),
        }
    }

    fn text(self, arena: &Arena, names: &[String]) -> String {
        match self {
            Part::Stored(index) => arena.text(index, names),
            Part::Pair { operator, left, right, .. } => binary_text(operator, &arena.text(left, names), &arena.text(right, names)),
        }
    }

    fn usage(self, arena: &Arena) -> Usage {
        match self {
            Part::Stored(index) => arena.expressions[index].usage(),
            Part::Pair { left, right, rounded_by_a_quantity, .. } => {
                let (left, right) = (&arena.expressions[left], &arena.expressions[right]);
                Usage { roles: left.roles | right.roles, constants: left.constants + right.constants, rounded_by_a_quantity, single_quantity: false }
            }
        }
    }
}

impl AnchorFit {
    fn evaluate(self, arena: &Arena, role_values: &[f64]) -> Option<f64> {
        match self {
            AnchorFit::Whole(part) => part.evaluate(arena, role_values),
            AnchorFit::Composite { operator, left, right, .. } => operator.apply(left.evaluate(arena, role_values)?, right.evaluate(arena, role_values)?),
        }
    }

    fn text(self, arena: &Arena, names: &[String]) -> String {
        match self {
            AnchorFit::Whole(part) => part.text(arena, names),
            AnchorFit::Composite { operator, left, right, .. } => binary_text(operator, &left.text(arena, names), &right.text(arena, names)),
        }
    }

    /// The roles used, the constants, and where the fit stands with a rounding by
    /// a quantity.
    fn usage(self, arena: &Arena) -> Usage {
        match self {
            AnchorFit::Whole(part) => part.usage(arena),
            AnchorFit::Composite { left, right, rounded_by_a_quantity, .. } => {
                let (left, right) = (left.usage(arena), right.usage(arena));
                Usage { roles: left.roles | right.roles, constants: left.constants + right.constants, rounded_by_a_quantity, single_quantity: false }
            }
        }
    }
}

fn binary_text(operator: Operator, left: &str, right: &str) -> String {
    let mark = operator.precedence_mark();
    if operator == Operator::CeilingDivide {
        return super::formula_search::ceiling_division_text(left, right);
    }
    format!("{} {} {}", parenthesised(left, mark, false), operator.written(), parenthesised(right, mark, true))
}

fn matches(value: f64, target: f64) -> bool {
    (value - target).abs() <= 1e-9 * target.abs().max(1.0)
}

/// How precisely the training answers are written, and so how a formula's value
/// must meet them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerPrecision {
    /// The value itself (up to float noise).
    Exact,
    /// The value rounded to this many decimals, as the plan's code then rounds it
    /// (`round(x, 2)`).
    RoundedTo(usize),
}

/// The answers' precision: rounded to `d` decimals when the most decimals any
/// training answer is written with is 1 or 2 (to the cent, to the tenth), exact
/// otherwise. Why (v16): money answers are given to the cent, so a conversion
/// (`dollars × 0.88`) or a share (`grams / serves × people`) meets its answer only
/// rounded, and no formula was found for such families (currency_exchange,
/// recipe_scaling, commute_fuel). Whole answers stay exact: rounding them would
/// let every division near a whole number fit. Three decimals and more are not
/// read as rounding either: an answer written that finely is as likely exact.
pub fn answer_precision(targets: &[f64]) -> AnswerPrecision {
    let decimals = |target: f64| {
        let written = format!("{target}");
        written.split_once('.').map_or(0, |(_, fraction)| fraction.len())
    };
    match targets.iter().map(|target| decimals(*target)).max().unwrap_or(0) {
        places @ 1..=2 => AnswerPrecision::RoundedTo(places),
        _ => AnswerPrecision::Exact,
    }
}

/// A training answer and the precision it is written with.
#[derive(Clone, Copy, Debug)]
struct Answer {
    value: f64,
    precision: AnswerPrecision,
}

impl Answer {
    /// Whether a formula's `value` gives this answer.
    fn met_by(self, value: f64) -> bool {
        match self.precision {
            AnswerPrecision::Exact => matches(value, self.value),
            AnswerPrecision::RoundedTo(places) => {
                // Cheap bound first (this runs for every expression), then the
                // rounding itself.
                let half_unit = 0.5 / 10f64.powi(places as i32);
                (value - self.value).abs() <= half_unit * (1.0 + 1e-9) + 1e-9 * self.value.abs() && matches(round_float_to_decimals(value, places as i32), self.value)
            }
        }
    }
}

/// Searches roles and formula together. `contexts[i]` are the numbers of training
/// text i with their neighbouring words, `targets[i]` its answer; `constants` the
/// constants the texts imply (`implied_constants`). Formulas that give the answers
/// exactly are searched first; only when none does, and the answers are written to
/// one or two decimals, formulas whose value rounds to them (`round(…, d)`).
///
/// A whole number that every training text states is first a quantity like any
/// other, and a constant of the family only when no formula fits with it as one
/// (v30; see `stated_constants_taken_out`).
pub fn search_roles(contexts: &[Vec<NumberContext>], targets: &[f64], constants: &[f64]) -> RoleSearch {
    let as_quantities = search_roles_with(contexts, contexts, targets, constants);
    if as_quantities.found.is_some() {
        return as_quantities;
    }
    if as_quantities.skipped.is_some() {
        return as_quantities;
    }
    let (with_stated, without_stated) = stated_constants_taken_out(contexts, constants);
    let mut considered = as_quantities.considered;
    if with_stated.len() > constants.len() {
        let as_constants = search_roles_with(&without_stated, contexts, targets, &with_stated);
        considered += as_constants.considered;
        if as_constants.found.is_some() {
            return RoleSearch { considered, ..as_constants };
        }
    }
    let six = six_leaves(contexts, targets, constants);
    RoleSearch { considered: considered + six.considered, ..six }
}

/// Six leaves (v37), tried only where nothing of five or fewer fits, with every
/// number a quantity: exact answers first, then rounded ones as `search_roles_with`.
///
/// Why: of the 109 families of `first` … `later21`, fourteen had no fit, and seven
/// of those are six leaves within two constants (dog_walking's `weeks × (dogs ×
/// fee × 2 × days − app_fee)`, carpet_cleaning's two rooms' areas times a price
/// less a discount, fruit_stall, swimming_pool, commute_fuel, bricklaying,
/// concert_tickets). Enumerating six leaves as five are would take minutes; instead
/// the search meets in the middle (`six_leaf_fits`). Only families with no smaller
/// fit reach it, so no fit found before changes.
fn six_leaves(contexts: &[Vec<NumberContext>], targets: &[f64], constants: &[f64]) -> RoleSearch {
    exact_then_rounded(contexts, contexts, targets, constants, SearchDepth::Six)
}

/// `search_roles` with `contexts` the numbers that may play roles and `full` every
/// number of each text.
fn search_roles_with(contexts: &[Vec<NumberContext>], full: &[Vec<NumberContext>], targets: &[f64], constants: &[f64]) -> RoleSearch {
    exact_then_rounded(contexts, full, targets, constants, SearchDepth::UpToFive)
}

/// The search to `depth` with the answers met exactly, then, only when nothing
/// fits and the answers are written to one or two decimals, rounded to them.
/// Exact first: a formula that gives the answers themselves is the stronger
/// hypothesis, and an answer to the cent may be exact (rounding it to the one
/// decimal three answers happen to show would be wrong on the next one).
fn exact_then_rounded(contexts: &[Vec<NumberContext>], full: &[Vec<NumberContext>], targets: &[f64], constants: &[f64], depth: SearchDepth) -> RoleSearch {
    let exact = search_at(contexts, full, targets, constants, AnswerPrecision::Exact, depth);
    let rounded_to = answer_precision(targets);
    if exact.found.is_some() || exact.skipped.is_some() || rounded_to == AnswerPrecision::Exact {
        return exact;
    }
    let rounded = search_at(contexts, full, targets, constants, rounded_to, depth);
    RoleSearch { considered: exact.considered + rounded.considered, ..rounded }
}

/// How far `search_at` goes: every size up to five leaves, or (v37) only six, the
/// smaller sizes having found nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SearchDepth {
    UpToFive,
    Six,
}

/// `constants` and every whole number (2 or more) that each training text states,
/// and the texts' numbers without those. A number the same in every text is a fact
/// of the family ("twelve cans to a case"), not a quantity drawn for the problem:
/// it is a constant, so it may divide as constants do (`//` and the ceiling take
/// constants only), and it plays no role besides (each number plays one part: as a
/// role too, `(… - 12) // 12` fitted three texts by coincidence). The plan's role
/// reader still sees it, and learns that it is none of the roles.
///
/// v27, added after shelter_cat_food (later13) found no plan for want of "cases of
/// twelve, rounded up"; a hypothesis until families drawn after it show it helps.
/// They did not: in later16's apple_picking all three training texts had four
/// pickers, and the plan multiplied by 4 (0.22 held-out). Over the first three
/// training texts of the 79 families of `first` … `later16`, a whole number stated
/// by all three was a drawn quantity that only happened to be equal 14 times, a
/// fact of the family 7 times; and a fact of the family is usually still read
/// right as a role, since every text states it (shelter_cat_food: 1.00 → 0.80).
/// So since v30 this is the fallback: the search runs with every number a
/// quantity first.
fn stated_constants_taken_out(contexts: &[Vec<NumberContext>], constants: &[f64]) -> (Vec<f64>, Vec<Vec<NumberContext>>) {
    let mut all = constants.to_vec();
    let mut without: Vec<Vec<NumberContext>> = contexts.to_vec();
    if contexts.len() < 2 {
        return (all, without);
    }
    for candidate in &contexts[0] {
        let value = candidate.value;
        let whole = value.fract() == 0.0 && value >= 2.0;
        if !whole || contexts[1..].iter().any(|numbers| !numbers.iter().any(|number| number.value == value)) {
            continue;
        }
        if !all.contains(&value) {
            all.push(value);
        }
        for numbers in &mut without {
            if let Some(position) = numbers.iter().position(|number| number.value == value) {
                numbers.remove(position);
            }
        }
    }
    (all, without)
}

/// The search with the answers met at `precision`.
/// `contexts` are the numbers that may play roles; `full` every number of each text
/// (what the plan's reader sees, and so what its table learns from).
fn search_at(contexts: &[Vec<NumberContext>], full: &[Vec<NumberContext>], targets: &[f64], constants: &[f64], precision: AnswerPrecision, depth: SearchDepth) -> RoleSearch {
    let skipped = |why: String| RoleSearch { found: None, considered: 0, skipped: Some(why) };
    if contexts.len() < 2 || contexts.len() != targets.len() {
        return skipped("roles by search need two training texts or more, each with a numeric answer".into());
    }
    if let Some(text) = contexts.iter().position(|numbers| numbers.len() > MAX_NUMBERS_PER_TEXT) {
        return skipped(format!("training text {} has {} numbers, more than {MAX_NUMBERS_PER_TEXT}", text + 1, contexts[text].len()));
    }
    let anchor = (0..contexts.len()).min_by_key(|index| contexts[*index].len()).unwrap_or(0);
    let role_count = contexts[anchor].len();
    if role_count == 0 || role_count > MAX_ROLES {
        return skipped(format!("the anchor (training text {}) has {role_count} numbers; roles by search need 1 to {MAX_ROLES}", anchor + 1));
    }
    let anchor_values: Vec<f64> = contexts[anchor].iter().map(|context| context.value).collect();
    let names = role_names(&contexts[anchor]);
    let mut arena = Arena { expressions: Vec::new() };
    let mut by_size: Vec<Vec<usize>> = vec![Vec::new(); MAX_LEAVES + 1];
    let mut considered: u64 = 0;
    for (role, value) in anchor_values.iter().enumerate() {
        arena.expressions.push(Expression { shape: Shape::Role(role), anchor_value: *value, constants: 0, roles: 1 << role, rounded_by_a_quantity: RoundedByAQuantity::No });
        by_size[1].push(arena.expressions.len() - 1);
    }
    for (role, context) in contexts[anchor].iter().enumerate() {
        if !reads_as_a_percentage(context) {
            continue;
        }
        for share in [PercentShare::Less, PercentShare::More] {
            arena.expressions.push(Expression { shape: Shape::Percent(role, share), anchor_value: share.of(context.value), constants: 0, roles: 1 << role, rounded_by_a_quantity: RoundedByAQuantity::No });
            by_size[1].push(arena.expressions.len() - 1);
        }
    }
    for constant in constants {
        arena.expressions.push(Expression { shape: Shape::Constant(*constant), anchor_value: *constant, constants: 1, roles: 0, rounded_by_a_quantity: RoundedByAQuantity::No });
        by_size[1].push(arena.expressions.len() - 1);
    }
    let answers: Vec<Answer> = targets.iter().map(|value| Answer { value: *value, precision }).collect();
    let checker = Checker { contexts, full, answers: &answers, anchor };
    // Size 1: a role alone.
    let mut fits: Vec<AnchorFit> = Vec::new();
    for &index in &by_size[1] {
        considered += 1;
        let expression = arena.expressions[index];
        if expression.roles != 0 && answers[anchor].met_by(expression.anchor_value) {
            fits.push(AnchorFit::Whole(Part::Stored(index)));
        }
    }
    let mut held: Option<SearchedRoles> = None;
    if depth == SearchDepth::UpToFive {
        if let Some(found) = settle(checker.best(&arena, &fits, &names, &mut considered), &mut held, &names) {
            return RoleSearch { found: Some(found), considered, skipped: None };
        }
    }
    for size in 2..=MAX_LEAVES {
        let store = size < MAX_LEAVES;
        if depth == SearchDepth::Six && !store {
            // Six leaves build their fours and fives on the fly.
            break;
        }
        let mut fits: Vec<AnchorFit> = Vec::new();
        let mut level: Vec<usize> = Vec::new();
        for left_size in 1..size {
            let right_size = size - left_size;
            for left_position in 0..by_size[left_size].len() {
                let left = by_size[left_size][left_position];
                for right_position in 0..by_size[right_size].len() {
                    let right = by_size[right_size][right_position];
                    let (a, b) = (arena.expressions[left], arena.expressions[right]);
                    if a.constants + b.constants > MAX_CONSTANTS {
                        continue;
                    }
                    for operator in OPERATORS {
                        // a + b and b + a are one hypothesis: keep one order.
                        if operator.commutative() && left_size == right_size && left_position > right_position {
                            continue;
                        }
                        let Some(rounded_by_a_quantity) = operator.combined(a.usage(), b.usage()) else { continue };
                        let Some(value) = operator.apply(a.anchor_value, b.anchor_value) else { continue };
                        considered += 1;
                        let roles = a.roles | b.roles;
                        let fits_anchor = roles != 0 && answers[anchor].met_by(value) && fits.len() < MAX_ANCHOR_FITS;
                        if store {
                            arena.expressions.push(Expression { shape: Shape::Binary { operator, left, right }, anchor_value: value, constants: a.constants + b.constants, roles, rounded_by_a_quantity });
                            let index = arena.expressions.len() - 1;
                            level.push(index);
                            if fits_anchor {
                                fits.push(AnchorFit::Whole(Part::Stored(index)));
                            }
                        } else if fits_anchor {
                            fits.push(AnchorFit::Whole(Part::Pair { operator, left, right, rounded_by_a_quantity }));
                        }
                    }
                }
            }
        }
        if depth == SearchDepth::UpToFive {
            if let Some(found) = settle(checker.best(&arena, &fits, &names, &mut considered), &mut held, &names) {
                return RoleSearch { found: Some(found), considered, skipped: None };
            }
        }
        by_size[size] = level;
    }
    if depth == SearchDepth::Six {
        let fits = six_leaf_fits(&mut arena, &by_size, answers[anchor], &mut considered);
        let found = checker.best(&arena, &fits, &names, &mut considered);
        return RoleSearch { found, considered, skipped: None };
    }
    // Five leaves: a four-leaf expression (built again on the fly) with one more
    // leaf, or a three-leaf one with a two-leaf one ("days × (cars × price +
    // waxed × extra)").
    let mut fits: Vec<AnchorFit> = Vec::new();
    let target = answers[anchor];
    let mut consider = |operator: Operator, left: Part, right: Part, left_value: f64, right_value: f64, roles: u32, considered: &mut u64| {
        let Some(rounded_by_a_quantity) = operator.combined(left.usage(&arena), right.usage(&arena)) else { return };
        let Some(value) = operator.apply(left_value, right_value) else { return };
        *considered += 1;
        if roles != 0 && target.met_by(value) && fits.len() < MAX_ANCHOR_FITS {
            fits.push(AnchorFit::Composite { operator, left, right, rounded_by_a_quantity });
        }
    };
    for_each_four(&arena, &by_size, &mut |four| {
        let pair = Part::Pair { operator: four.operator, left: four.left, right: four.right, rounded_by_a_quantity: four.rounded_by_a_quantity };
        for &leaf in &by_size[1] {
            let c = arena.expressions[leaf];
            if four.usage.constants + c.constants > MAX_CONSTANTS {
                continue;
            }
            let roles = four.usage.roles | c.roles;
            for outer in OPERATORS {
                consider(outer, pair, Part::Stored(leaf), four.value, c.anchor_value, roles, &mut considered);
                // leaf + four is four + leaf: one order of a commutative pair.
                if !outer.commutative() {
                    consider(outer, Part::Stored(leaf), pair, c.anchor_value, four.value, roles, &mut considered);
                }
            }
        }
    });
    for &three in &by_size[3] {
        for &two in &by_size[2] {
            let (a, b) = (arena.expressions[three], arena.expressions[two]);
            if a.constants + b.constants > MAX_CONSTANTS {
                continue;
            }
            let roles = a.roles | b.roles;
            for operator in OPERATORS {
                consider(operator, Part::Stored(three), Part::Stored(two), a.anchor_value, b.anchor_value, roles, &mut considered);
                if !operator.commutative() {
                    consider(operator, Part::Stored(two), Part::Stored(three), b.anchor_value, a.anchor_value, roles, &mut considered);
                }
            }
        }
    }
    let found = settle(checker.best(&arena, &fits, &names, &mut considered), &mut held, &names).or(held);
    RoleSearch { found, considered, skipped: None }
}

/// A four-leaf expression built on the fly (a stored one of one leaf with one of
/// three, or two of two), not stored: its parts, value on the anchor and usage.
#[derive(Clone, Copy, Debug)]
struct Four {
    operator: Operator,
    left: usize,
    right: usize,
    rounded_by_a_quantity: RoundedByAQuantity,
    value: f64,
    usage: Usage,
}

/// Visits every four-leaf expression the rules allow (constants, the rounding
/// rule; one order of a commutative pair of equal sizes): what five leaves and six
/// build on.
fn for_each_four(arena: &Arena, by_size: &[Vec<usize>], visit: &mut dyn FnMut(Four)) {
    for (left_size, right_size) in [(1, 3), (2, 2), (3, 1)] {
        for &left in &by_size[left_size] {
            for &right in &by_size[right_size] {
                let (a, b) = (arena.expressions[left], arena.expressions[right]);
                if a.constants + b.constants > MAX_CONSTANTS {
                    continue;
                }
                for operator in OPERATORS {
                    if operator.commutative() && left_size == right_size && left > right {
                        continue;
                    }
                    let Some(rounded_by_a_quantity) = operator.combined(a.usage(), b.usage()) else { continue };
                    let Some(value) = operator.apply(a.anchor_value, b.anchor_value) else { continue };
                    let usage = Usage { roles: a.roles | b.roles, constants: a.constants + b.constants, rounded_by_a_quantity, single_quantity: false };
                    visit(Four { operator, left, right, rounded_by_a_quantity, value, usage });
                }
            }
        }
    }
}

/// The values a *big* part must take so that `big operator small` (or `small
/// operator big`) meets the anchor's answer: one interval per small part,
/// operator and side, sorted by its lower end, so that each big part built is
/// looked up instead of combined with every small one.
struct NeededValues {
    intervals: Vec<NeededValue>,
    widest: f64,
    /// `big // small` and `-(-big // small)` (small a single leaf): their
    /// intervals are as wide as the divisor, so they are scanned, not sorted.
    rounded: Vec<NeededValue>,
}

#[derive(Clone, Copy, Debug)]
struct NeededValue {
    low: f64,
    high: f64,
    small: usize,
    operator: Operator,
    big_on_the_left: bool,
}

impl NeededValues {
    fn new(arena: &Arena, smalls: &[usize], target: Answer, rounded_divisions: bool) -> Self {
        // The answer as an interval: its float noise, or half a unit of its
        // rounding; widened a little more, since every hit is checked exactly.
        let slack = match target.precision {
            AnswerPrecision::Exact => 1e-9 * target.value.abs().max(1.0),
            AnswerPrecision::RoundedTo(places) => 0.5 / 10f64.powi(places as i32) * (1.0 + 1e-9) + 1e-9 * target.value.abs(),
        };
        let (low, high) = (target.value - 2.0 * slack, target.value + 2.0 * slack);
        let mut intervals = Vec::new();
        let mut rounded = Vec::new();
        for &small in smalls {
            let value = arena.expressions[small].anchor_value;
            let mut push = |operator: Operator, big_on_the_left: bool, interval: Option<(f64, f64)>| {
                if let Some((a, b)) = interval {
                    let (low, high) = (a.min(b), a.max(b));
                    if low.is_finite() && high.is_finite() {
                        intervals.push(NeededValue { low, high, small, operator, big_on_the_left });
                    }
                }
            };
            push(Operator::Add, true, Some((low - value, high - value)));
            push(Operator::Subtract, true, Some((low + value, high + value)));
            push(Operator::Subtract, false, Some((value - high, value - low)));
            if value != 0.0 {
                push(Operator::Multiply, true, Some((low / value, high / value)));
                push(Operator::Divide, true, Some((low * value, high * value)));
            }
            if value != 0.0 && !(low <= 0.0 && high >= 0.0) {
                push(Operator::Divide, false, Some((value / low, value / high)));
            }
            // A whole count at the end: `big // n` is t for big in [t·n, (t+1)·n).
            if rounded_divisions && value > 0.0 && value.fract() == 0.0 && target.precision == AnswerPrecision::Exact && target.value.fract() == 0.0 {
                rounded.push(NeededValue { low: target.value * value, high: (target.value + 1.0) * value, small, operator: Operator::FloorDivide, big_on_the_left: true });
                rounded.push(NeededValue { low: (target.value - 1.0) * value, high: target.value * value, small, operator: Operator::CeilingDivide, big_on_the_left: true });
            }
        }
        intervals.sort_by(|a, b| a.low.total_cmp(&b.low));
        let widest = intervals.iter().map(|interval| interval.high - interval.low).fold(0.0, f64::max);
        NeededValues { intervals, widest, rounded }
    }

    /// Every interval that holds `value`.
    fn holding(&self, value: f64, visit: &mut dyn FnMut(NeededValue)) {
        let end = self.intervals.partition_point(|interval| interval.low <= value);
        for interval in self.intervals[..end].iter().rev() {
            if interval.low < value - self.widest {
                break;
            }
            if interval.high >= value {
                visit(*interval);
            }
        }
        for interval in &self.rounded {
            if interval.low <= value && value <= interval.high {
                visit(*interval);
            }
        }
    }
}

/// A big part of a six-leaf fit, built on the fly: a stored expression, a pair of
/// stored ones, or such a pair with one leaf more.
#[derive(Clone, Copy, Debug)]
enum BigPart {
    Stored(usize),
    Pair { operator: Operator, left: usize, right: usize, rounded_by_a_quantity: RoundedByAQuantity },
    PairAndLeaf { pair: (Operator, usize, usize, RoundedByAQuantity), operator: Operator, leaf: usize, leaf_on_the_left: bool, rounded_by_a_quantity: RoundedByAQuantity },
}

impl Arena {
    /// Stores `left operator right` and returns its index.
    fn store_binary(&mut self, operator: Operator, left: usize, right: usize, rounded_by_a_quantity: RoundedByAQuantity) -> Option<usize> {
        let (a, b) = (self.expressions[left], self.expressions[right]);
        let anchor_value = operator.apply(a.anchor_value, b.anchor_value)?;
        self.expressions.push(Expression { shape: Shape::Binary { operator, left, right }, anchor_value, constants: a.constants + b.constants, roles: a.roles | b.roles, rounded_by_a_quantity });
        Some(self.expressions.len() - 1)
    }

    fn store_big(&mut self, big: BigPart) -> Option<usize> {
        match big {
            BigPart::Stored(index) => Some(index),
            BigPart::Pair { operator, left, right, rounded_by_a_quantity } => self.store_binary(operator, left, right, rounded_by_a_quantity),
            BigPart::PairAndLeaf { pair: (pair_operator, left, right, pair_rounded), operator, leaf, leaf_on_the_left, rounded_by_a_quantity } => {
                let pair = self.store_binary(pair_operator, left, right, pair_rounded)?;
                let (left, right) = if leaf_on_the_left { (leaf, pair) } else { (pair, leaf) };
                self.store_binary(operator, left, right, rounded_by_a_quantity)
            }
        }
    }
}

/// The six-leaf expressions that meet the anchor's answer (v37): a big part of
/// three, four or five leaves (stored, or built on the fly as the fifth leaf is)
/// with a small one of three, two or one, met in the middle (`NeededValues`).
/// Each hit is checked as a whole (constants, the rounding rule, the value), then
/// stored in the arena as one expression.
fn six_leaf_fits(arena: &mut Arena, by_size: &[Vec<usize>], target: Answer, considered: &mut u64) -> Vec<AnchorFit> {
    let needed: Vec<NeededValues> = (0..=3).map(|size| if size == 0 { NeededValues { intervals: Vec::new(), widest: 0.0, rounded: Vec::new() } } else { NeededValues::new(arena, &by_size[size], target, size == 1) }).collect();
    let mut hits: Vec<(BigPart, Usage, NeededValue)> = Vec::new();
    let mut look_up = |big: BigPart, value: f64, usage: Usage, small_size: usize, arena: &Arena, considered: &mut u64| {
        *considered += 1;
        needed[small_size].holding(value, &mut |interval| {
            if hits.len() >= MAX_ANCHOR_FITS {
                return;
            }
            let small = arena.expressions[interval.small];
            if usage.constants + small.constants > MAX_CONSTANTS || usage.roles | small.roles == 0 {
                return;
            }
            // a + b and b + a are one hypothesis: three and three meet once.
            if let BigPart::Stored(index) = big {
                if small_size == 3 && interval.operator.commutative() && index > interval.small {
                    return;
                }
            }
            let (left_value, right_value) = if interval.big_on_the_left { (value, small.anchor_value) } else { (small.anchor_value, value) };
            let (left_usage, right_usage) = if interval.big_on_the_left { (usage, small.usage()) } else { (small.usage(), usage) };
            if interval.operator.combined(left_usage, right_usage).is_some() && operator_meets(interval.operator, left_value, right_value, target) {
                hits.push((big, usage, interval));
            }
        });
    };
    let arena_view: &Arena = arena;
    // Three and three.
    for &three in &by_size[3] {
        let expression = arena_view.expressions[three];
        look_up(BigPart::Stored(three), expression.anchor_value, expression.usage(), 3, arena_view, considered);
    }
    // Four (built on the fly) and two; five (four and a leaf, or three and two) and one.
    for_each_four(arena_view, by_size, &mut |four| {
        let Four { operator, left, right, rounded_by_a_quantity: pair_rounded, value, usage: pair_usage } = four;
        look_up(BigPart::Pair { operator, left, right, rounded_by_a_quantity: pair_rounded }, value, pair_usage, 2, arena_view, considered);
        for &leaf in &by_size[1] {
            let c = arena_view.expressions[leaf];
            if pair_usage.constants + c.constants > MAX_CONSTANTS {
                continue;
            }
            for outer in OPERATORS {
                for leaf_on_the_left in [false, true] {
                    if leaf_on_the_left && outer.commutative() {
                        continue;
                    }
                    let (left_usage, right_usage, left_value, right_value) = if leaf_on_the_left { (c.usage(), pair_usage, c.anchor_value, value) } else { (pair_usage, c.usage(), value, c.anchor_value) };
                    let Some(rounded_by_a_quantity) = outer.combined(left_usage, right_usage) else { continue };
                    let Some(five) = outer.apply(left_value, right_value) else { continue };
                    let usage = Usage { roles: pair_usage.roles | c.roles, constants: pair_usage.constants + c.constants, rounded_by_a_quantity, single_quantity: false };
                    let big = BigPart::PairAndLeaf { pair: (operator, left, right, pair_rounded), operator: outer, leaf, leaf_on_the_left, rounded_by_a_quantity };
                    look_up(big, five, usage, 1, arena_view, considered);
                }
            }
        }
    });
    for &three in &by_size[3] {
        for &two in &by_size[2] {
            let (a, b) = (arena_view.expressions[three], arena_view.expressions[two]);
            if a.constants + b.constants > MAX_CONSTANTS {
                continue;
            }
            for operator in OPERATORS {
                for (left, right) in [(three, two), (two, three)] {
                    if operator.commutative() && left == two {
                        continue;
                    }
                    let (l, r) = (arena_view.expressions[left], arena_view.expressions[right]);
                    let Some(rounded_by_a_quantity) = operator.combined(l.usage(), r.usage()) else { continue };
                    let Some(five) = operator.apply(l.anchor_value, r.anchor_value) else { continue };
                    let usage = Usage { roles: a.roles | b.roles, constants: a.constants + b.constants, rounded_by_a_quantity, single_quantity: false };
                    look_up(BigPart::Pair { operator, left, right, rounded_by_a_quantity }, five, usage, 1, arena_view, considered);
                }
            }
        }
    }
    let mut fits = Vec::new();
    for (big, usage, interval) in hits {
        let small = arena.expressions[interval.small];
        let (left_usage, right_usage) = if interval.big_on_the_left { (usage, small.usage()) } else { (small.usage(), usage) };
        let Some(rounded_by_a_quantity) = interval.operator.combined(left_usage, right_usage) else { continue };
        let Some(big) = arena.store_big(big) else { continue };
        let (left, right) = if interval.big_on_the_left { (big, interval.small) } else { (interval.small, big) };
        if let Some(six) = arena.store_binary(interval.operator, left, right, rounded_by_a_quantity) {
            fits.push(AnchorFit::Whole(Part::Stored(six)));
        }
    }
    fits
}

/// Whether `left operator right` meets the answer (the exact check of a hit).
fn operator_meets(operator: Operator, left: f64, right: f64, target: Answer) -> bool {
    operator.apply(left, right).is_some_and(|value| target.met_by(value))
}

/// Whether the anchor writes this number as a percentage: "23%", "23 percent",
/// "23 per cent" (the word or sign right after it).
///
/// Why (v32): "x per cent off" is four leaves and two constants as arithmetic,
/// `x * (100 - pct) / 100`, on top of what it applies to; of the 97 families of
/// `first` … `later19`, twelve state a percentage, and eleven of them had no fit
/// within five leaves and two constants (garage_sale, bookshop_sale, taxi_fare,
/// rent_increase, …; deck_screws had one, its per cent of a box of 100 being
/// that many screws). A share kept or added is one
/// quantity of the text, as a person reads it; as one leaf it costs no constant,
/// and nine of the eleven fit (`bench/role_search_accuracy.sh`: 1.00 held-out
/// each). On the twelve families drawn after it (`later20`, `later21`), by search
/// alone: 0.572 → 0.738.
fn reads_as_a_percentage(context: &NumberContext) -> bool {
    let right_after = |word: &str| context.features.get(&format!("a:{word}")).is_some_and(|weight| *weight == 1.0);
    right_after("%") || right_after("percent") || (right_after("per") && context.features.get("a:cent").is_some_and(|weight| *weight == 0.5))
}

/// The fit to keep, of the one found at this size and one held from the size
/// before; `None` while the search should go on.
///
/// A fit that uses one quantity twice and leaves another of the anchor's unused
/// is held while the search goes one size further: a problem states what its
/// answer needs, and a leaf spent on a quantity already used, where a stated one
/// plays no part, is how a smaller formula meets the answers by coincidence
/// (`-(-(car + space) // space)`, one more crossing than the cars need alone, for
/// `-(-(car + 2 * lorry) // space)` while two lorries fit in one crossing's room:
/// ferry_crossing, later14, 0.38 held-out). The larger fit wins if it uses more of
/// the quantities; else the held one stands. v28, a hypothesis until families
/// drawn after it show it helps (v27 made the same preference within one size).
fn settle(found: Option<SearchedRoles>, held: &mut Option<SearchedRoles>, names: &[String]) -> Option<SearchedRoles> {
    if let Some(smaller) = held.take() {
        return Some(match found {
            Some(mut larger) if larger.roles.len() > smaller.roles.len() => {
                larger.passed_over = Some(passed_over_text(&smaller, names));
                larger
            }
            _ => smaller,
        });
    }
    match found {
        Some(fit) if fit.roles.len() < names.len() && role_uses(&fit.expression, &fit.roles) > fit.roles.len() => {
            *held = Some(fit);
            None
        }
        other => other,
    }
}

/// How many times the expression names one of `roles` (identifiers, whole).
fn role_uses(expression: &str, roles: &[String]) -> usize {
    super::role_readers::identifiers(expression).filter(|word| roles.iter().any(|role| role == word)).count()
}

fn passed_over_text(smaller: &SearchedRoles, names: &[String]) -> String {
    let repeated: Vec<String> = smaller.roles.iter().filter(|role| role_uses(&smaller.expression, std::slice::from_ref(*role)) > 1).map(|role| format!("`{role}`")).collect();
    let unused: Vec<String> = names.iter().filter(|name| !smaller.roles.contains(name)).map(|name| format!("`{name}`")).collect();
    format!("`{}`, one leaf smaller, uses {} twice and leaves {} unused", smaller.expression, repeated.join(", "), unused.join(", "))
}

/// Checks the anchor's fits on the other training texts.
struct Checker<'a> {
    contexts: &'a [Vec<NumberContext>],
    full: &'a [Vec<NumberContext>],
    answers: &'a [Answer],
    anchor: usize,
}

/// A fit of every training text: the expression, and per text the assignments
/// (role → index of the text's number) that give its answer.
struct FullFit {
    text: String,
    constants: u8,
    rounded_by_a_quantity: RoundedByAQuantity,
    roles: Vec<usize>,
    assignments: Vec<Vec<Vec<usize>>>,
}

impl Checker<'_> {
    /// The best fit of all texts among `fits` (all of one size), or none.
    fn best(&self, arena: &Arena, fits: &[AnchorFit], names: &[String], considered: &mut u64) -> Option<SearchedRoles> {
        let mut full: Vec<FullFit> = Vec::new();
        for fit in fits {
            let Usage { roles: roles_mask, constants, rounded_by_a_quantity, .. } = fit.usage(arena);
            let roles: Vec<usize> = (0..names.len()).filter(|role| roles_mask & (1 << role) != 0).collect();
            let evaluate = |role_values: &[f64]| fit.evaluate(arena, role_values);
            let mut assignments: Vec<Vec<Vec<usize>>> = Vec::new();
            let mut every_text = true;
            for (text, numbers) in self.contexts.iter().enumerate() {
                if text == self.anchor {
                    assignments.push(vec![roles.clone()]);
                    continue;
                }
                let found = assignments_giving(numbers, &roles, names.len(), self.answers[text], &evaluate, considered);
                if found.is_empty() {
                    every_text = false;
                    break;
                }
                assignments.push(found);
            }
            if !every_text {
                continue;
            }
            let text = match self.answers[self.anchor].precision {
                AnswerPrecision::Exact => fit.text(arena, names),
                AnswerPrecision::RoundedTo(places) => format!("round({}, {places})", fit.text(arena, names)),
            };
            full.push(FullFit { text, constants, rounded_by_a_quantity, roles, assignments });
        }
        // Of the fits of the smallest size: the one whose labels the context table
        // reads back on the most training texts (what the plan will do with them;
        // v38 put the left-out read-back, `labels_read_left_out`, before this:
        // 0.791 -> 0.816 on the 109 families it was chosen on, unchanged on
        // later22 … later24, and 0.797 -> 0.673 on later25, drawn after it, one
        // family worse by 0.74 and none better; v39 went back, and only reports it),
        // then the one that uses the most of the text's quantities (a problem
        // states what its answer needs: `can * cat * day - day` uses `day` twice and
        // leaves the stock unused, v27), then the one that uses each quantity the
        // fewest times over (a leaf spent on a quantity already used is how a
        // formula meets answers by coincidence: `-(-(cars + room - lorries) //
        // room)` beside `-(-(cars + 2 * lorries) // room)`, v28), then the one that
        // takes the least of the freedom rounding by a quantity gives (none, a
        // count, a count and one quantity after it: v31's `(bags - metres) //
        // truck + per_metre` met three answers of sandbag_barrier, later19, that
        // `-(-(metres * per_metre - bags) // truck)` meets at the same size),
        // then the fewest constants, then the shortest text (Occam, deterministic).
        let repeated = |found: &SearchedRoles| role_uses(&found.expression, &found.roles).saturating_sub(found.roles.len());
        let key = |found: &SearchedRoles, (rounded, constants): (RoundedByAQuantity, u8)| (std::cmp::Reverse(found.read_back), std::cmp::Reverse(found.roles.len()), repeated(found), rounded, constants, found.expression.len(), found.expression.clone());
        full.into_iter()
            .map(|fit| self.labelled(fit, names))
            .min_by(|(a, a_shape), (b, b_shape)| key(a, *a_shape).cmp(&key(b, *b_shape)))
            .map(|(mut found, _)| {
                // Reported, not used to choose (v39): computed for the chosen fit only.
                found.read_left_out = labels_read_left_out(self.full, &found.labels, &found.roles);
                found
            })
    }

    /// Labels from a full fit: the anchor's own numbers, then for each other text
    /// the assignment that the table learned so far scores highest.
    fn labelled(&self, fit: FullFit, names: &[String]) -> (SearchedRoles, (RoundedByAQuantity, u8)) {
        let role_names: Vec<String> = fit.roles.iter().map(|role| names[*role].clone()).collect();
        let label_of = |text: usize, assignment: &[usize]| -> BTreeMap<String, f64> {
            fit.roles.iter().zip(assignment).map(|(role, number)| (names[*role].clone(), self.contexts[text][*number].value)).collect()
        };
        let mut labels: Vec<Option<BTreeMap<String, f64>>> = vec![None; self.contexts.len()];
        labels[self.anchor] = Some(label_of(self.anchor, &fit.roles));
        // Texts with one assignment first: they teach the table without doubt.
        let mut order: Vec<usize> = (0..self.contexts.len()).filter(|text| *text != self.anchor).collect();
        order.sort_by_key(|text| (fit.assignments[*text].len(), *text));
        for text in order {
            let table = self.table_from(&labels, &role_names);
            let choice = fit.assignments[text]
                .iter()
                .max_by(|a, b| {
                    let (score_a, score_b) = (assignment_score(&table, &self.contexts[text], &role_names, a), assignment_score(&table, &self.contexts[text], &role_names, b));
                    // Ties go to the earlier assignment (max_by keeps the last).
                    score_a.partial_cmp(&score_b).unwrap_or(std::cmp::Ordering::Equal).then(std::cmp::Ordering::Greater)
                })
                .expect("a full fit has an assignment for every text");
            labels[text] = Some(label_of(text, choice));
        }
        let labels: Vec<BTreeMap<String, f64>> = labels.into_iter().map(Option::unwrap_or_default).collect();
        let table = learn_context_table(self.full, &labels, &role_names);
        let read_back = labels.iter().zip(self.full).filter(|(label, contexts)| same_label(&assign_roles(contexts, &table), label)).count();
        (SearchedRoles { anchor: self.anchor, roles: role_names, expression: fit.text, labels, table, read_back, read_left_out: 0, passed_over: None }, (fit.rounded_by_a_quantity, fit.constants))
    }

    fn table_from(&self, labels: &[Option<BTreeMap<String, f64>>], roles: &[String]) -> ContextTable {
        let (mut texts, mut known) = (Vec::new(), Vec::new());
        for (contexts, label) in self.contexts.iter().zip(labels) {
            if let Some(label) = label {
                texts.push(contexts.clone());
                known.push(label.clone());
            }
        }
        learn_context_table(&texts, &known, roles)
    }
}

/// How many texts' labels a table learned from the *other* texts' labels reads
/// back whole: what a fit's labels promise for a phrasing the table has not seen,
/// the plan's job on held-out texts; the lock's critique reports it (the issue's
/// leave-one-out guard at small m). Read back by the table learned from every
/// text, a coincidental fit's labels look as good as the true one's (three texts'
/// own words are enough to learn each text); left out, labels that put one role
/// on numbers with unrelated words in each text do not carry over. v38 chose
/// among fits by it first; that lost on the families drawn after it (see
/// `Checker::best`), so since v39 it is reported, not used to choose.
pub(crate) fn labels_read_left_out(texts: &[Vec<NumberContext>], labels: &[BTreeMap<String, f64>], roles: &[String]) -> usize {
    (0..labels.len().min(texts.len()))
        .filter(|left_out| {
            let others: Vec<Vec<NumberContext>> = texts.iter().enumerate().filter(|(text, _)| text != left_out).map(|(_, contexts)| contexts.clone()).collect();
            let known: Vec<BTreeMap<String, f64>> = labels.iter().enumerate().filter(|(text, _)| text != left_out).map(|(_, label)| label.clone()).collect();
            let table = learn_context_table(&others, &known, roles);
            same_label(&assign_roles(&texts[*left_out], &table), &labels[*left_out])
        })
        .count()
}

fn same_label(read: &BTreeMap<String, f64>, label: &BTreeMap<String, f64>) -> bool {
    read.len() == label.len() && label.iter().all(|(role, value)| read.get(role).is_some_and(|read| same_number(*read, *value)))
}

/// How well `assignment` (the index of a number per role of `roles`) fits `table`:
/// the sum, over roles, of the table's weights for the words around its number.
pub(crate) fn assignment_score(table: &ContextTable, contexts: &[NumberContext], roles: &[String], assignment: &[usize]) -> f64 {
    roles.iter().zip(assignment).map(|(role, number)| {
        let Some(weights) = table.get(role) else { return 0.0 };
        contexts[*number].features.iter().map(|(feature, weight)| weights.get(feature).copied().unwrap_or(0.0) * weight).sum::<f64>()
    }).sum()
}

/// Visits every assignment of `roles` roles to distinct numbers among `numbers`
/// (as the index of a number per role), in lexicographic order.
pub(crate) fn for_each_injective_assignment(numbers: usize, roles: usize, visit: &mut dyn FnMut(&[usize])) {
    fn extend(numbers: usize, roles: usize, chosen: &mut Vec<usize>, visit: &mut dyn FnMut(&[usize])) {
        if chosen.len() == roles {
            visit(chosen);
            return;
        }
        for number in 0..numbers {
            if !chosen.contains(&number) {
                chosen.push(number);
                extend(numbers, roles, chosen, visit);
                chosen.pop();
            }
        }
    }
    extend(numbers, roles, &mut Vec::with_capacity(roles), visit);
}

/// Every injective assignment of `roles` to the numbers of a text under which
/// `evaluate` gives `target` (each as the index of the number per role).
fn assignments_giving(numbers: &[NumberContext], roles: &[usize], role_count: usize, target: Answer, evaluate: &dyn Fn(&[f64]) -> Option<f64>, considered: &mut u64) -> Vec<Vec<usize>> {
    let mut found = Vec::new();
    let mut role_values = vec![f64::NAN; role_count];
    for_each_injective_assignment(numbers.len(), roles.len(), &mut |assignment| {
        *considered += 1;
        for (role, number) in roles.iter().zip(assignment) {
            role_values[*role] = numbers[*number].value;
        }
        if evaluate(&role_values).is_some_and(|value| target.met_by(value)) {
            found.push(assignment.to_vec());
        }
    });
    found
}

/// Variable names for the anchor's numbers: the word right after each number
/// ("12 trays" → `trays`), else right before it, else `quantity_<n>`; a name taken
/// twice gets the number's place (`trays_3`).
fn role_names(anchor: &[NumberContext]) -> Vec<String> {
    let word_at = |context: &NumberContext, side: &str| {
        context.features.iter().find(|(feature, weight)| feature.starts_with(side) && **weight == 1.0).map(|(feature, _)| feature[side.len()..].to_string())
    };
    let usable = |word: &String| word.len() >= 2 && word.chars().all(|c| c.is_ascii_lowercase()) && !RESERVED_NAMES.contains(&word.as_str());
    let mut names: Vec<String> = Vec::new();
    for (place, context) in anchor.iter().enumerate() {
        let base = word_at(context, "a:").filter(usable).or_else(|| word_at(context, "b:").filter(usable)).unwrap_or_else(|| format!("quantity_{}", place + 1));
        let name = if names.contains(&base) { format!("{base}_{}", place + 1) } else { base };
        names.push(name);
    }
    names
}

/// Words that cannot be variable names in the plan's starlark (keywords, builtins,
/// and the names the node's own code uses).
const RESERVED_NAMES: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "load", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "true", "false", "none",
    "abs", "all", "any", "bool", "dict", "dir", "enumerate", "fail", "float", "getattr", "hasattr", "hash", "int", "len", "list", "max", "min", "print", "range", "repr", "reversed", "sorted", "str", "tuple", "type", "zip", "answer", "run", "question", "text",
];

fn format_constant(constant: f64) -> String {
    if constant.fract() == 0.0 {
        format!("{}", constant as i64)
    } else {
        format!("{constant}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(value: f64) -> Answer {
        Answer { value, precision: AnswerPrecision::Exact }
    }

    fn number(value: f64, before: &str, after: &str) -> NumberContext {
        let mut features = BTreeMap::new();
        if !before.is_empty() {
            features.insert(format!("b:{before}"), 1.0);
        }
        if !after.is_empty() {
            features.insert(format!("a:{after}"), 1.0);
        }
        NumberContext { value, features }
    }

    #[test]
    fn finds_roles_and_formula_when_the_phrasings_order_the_numbers_differently() {
        // Muffins left: trays × per tray − sold − shelter, in three orders.
        let texts = vec![
            vec![number(5.0, "giving", "muffins"), number(20.0, "selling", "more"), number(1425743.0, "from", "trays"), number(12.0, "each", "muffins")],
            vec![number(39.0, "sold", "muffins"), number(7.0, "baked", "trays"), number(12.0, "holding", "muffins"), number(4.0, "shelter", "got")],
            vec![number(6.0, "shelter", "got"), number(5715640.0, "bought", "trays"), number(12.0, "of", "muffins"), number(11.0, "customers", "bought")],
        ];
        let targets = vec![1425743.0 * 12.0 - 5.0 - 20.0, 7.0 * 12.0 - 39.0 - 4.0, 5715640.0 * 12.0 - 6.0 - 11.0];
        let search = search_roles(&texts, &targets, &[]);
        let found = search.found.expect("a fit");
        // The 12 per tray is in every text, and is read as a quantity like the
        // others (v30; v27 to v29 made it a constant of the family).
        assert_eq!(found.roles.len(), 4, "{found:?}");
        assert_eq!(found.expression, "trays * muffins_4 - more - muffins");
        assert!(found.labels[1].values().any(|value| *value == 7.0));
        assert!(found.labels[2].values().any(|value| *value == 5715640.0));
        assert!(search.considered > 100);
    }

    #[test]
    fn labels_that_a_table_of_the_other_texts_reads_count_left_out_and_labels_that_follow_no_words_do_not() {
        // Apples + pears in three texts; the boxes are a distractor. The labels of
        // `apples * boxes` (which meets 8 and 12 too) put `apples` on the pears in
        // the second text: learned from the other two texts, no table reads that.
        let texts = vec![
            vec![number(2.0, "red", "apples"), number(6.0, "green", "pears"), number(4.0, "in", "boxes")],
            vec![number(6.0, "red", "apples"), number(2.0, "green", "pears"), number(4.0, "in", "boxes")],
            vec![number(9.0, "green", "pears"), number(3.0, "red", "apples"), number(4.0, "in", "boxes")],
        ];
        let label = |pairs: &[(&str, f64)]| pairs.iter().map(|(role, value)| (role.to_string(), *value)).collect::<BTreeMap<String, f64>>();
        let sum_roles = vec!["apples".to_string(), "pears".to_string()];
        let sum_labels = vec![label(&[("apples", 2.0), ("pears", 6.0)]), label(&[("apples", 6.0), ("pears", 2.0)]), label(&[("apples", 3.0), ("pears", 9.0)])];
        assert_eq!(labels_read_left_out(&texts, &sum_labels, &sum_roles), 3);
        let product_roles = vec!["apples".to_string(), "boxes".to_string()];
        let product_labels = vec![label(&[("apples", 2.0), ("boxes", 4.0)]), label(&[("apples", 2.0), ("boxes", 4.0)]), label(&[("apples", 3.0), ("boxes", 4.0)])];
        // The second text's labels follow no word of the others, and learned from,
        // they mislead the table on one of the other two as well.
        assert_eq!(labels_read_left_out(&texts, &product_labels, &product_roles), 1);
        // The search takes the sum (the table of all three texts reads its labels
        // back, not the product's) and reports that each left-out text is read.
        let found = search_roles(&texts, &[8.0, 8.0, 12.0], &[]).found.expect("a fit");
        assert_eq!(found.expression, "apples + pears", "{found:?}");
        assert_eq!(found.read_left_out, 3);
    }

    #[test]
    fn each_number_plays_one_role() {
        // a + b = 8 only by giving the 4 to both roles: not an assignment.
        let numbers = vec![number(4.0, "", "apples"), number(9.0, "", "pears")];
        let sum = |values: &[f64]| Some(values[0] + values[1]);
        let mut considered = 0;
        assert!(assignments_giving(&numbers, &[0, 1], 2, exact(8.0), &sum, &mut considered).is_empty());
        assert_eq!(considered, 2, "two injective assignments of two roles to two numbers");
        assert_eq!(assignments_giving(&numbers, &[0, 1], 2, exact(13.0), &sum, &mut considered), vec![vec![0, 1], vec![1, 0]]);
    }

    #[test]
    fn assignments_give_each_number_to_one_role_in_order() {
        let mut all = Vec::new();
        for_each_injective_assignment(3, 2, &mut |assignment| all.push(assignment.to_vec()));
        assert_eq!(all, vec![vec![0, 1], vec![0, 2], vec![1, 0], vec![1, 2], vec![2, 0], vec![2, 1]]);
        let mut none = 0;
        for_each_injective_assignment(1, 2, &mut |_| none += 1);
        assert_eq!(none, 0);
    }

    #[test]
    fn a_swap_of_symmetric_roles_is_settled_by_the_words_around_the_numbers() {
        // hours × wage: both assignments fit text 2; the words say which is which.
        let texts = vec![
            vec![number(8.0, "worked", "hours"), number(31.0, "paid", "dollars")],
            vec![number(27.0, "paid", "dollars"), number(9.0, "worked", "hours")],
        ];
        let found = search_roles(&texts, &[248.0, 243.0], &[]).found.expect("a fit");
        assert_eq!(found.roles, vec!["hours".to_string(), "dollars".to_string()]);
        assert_eq!(found.labels[1], BTreeMap::from([("hours".to_string(), 9.0), ("dollars".to_string(), 27.0)]));
        assert_eq!(found.read_back, 2);
    }

    #[test]
    fn a_constant_the_texts_imply_is_a_leaf() {
        // A dozen per box: boxes × 12 − eaten.
        let texts = vec![vec![number(3.0, "bought", "boxes"), number(5.0, "ate", "")], vec![number(2.0, "ate", ""), number(9.0, "bought", "boxes")]];
        let found = search_roles(&texts, &[31.0, 106.0], &[12.0]).found.expect("a fit");
        assert!(found.expression.contains("12"), "{}", found.expression);
        assert_eq!(found.labels[1]["boxes"], 9.0);
    }

    #[test]
    fn five_quantities_are_reached_with_a_fifth_leaf() {
        // (baked − given − eaten) × price + fee, in three orders.
        let texts = vec![
            vec![number(1204577.0, "baked", "rolls"), number(15.0, "gave", "rolls"), number(5.0, "ate", "rolls"), number(2.0, "$", "each"), number(7.0, "of", "how")],
            vec![number(3.0, "$", "each"), number(9.0, "of", "a"), number(40.0, "the", "it"), number(10.0, "the", "rolls"), number(100.0, "baked", "rolls")],
            vec![number(8.0, "got", "rolls"), number(2.0, "ate", "rolls"), number(5813.0, "baked", "rolls"), number(5.0, "$", "each"), number(4.0, "of", "how")],
        ];
        let targets = vec![(1204577.0 - 15.0 - 5.0) * 2.0 + 7.0, (100.0 - 40.0 - 10.0) * 3.0 + 9.0, (5813.0 - 8.0 - 2.0) * 5.0 + 4.0];
        let found = search_roles(&texts, &targets, &[1.0]).found.expect("a fit");
        assert_eq!(found.roles.len(), 5, "{found:?}");
        assert_eq!(found.labels[1].values().copied().filter(|value| *value == 100.0).count(), 1);
        assert!(found.labels[2].values().any(|value| *value == 5813.0));
    }

    #[test]
    fn six_quantities_are_reached_where_five_leaves_fit_nothing() {
        // Kit for the players plus balls for the team: players × (shirt + shorts +
        // socks) + balls × ball_price, in three orders (four and two).
        let texts = vec![
            vec![number(14.0, "", "players"), number(23.0, "$", "shirt"), number(11.0, "$", "shorts"), number(4.0, "$", "socks"), number(6.0, "", "balls"), number(19.0, "$", "each")],
            vec![number(8.0, "", "balls"), number(17.0, "$", "each"), number(9.0, "$", "socks"), number(2113.0, "", "players"), number(31.0, "$", "shirt"), number(12.0, "$", "shorts")],
            vec![number(26.0, "$", "shirt"), number(5.0, "$", "socks"), number(13.0, "$", "shorts"), number(3.0, "", "balls"), number(22.0, "$", "each"), number(18.0, "", "players")],
        ];
        let kit = |players: f64, shirt: f64, shorts: f64, socks: f64, balls: f64, price: f64| players * (shirt + shorts + socks) + balls * price;
        let targets = vec![kit(14.0, 23.0, 11.0, 4.0, 6.0, 19.0), kit(2113.0, 31.0, 12.0, 9.0, 8.0, 17.0), kit(18.0, 26.0, 13.0, 5.0, 3.0, 22.0)];
        let found = search_roles(&texts, &targets, &[1.0]).found.expect("a fit of six leaves");
        assert_eq!(found.roles.len(), 6, "{found:?}");
        assert_eq!(found.labels[1]["players"], 2113.0, "{found:?}");
        // A week's walks less the app's weekly fee, for some weeks: five leaves and
        // a sixth around them (five and one), with the implied 2 of "twice a day".
        let texts = vec![
            vec![number(3.0, "", "dogs"), number(12.0, "$", "walk"), number(5.0, "", "days"), number(7.0, "", "weeks"), number(9.0, "$", "app")],
            vec![number(4.0, "", "weeks"), number(15.0, "$", "app"), number(2.0, "", "dogs"), number(6.0, "", "days"), number(14.0, "$", "walk")],
            vec![number(11.0, "$", "app"), number(4.0, "", "days"), number(10.0, "$", "walk"), number(3.0, "", "weeks"), number(5.0, "", "dogs")],
        ];
        let earned = |dogs: f64, fee: f64, days: f64, weeks: f64, app: f64| weeks * (dogs * fee * 2.0 * days - app);
        let targets = vec![earned(3.0, 12.0, 5.0, 7.0, 9.0), earned(2.0, 14.0, 6.0, 4.0, 15.0), earned(5.0, 10.0, 4.0, 3.0, 11.0)];
        let found = search_roles(&texts, &targets, &[1.0, 2.0]).found.expect("a fit of six leaves");
        assert_eq!(found.roles.len(), 5, "{found:?}");
        assert_eq!(found.labels[2]["weeks"], 3.0, "{found:?}");
    }

    #[test]
    fn a_number_every_text_states_is_a_quantity_first_and_a_constant_when_only_that_fits() {
        // Cases of twelve for n cans: ceil(n / 12); 7 cans need 1 case, 30 need 3.
        // The 12 is in every text, and is read as a quantity (v30: equal in every
        // training text is more often chance than a fact of the family).
        let texts = vec![
            vec![number(7.0, "", "cans"), number(12.0, "of", "")],
            vec![number(12.0, "of", ""), number(30.0, "", "cans")],
            vec![number(19.0, "", "cans"), number(12.0, "of", "")],
        ];
        let found = search_roles(&texts, &[1.0, 3.0, 2.0], &[]).found.expect("a fit");
        assert_eq!(found.expression, "-(-cans // of)");
        assert_eq!(found.labels[1]["cans"], 30.0);
        // Cases for the cans plus cases for the bottles: two counts rounded by a
        // quantity are never added (v28), so only the 12 as a constant of the
        // family fits.
        let texts = vec![
            vec![number(23.0, "", "cans"), number(12.0, "of", ""), number(23.0, "", "bottles")],
            vec![number(12.0, "of", ""), number(34.0, "", "bottles"), number(14.0, "", "cans")],
            vec![number(61.0, "", "bottles"), number(4900001.0, "", "cans"), number(12.0, "of", "")],
        ];
        // 2 + 2, 2 + 3, 408334 + 6.
        let found = search_roles(&texts, &[4.0, 5.0, 408340.0], &[]).found.expect("a fit with the 12 as a constant");
        assert!(found.expression.contains("// 12"), "{}", found.expression);
        // (The two roles are alike in the formula: either may take the cans.)
        assert!(found.labels[2].values().any(|value| *value == 4900001.0), "{:?}", found.labels[2]);
        // A divisor that differs between texts is a quantity: the ceiling by it
        // is the formula's last step (v28).
        let texts = vec![vec![number(7.0, "", "cans"), number(12.0, "of", "")], vec![number(30.0, "", "cans"), number(10.0, "of", "")]];
        let found = search_roles(&texts, &[1.0, 3.0], &[]).found.expect("cases of a size each text states");
        assert_eq!(found.expression, "-(-cans // of)");
    }

    #[test]
    fn a_division_rounded_by_a_quantity_is_the_last_step_only() {
        // 1703 // 5 = 340 and 2609 // 7 = 372: the whole fives in 1703, the whole
        // sevens in 2609, the divisor a quantity that differs from text to text.
        let texts = vec![vec![number(1703.0, "", "a"), number(5.0, "", "b")], vec![number(2609.0, "", "a"), number(7.0, "", "b")]];
        let found = search_roles(&texts, &[340.0, 372.0], &[]).found.expect("a count of whole things");
        assert_eq!(found.expression, "quantity_1 // quantity_2");
        // Crossings for cars and lorries (a lorry takes two cars' room), rounded
        // up: the count is the whole formula.
        let texts = vec![
            vec![number(47.0, "", "cars"), number(5.0, "", "lorries"), number(20.0, "for", "spaces")],
            vec![number(6.0, "", "lorries"), number(3814266.0, "", "cars"), number(25.0, "for", "spaces")],
            vec![number(61.0, "", "cars"), number(18.0, "for", "spaces"), number(9.0, "", "lorries")],
        ];
        let crossings = |cars: f64, lorries: f64, room: f64| ((cars + 2.0 * lorries) / room).ceil();
        let targets = vec![crossings(47.0, 5.0, 20.0), crossings(3814266.0, 6.0, 25.0), crossings(61.0, 9.0, 18.0)];
        let found = search_roles(&texts, &targets, &[2.0]).found.expect("crossings rounded up");
        assert!(found.expression.starts_with("-(-(") && found.expression.ends_with("// spaces)"), "{}", found.expression);
        assert_eq!(found.labels[1]["cars"], 3814266.0);
        // Added to anything but one quantity it is never built (v14's
        // coincidences went on past such sums): (a // b) * c + d * e has no fit,
        // though every text's answer is one.
        let texts = vec![
            vec![number(1703.0, "", "a"), number(5.0, "", "b"), number(11.0, "", "c"), number(4.0, "", "d"), number(3.0, "", "e")],
            vec![number(2609.0, "", "a"), number(7.0, "", "b"), number(13.0, "", "c"), number(6.0, "", "d"), number(2.0, "", "e")],
            vec![number(4211.0, "", "a"), number(9.0, "", "b"), number(17.0, "", "c"), number(8.0, "", "d"), number(5.0, "", "e")],
        ];
        let targets = vec![340.0 * 11.0 + 4.0 * 3.0, 372.0 * 13.0 + 6.0 * 2.0, 467.0 * 17.0 + 8.0 * 5.0];
        let search = search_roles(&texts, &targets, &[]);
        assert!(search.found.as_ref().is_none_or(|found| !found.expression.contains("//")), "{:?}", search.found);
        let texts: Vec<Vec<NumberContext>> = texts.into_iter().map(|numbers| numbers[..4].to_vec()).collect();
        // One quantity added after the count and what it is worth (v31: a fee on
        // top of the rafts hired) is found; a count times two factors, then a
        // quantity, is five leaves.
        let targets = vec![340.0 * 11.0 + 4.0, 372.0 * 13.0 + 6.0, 467.0 * 17.0 + 8.0];
        let found = search_roles(&texts, &targets, &[]).found.expect("whole bags times the pay per bag, plus a bonus");
        assert_eq!(found.expression, "quantity_1 // quantity_2 * quantity_3 + quantity_4");
        // The same count times a price, as the last step, is found.
        let targets = vec![340.0 * 11.0, 372.0 * 13.0, 467.0 * 17.0];
        let found = search_roles(&texts, &targets, &[]).found.expect("whole bags times the pay per bag");
        assert_eq!(found.expression, "quantity_1 // quantity_2 * quantity_3");
        // By a constant the texts imply ("a fifth") it is kept anywhere.
        let texts = vec![vec![number(17.0, "", "a")], vec![number(23.0, "", "a")]];
        let found = search_roles(&texts, &[3.0, 4.0], &[5.0]).found.expect("a fit");
        assert_eq!(found.expression, "quantity_1 // 5");
    }

    #[test]
    fn a_fee_is_added_after_a_count_rounded_up_by_a_quantity() {
        // rafting_trip (later17), training texts as read: rafts for children and
        // adults, seven seats each in all three texts, at a price each, plus a
        // one-off fee. v28 could not add the fee after the rounding, and fell back
        // to the 7 as a constant of the family (0.16 held-out, where other raft
        // sizes come up).
        let texts = vec![
            vec![number(44.0, "are", "children"), number(6.0, "and", "adult"), number(7.0, "holds", "people"), number(38.0, "$", "to"), number(47.0, "$", "")],
            vec![number(7.0, "seat", "people"), number(45.0, "$", "apiece"), number(26.0, "of", "young"), number(5.0, "with", "grown"), number(43.0, "$", "per")],
            vec![number(3.0, "and", "adults"), number(33.0, "", "kids"), number(50.0, "$", "fee"), number(7.0, "takes", "people"), number(29.0, "$", "each")],
        ];
        let total = |children: f64, adults: f64, seats: f64, price: f64, fee: f64| ((children + adults) / seats).ceil() * price + fee;
        let targets = vec![total(44.0, 6.0, 7.0, 38.0, 47.0), total(26.0, 5.0, 7.0, 45.0, 43.0), total(33.0, 3.0, 7.0, 29.0, 50.0)];
        assert_eq!(targets[0], 351.0);
        let found = search_roles(&texts, &targets, &[1.0]).found.expect("rafts rounded up, times the price, plus the fee");
        assert_eq!(found.roles.len(), 5, "{found:?}");
        assert!(found.expression.starts_with("-(-(") && found.expression.contains("// people)"), "{}", found.expression);
        assert_eq!(found.labels[2]["people"], 7.0);
        assert_eq!(found.labels[1].values().filter(|value| [26.0, 5.0].contains(*value)).count(), 2);
    }

    #[test]
    fn within_one_size_a_count_alone_is_preferred_to_a_count_with_a_quantity_after_it() {
        // sandbag_barrier (later19), training texts as read: truck trips for the
        // bags still missing, `-(-(metres * per_metre - stacked) // truck)`. At the
        // same size, `(stacked - metres) // truck + per_metre` meets all three
        // answers by coincidence (2 + 7 = 9, …): v31 built it and kept it, being
        // shorter (0.10 held-out, where v30 had 1.00).
        let texts = vec![
            vec![number(48.0, "carry", "sandbags"), number(210.0, "have", "sandbags"), number(91.0, "be", "metres"), number(7.0, "uses", "sandbags")],
            vec![number(93.0, "a", "metre"), number(14.0, "with", "sandbags"), number(219.0, "have", "bags"), number(76.0, "holds", "bags")],
            vec![number(134.0, "stacked", "sandbags"), number(6.0, "of", "sandbags"), number(56.0, "along", "metres"), number(51.0, "truck", "per")],
        ];
        let found = search_roles(&texts, &[9.0, 15.0, 4.0], &[1.0]).found.expect("trips rounded up");
        assert_eq!(found.expression, "-(-(metres * sandbags_4 - sandbags_2) // sandbags)");
        assert_eq!(found.labels[2]["sandbags"], 51.0);
    }

    #[test]
    fn a_percentage_taken_off_a_total_is_one_leaf() {
        // garage_sale (later17), training texts as read: (books × price + bike)
        // less the share given away. As arithmetic, `× (100 - pct) / 100` makes it
        // six leaves and two constants, beyond the search (no fit up to v31).
        let texts = vec![
            vec![number(9194339.0, "sold", "old"), number(5.0, "$", "each"), number(81.0, "$", ""), number(23.0, "gave", "%")],
            vec![number(34.0, "donating", "%"), number(83.0, "$", ""), number(8923627.0, "and", "second"), number(4.0, "$", "a")],
            vec![number(2.0, "$", "and"), number(14.0, "day", "books"), number(63.0, "$", ""), number(28.0, "donates", "%")],
        ];
        // The leaf needs no constant: not even the 100 that "per cent" implies.
        let found = search_roles(&texts, &[35398267.52, 23558430.06, 65.52], &[1.0]).found.expect("the total less the share donated");
        assert_eq!(found.roles.len(), 4, "{found:?}");
        assert!(found.expression.contains("(1 - gave / 100)"), "{}", found.expression);
        assert_eq!(found.labels[2]["gave"], 28.0);
        assert_eq!(found.labels[1]["old"], 8923627.0);
        // Only a number written as a percentage gets the leaf: the same texts
        // without the sign have no fit (with the 100 as a constant, six leaves
        // find the same formula the long way, v37).
        let plain: Vec<Vec<NumberContext>> = texts.iter().map(|numbers| numbers.iter().map(|number| NumberContext { value: number.value, features: number.features.iter().filter(|(feature, _)| *feature != "a:%").map(|(feature, weight)| (feature.clone(), *weight)).collect() }).collect()).collect();
        let search = search_roles(&plain, &[35398267.52, 23558430.06, 65.52], &[1.0]);
        assert!(search.found.as_ref().is_none_or(|found| !found.expression.contains("1 -")), "{:?}", search.found);
        assert!(reads_as_a_percentage(&NumberContext { value: 5.0, features: BTreeMap::from([("a:per".to_string(), 1.0), ("a:cent".to_string(), 0.5)]) }));
        assert!(!reads_as_a_percentage(&NumberContext { value: 5.0, features: BTreeMap::from([("b:%".to_string(), 1.0)]) }));
    }

    #[test]
    fn a_fit_that_uses_a_quantity_twice_and_leaves_one_unused_yields_to_one_a_leaf_larger() {
        // ferry_crossing (later14), training texts as read: crossings for cars and
        // lorries, a lorry two cars' room ("twice" in text 1, "two cars" in the
        // others). `-(-(cars + cars_3) // cars_3)` fits all three with one leaf
        // fewer, the room used twice and the lorries left unused.
        let texts = vec![
            vec![number(5.0, "carry", "lorries"), number(86.0, "and", "cars"), number(29.0, "for", "cars")],
            vec![number(2047311.0, "", "cars"), number(3.0, "and", "lorries"), number(21.0, "for", "cars"), number(2.0, "as", "cars")],
            vec![number(2.0, "as", "cars"), number(23.0, "most", "cars"), number(8873417.0, "if", "cars"), number(5.0, "and", "lorries")],
        ];
        let found = search_roles(&texts, &[4.0, 97492.0, 385802.0], &[2.0]).found.expect("a fit");
        assert_eq!(found.roles.len(), 3, "{found:?}");
        assert!(found.expression.contains("lorries") && found.expression.contains("2"), "{}", found.expression);
        let passed_over = found.passed_over.as_deref().expect("the smaller fit is named");
        assert!(passed_over.contains("`cars_3` twice") && passed_over.contains("leaves `lorries` unused"), "{passed_over}");
        assert_eq!(found.labels[1]["cars"], 2047311.0);
        // A fit that uses every quantity once is not held: no size further.
        assert_eq!(role_uses("-(-(cars + 2 * lorries) // cars_3)", &["cars".into(), "lorries".into(), "cars_3".into()]), 3);
        assert_eq!(role_uses("cars_3 + cars * cars_3", &["cars".into(), "cars_3".into()]), 3);
    }

    #[test]
    fn answers_to_the_cent_are_met_rounded_and_the_plan_rounds() {
        assert_eq!(answer_precision(&[643.73, 100.2, 15100678.51]), AnswerPrecision::RoundedTo(2));
        assert_eq!(answer_precision(&[48.0, 99.0, 17278150.0]), AnswerPrecision::Exact);
        assert_eq!(answer_precision(&[0.125, 3.5]), AnswerPrecision::Exact, "three decimals may be exact");
        // (dollars − fee) × rate − spent, to the cent, in three orders.
        let texts = vec![
            vec![number(989.0, "changes", "us"), number(2.94, "of", "is"), number(0.88, "at", "euros"), number(224.0, "spends", "euros")],
            vec![number(132.0, "spent", "euros"), number(7451834.0, "s", "dollars"), number(0.96, "at", "euros"), number(9.23, "keeping", "of")],
            vec![number(4.23, "a", "commission"), number(208.0, "spend", "euros"), number(5138834.0, "the", "dollars"), number(0.9, "of", "euros")],
        ];
        let cents = |value: f64| (value * 100.0).round() / 100.0;
        let targets = vec![cents((989.0 - 2.94) * 0.88 - 224.0), cents((7451834.0 - 9.23) * 0.96 - 132.0), cents((5138834.0 - 4.23) * 0.9 - 208.0)];
        assert_eq!(targets[0], 643.73);
        let found = search_roles(&texts, &targets, &[1.0]).found.expect("a fit");
        assert!(found.expression.starts_with("round(") && found.expression.ends_with(", 2)"), "{}", found.expression);
        assert_eq!(found.labels[2].values().filter(|value| [4.23, 208.0, 5138834.0, 0.9].contains(*value)).count(), 4);
        // Met only rounded: the exact value is more than float noise away.
        assert!(!exact(643.73).met_by((989.0 - 2.94) * 0.88 - 224.0));
        let to_the_cent = Answer { value: 643.73, precision: AnswerPrecision::RoundedTo(2) };
        assert!(to_the_cent.met_by((989.0 - 2.94) * 0.88 - 224.0));
        assert!(!to_the_cent.met_by(643.736), "643.736 is 643.74 to the cent");
    }

    #[test]
    fn an_exact_fit_is_preferred_to_a_rounded_one() {
        // rooms × (rate + 2 × breakfast) gives 310.5 and 150.2 exactly: no rounding,
        // though both answers show one decimal (a third, 1010.35, would show two).
        let texts = vec![vec![number(3.0, "", "rooms"), number(90.5, "$", "a"), number(5.0, "$", "breakfast")], vec![number(7.15, "$", "breakfast"), number(2.0, "", "rooms"), number(60.8, "$", "a")]];
        let found = search_roles(&texts, &[3.0 * (90.5 + 2.0 * 5.0), 2.0 * (60.8 + 2.0 * 7.15)], &[2.0]).found.expect("a fit");
        assert!(!found.expression.contains("round"), "{}", found.expression);
    }

    #[test]
    fn nothing_fits_answers_without_a_small_formula() {
        let texts = vec![vec![number(3.0, "", "a"), number(5.0, "", "b")], vec![number(7.0, "", "a"), number(11.0, "", "b")]];
        let search = search_roles(&texts, &[123457.0, 98765.0], &[]);
        assert!(search.found.is_none());
        assert!(search.considered > 0 && search.skipped.is_none());
    }

    #[test]
    fn names_are_identifiers_and_distinct() {
        let anchor = vec![number(1.0, "", "trays"), number(2.0, "", "trays"), number(3.0, "for", ""), number(4.0, "", "")];
        assert_eq!(role_names(&anchor), vec!["trays", "trays_2", "quantity_3", "quantity_4"]);
    }
}
