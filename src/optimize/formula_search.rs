//! Formula search: the smallest arithmetic expression over a node's numbers that
//! gives the expected output on every training example.
//!
//! Why: the offload move's code is usually a short formula over the numbers of the
//! text (`numbers[3] - numbers[0] - numbers[1] - numbers[2]`). A 1.5B teacher finds
//! such a formula on some task families and not on others (teacher notes: 4 of 6);
//! an exhaustive search over small expressions finds it whenever it is small, at no
//! teacher cost, and says how many expressions it considered — they are
//! hypotheses, and count in the PAC bound's k.
//!
//! Bottom-up enumeration by size (number of leaves), keeping one expression per
//! distinct vector of values on the training examples (observational equivalence:
//! two expressions that agree on every example are the same hypothesis to the
//! data), smallest first. Leaves are the numbers (by position, or by role: see
//! `role_readers`) and the constants the texts imply without writing them as
//! digits (`implied_constants`: "half", "twice", "per cent", "a dozen").

use std::collections::HashSet;

/// A leaf of the search: how it is written in the formula, and its value on each
/// training example.
#[derive(Clone, Debug, PartialEq)]
pub struct Leaf {
    pub text: String,
    pub values: Vec<f64>,
}
/// Expressions of up to this many leaves are built exhaustively; one more leaf is
/// tried on top of the largest (see the end of `search_counting`).
const MAX_LEAVES: usize = 4;
/// At most this many constants in one expression: `n1 * (2 + n0 / 100)` ("p% more
/// than n1, and n1 itself") needs two; more would let constants fit noise.
const MAX_CONSTANTS: u32 = 2;
/// A bound on the expressions kept per size, so a long list of numbers cannot
/// make the search slow.
const MAX_PER_SIZE: usize = 400_000;

#[derive(Clone, Debug)]
struct Expression {
    text: String,
    values: Vec<f64>,
    constants: u32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FoundFormula {
    /// A starlark expression over `numbers` (e.g. `numbers[3] - numbers[0]`).
    pub expression: String,
    /// Distinct expressions considered (hypotheses).
    pub considered: u64,
}

/// The outcome of a search: the formula if one fits, and in any case how many
/// expressions were held against the data (each is a hypothesis: a failed search
/// still counts in the PAC bound).
#[derive(Clone, Debug, PartialEq)]
pub struct FormulaSearch {
    pub found: Option<FoundFormula>,
    pub considered: u64,
}

/// A formula over positions: `inputs[i]` are the numbers of example i (written
/// `argument[position]`), `targets[i]` its expected output. Every example must have
/// the same count of numbers (positions mean the same quantity across a task
/// family); otherwise there is no formula to find.
pub fn search(inputs: &[Vec<f64>], targets: &[f64], argument: &str, constants: &[f64]) -> FormulaSearch {
    let width = inputs.first().map_or(0, Vec::len);
    if width == 0 || width > 12 || inputs.iter().any(|numbers| numbers.len() != width) {
        return FormulaSearch { found: None, considered: 0 };
    }
    let leaves = (0..width).map(|position| Leaf { text: format!("{argument}[{position}]"), values: inputs.iter().map(|numbers| numbers[position]).collect() }).collect();
    search_leaves(leaves, constants, targets)
}

/// A formula over named leaves (at most 12) and `constants`.
pub fn search_leaves(leaves: Vec<Leaf>, constants: &[f64], targets: &[f64]) -> FormulaSearch {
    let mut considered = 0;
    let found = search_counting(leaves, constants, targets, &mut considered);
    FormulaSearch { found, considered }
}

fn search_counting(named: Vec<Leaf>, constants: &[f64], targets: &[f64], considered_out: &mut u64) -> Option<FoundFormula> {
    let examples = targets.len();
    if examples == 0 || named.is_empty() || named.len() > 12 || named.iter().any(|leaf| leaf.values.len() != examples) {
        return None;
    }
    let mut seen: HashSet<Vec<i64>> = HashSet::new();
    let mut by_size: Vec<Vec<Expression>> = vec![Vec::new(); MAX_LEAVES + 1];
    let matches = |values: &[f64]| values.iter().zip(targets).all(|(value, target)| (value - target).abs() <= 1e-9 * target.abs().max(1.0));
    let mut leaves: Vec<Expression> = named.into_iter().map(|leaf| Expression { text: leaf.text, values: leaf.values, constants: 0 }).collect();
    for constant in constants {
        leaves.push(Expression { text: format_constant(*constant), values: vec![*constant; examples], constants: 1 });
    }
    for leaf in leaves {
        *considered_out += 1;
        if leaf.constants == 0 && matches(&leaf.values) {
            return Some(FoundFormula { expression: leaf.text, considered: *considered_out });
        }
        if seen.insert(signature(&leaf.values)) {
            by_size[1].push(leaf);
        }
    }
    for size in 2..=MAX_LEAVES {
        let mut found: Vec<Expression> = Vec::new();
        let mut level: Vec<Expression> = Vec::new();
        for left_size in 1..size {
            let right_size = size - left_size;
            for left in &by_size[left_size] {
                for right in &by_size[right_size] {
                    if left.constants + right.constants > MAX_CONSTANTS {
                        continue;
                    }
                    for operator in ['+', '-', '*', '/', 'f', 'c'] {
                        // a + b and b + a are one hypothesis: keep one order.
                        if (operator == '+' || operator == '*') && left_size == right_size && left.text > right.text {
                            continue;
                        }
                        // Rounded up by a constant only ("cases of a dozen"): by a
                        // quantity of the text it fitted three training outputs by
                        // coincidence at once (`n1 - -(-n2 // -(-n2 // n0)) + n1`).
                        if operator == 'c' && !(right_size == 1 && right.constants == 1) {
                            continue;
                        }
                        let Some(values) = combine(&left.values, &right.values, operator) else { continue };
                        *considered_out += 1;
                        if !seen.insert(signature(&values)) {
                            continue;
                        }
                        // `f` is floor division (`//`), for "a third of the elves"; `c`
                        // division rounded up, for "how many boxes of six are needed".
                        let text = match operator {
                            'c' => ceiling_division_text(&left.text, &right.text),
                            'f' => format!("{} // {}", parenthesised(&left.text, operator, false), parenthesised(&right.text, operator, true)),
                            _ => format!("{} {operator} {}", parenthesised(&left.text, operator, false), parenthesised(&right.text, operator, true)),
                        };
                        let expression = Expression { text, values, constants: left.constants + right.constants };
                        if matches(&expression.values) {
                            found.push(expression.clone());
                        }
                        if level.len() < MAX_PER_SIZE {
                            level.push(expression);
                        }
                    }
                }
            }
        }
        // The smallest size that fits wins; among those, the fewest constants,
        // then the shortest text (a deterministic Occam order).
        if let Some(best) = found.into_iter().min_by(|a, b| (a.constants, a.text.len(), &a.text).cmp(&(b.constants, b.text.len(), &b.text))) {
            return Some(FoundFormula { expression: best.text, considered: *considered_out });
        }
        by_size[size] = level;
    }
    // Five leaves, only as a four-leaf expression with one more leaf (a product
    // or sum of five quantities: "volume × gallons per cubic foot × price"). Not
    // stored: nothing larger is built from them.
    let mut found: Vec<Expression> = Vec::new();
    for larger in &by_size[MAX_LEAVES] {
        for leaf in &by_size[1] {
            if larger.constants + leaf.constants > MAX_CONSTANTS {
                continue;
            }
            for operator in ['+', '-', '*', '/'] {
                for (left, right) in [(larger, leaf), (leaf, larger)] {
                    if (operator == '+' || operator == '*') && std::ptr::eq(left, leaf) {
                        continue;
                    }
                    let Some(values) = combine(&left.values, &right.values, operator) else { continue };
                    *considered_out += 1;
                    if matches(&values) {
                        let text = format!("{} {operator} {}", parenthesised(&left.text, operator, false), parenthesised(&right.text, operator, true));
                        found.push(Expression { text, values, constants: left.constants + right.constants });
                    }
                }
            }
        }
    }
    found
        .into_iter()
        .min_by(|a, b| (a.constants, a.text.len(), &a.text).cmp(&(b.constants, b.text.len(), &b.text)))
        .map(|best| FoundFormula { expression: best.text, considered: *considered_out })
}

fn combine(left: &[f64], right: &[f64], operator: char) -> Option<Vec<f64>> {
    let mut values = Vec::with_capacity(left.len());
    for (a, b) in left.iter().zip(right) {
        let value = match operator {
            '+' => a + b,
            '-' => a - b,
            '*' => a * b,
            '/' if *b != 0.0 => a / b,
            // By a whole number only (`int(x)` is `x // 1`; "a third of the elves" is
            // `n // 3`): floor division by a measured quantity is noise.
            'f' if *b != 0.0 && b.fract() == 0.0 => (a / b).floor(),
            'c' if *b != 0.0 && b.fract() == 0.0 => (a / b).ceil(),
            _ => return None,
        };
        if !value.is_finite() {
            return None;
        }
        values.push(value);
    }
    Some(values)
}

/// Values rounded to 9 significant digits: equal up to floating-point noise.
fn signature(values: &[f64]) -> Vec<i64> {
    values
        .iter()
        .flat_map(|value| {
            if *value == 0.0 {
                return [0, 0];
            }
            let exponent = value.abs().log10().floor() as i64;
            let mantissa = (value / 10f64.powi(exponent as i32) * 1e8).round() as i64;
            [mantissa, exponent]
        })
        .collect()
}

fn format_constant(constant: f64) -> String {
    if constant.fract() == 0.0 {
        format!("{}", constant as i64)
    } else {
        format!("{constant}")
    }
}

/// `left` divided by `right`, rounded up, as starlark writes it without a
/// `math` module: `-(-left // right)`. Floor division of the negation is exact on
/// integers, where `int(x / n + 0.999)` or a float ceiling would not be. The whole
/// is one atom to `parenthesised` (its only top-level sign is the leading minus).
pub(crate) fn ceiling_division_text(left: &str, right: &str) -> String {
    let negated = if top_level_operator(left).is_some() || left.starts_with('-') { format!("-({left})") } else { format!("-{left}") };
    format!("-({negated} // {})", parenthesised(right, 'f', true))
}

/// Parentheses where precedence needs them (`a - (b + c)`, `(a + b) * c`,
/// `a * (b // c)`). `operator` is `+ - * /` or `f` for `//`.
pub(crate) fn parenthesised(text: &str, operator: char, right_side: bool) -> String {
    let top = top_level_operator(text);
    let multiplicative = |op: char| matches!(op, '*' | '/' | 'f');
    let needs = match (operator, top) {
        (_, None) => false,
        // Sums inside a product or quotient.
        (op, Some('+' | '-')) if multiplicative(op) => true,
        ('-', Some('+' | '-')) if right_side => true,
        // Right operand of a quotient or of a floor division: any product.
        ('/' | 'f', Some(inner)) if right_side && multiplicative(inner) => true,
        // Floor division does not associate with products: a * (b // c) != a * b // c.
        ('*', Some('f')) if right_side => true,
        _ => false,
    };
    if needs {
        format!("({text})")
    } else {
        text.to_string()
    }
}

/// The operator applied last in `text` (outside parentheses): `+ - * /`, or `f`
/// for `//`; additive ones win over multiplicative ones, and among equals the last.
fn top_level_operator(text: &str) -> Option<char> {
    let mut depth = 0;
    let mut found: Option<char> = None;
    let characters: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < characters.len() {
        let character = characters[index];
        match character {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '+' | '-' | '*' | '/' if depth == 0 && index > 0 && characters[index - 1] == ' ' => {
                let operator = if character == '/' && characters.get(index + 1) == Some(&'/') {
                    index += 1;
                    'f'
                } else {
                    character
                };
                let additive = matches!(operator, '+' | '-');
                if found.is_none() || additive || !matches!(found, Some('+' | '-')) {
                    found = Some(operator);
                }
            }
            _ => {}
        }
        index += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::implied_constants::implied_constants;

    /// The search with the constants `text` implies.
    fn search_formula(inputs: &[Vec<f64>], targets: &[f64], argument: &str, text: &str) -> Option<FoundFormula> {
        search(inputs, targets, argument, &implied_constants(&[text])).found
    }

    #[test]
    fn named_leaves_are_written_by_name() {
        let leaves = vec![Leaf { text: "shelter".into(), values: vec![5.0, 7.0, 2.0] }, Leaf { text: "baked".into(), values: vec![20.0, 30.0, 9.0] }];
        let found = search_leaves(leaves, &[1.0], &[15.0, 23.0, 7.0]).found.unwrap();
        assert_eq!(found.expression, "baked - shelter");
    }

    #[test]
    fn a_constant_the_text_does_not_imply_is_not_used() {
        // n * 12 fits, but nothing in the text says "dozen".
        let inputs = vec![vec![3.0], vec![5.0], vec![8.0]];
        let targets = vec![36.0, 60.0, 96.0];
        assert!(search_formula(&inputs, &targets, "n", "she bought 3 boxes").is_none());
        assert_eq!(search_formula(&inputs, &targets, "n", "she bought 3 dozen").unwrap().expression, "12 * n[0]");
    }

    #[test]
    fn finds_the_change_formula_of_a_shopping_family() {
        let inputs = vec![vec![6.73, 16.19, 8812311.0, 27.0], vec![7.30, 16.75, 4186027.0, 18.0], vec![7.34, 14.47, 4123476.0, 16.0]];
        let targets = vec![-8812306.92, -4186033.05, -4123481.81];
        let found = search_formula(&inputs, &targets, "numbers", "A mother pays with a bill and gets change").unwrap();
        // Whatever form it took, it must evaluate right, from four leaves.
        assert_eq!(found.expression.matches("numbers[").count(), 4, "{}", found.expression);
        for (numbers, target) in inputs.iter().zip(&targets) {
            let value = evaluate(&found.expression, numbers);
            assert!((value - target).abs() < 1e-6 * target.abs(), "{} gave {value}", found.expression);
        }
        assert!(found.considered > 10);
    }

    #[test]
    fn uses_an_unwritten_constant_when_the_text_implies_one() {
        // "half that much": a + a / 2
        let inputs = vec![vec![2287720.0], vec![1000.0], vec![36.0]];
        let targets = vec![3431580.0, 1500.0, 54.0];
        let found = search_formula(&inputs, &targets, "n", "and half that much again").unwrap();
        for (numbers, target) in inputs.iter().zip(&targets) {
            assert!((evaluate(&found.expression, numbers) - target).abs() < 1e-6, "{}", found.expression);
        }
    }

    #[test]
    fn percent_more_needs_two_constants() {
        // George has p% more pears than n bananas: fruits = n * (2 + p / 100).
        let inputs = vec![vec![45.0, 6317400.0], vec![20.0, 1000.0], vec![35.0, 250.0]];
        let targets: Vec<f64> = inputs.iter().map(|n| n[1] + n[1] * (1.0 + n[0] / 100.0)).collect();
        let found = search_formula(&inputs, &targets, "numbers", "45% more pears than bananas").unwrap();
        for (numbers, target) in inputs.iter().zip(&targets) {
            assert!((evaluate(&found.expression, numbers) - target).abs() < 1e-6 * target.abs(), "{}", found.expression);
        }
    }

    #[test]
    fn floor_division_for_whole_shares() {
        // A third of n quit (whole elves), then k more: n - n // 3 - k is five leaves;
        // the two-share form is n - k - n // 3 too, so this family is out of reach…
        // but "how many quit" (n // 3) is within it.
        let inputs = vec![vec![6537761.0, 10.0], vec![100.0, 4.0], vec![29.0, 2.0]];
        let targets = vec![2179253.0, 33.0, 9.0];
        let found = search_formula(&inputs, &targets, "numbers", "a third of the elves quit").unwrap();
        assert_eq!(found.expression, "numbers[0] // 3");
    }

    #[test]
    fn division_rounded_up_for_whole_containers() {
        // Boxes of a dozen for n eggs and k broken ones: ceil((n - k) / 12).
        let inputs = vec![vec![20.0, 1.0], vec![36.0, 0.0], vec![7.0, 2.0], vec![50.0, 3.0]];
        let found = search_formula(&inputs, &[2.0, 3.0, 1.0, 4.0], "n", "eggs packed by the dozen").expect("a fit");
        assert_eq!(found.expression, "-(-(n[0] - n[1]) // 12)");
        // By a quantity of the text, never: the same outputs with the 12 written.
        let written: Vec<Vec<f64>> = inputs.iter().map(|numbers| vec![numbers[0], numbers[1], 12.0]).collect();
        let by_position = search_formula(&written, &[2.0, 3.0, 1.0, 4.0], "n", "boxes of 12");
        assert!(by_position.as_ref().is_none_or(|found| !found.expression.starts_with("-(")), "{by_position:?}");
        assert_eq!(ceiling_division_text("-(-a // 3)", "4"), "-(-(-(-a // 3)) // 4)");
        assert_eq!(ceiling_division_text("a", "b * c"), "-(-a // (b * c))");
    }

    #[test]
    fn five_quantities_multiplied() {
        // Pool: gallons per cubic foot × price per gallon × width × length × depth.
        let inputs = vec![vec![10.5, 0.16, 16.0, 13.0, 6.0], vec![9.7, 0.15, 22.0, 23.0, 7.0], vec![5.1, 0.09, 16.0, 38.0, 7.0]];
        let targets = vec![2096.64, 5153.609999999999, 1953.504];
        let found = search_formula(&inputs, &targets, "numbers", "a pool of 16 feet by 13").unwrap();
        assert_eq!(found.expression.matches("numbers[").count(), 5, "{}", found.expression);
        for (numbers, target) in inputs.iter().zip(&targets) {
            assert!((evaluate(&found.expression, numbers) - target).abs() < 1e-6 * target.abs(), "{}", found.expression);
        }
    }

    #[test]
    fn truncation_is_floor_division_by_one() {
        // int(pages per inch × thickness) × 2, with "one page" read as 1.
        let inputs: Vec<Vec<f64>> = vec![vec![5135281.0, 1.0, 2.7], vec![7419427.0, 1.0, 1.5], vec![3000001.0, 1.0, 1.3]];
        let targets: Vec<f64> = inputs.iter().map(|n| (n[0] * n[2]).floor() * 2.0).collect();
        let found = search_formula(&inputs, &targets, "numbers", "pages on both sides, printed double").unwrap();
        assert!(found.expression.contains("//"), "{}", found.expression);
        for (numbers, target) in inputs.iter().zip(&targets) {
            assert_eq!(evaluate(&found.expression, numbers), *target, "{}", found.expression);
        }
    }

    #[test]
    fn gives_up_rather_than_guessing() {
        let inputs = vec![vec![3.0, 5.0], vec![7.0, 11.0], vec![13.0, 17.0]];
        let targets = vec![123456.0, 654321.0, 111.0];
        assert!(search_formula(&inputs, &targets, "n", "twice a dozen per cent").is_none());
        assert!(search_formula(&[vec![1.0], vec![1.0, 2.0]], &[1.0, 2.0], "n", "").is_none(), "positions must mean the same thing");
    }

    #[test]
    fn parentheses_follow_precedence() {
        assert_eq!(parenthesised("a + b", '*', false), "(a + b)");
        assert_eq!(parenthesised("a + b", '-', true), "(a + b)");
        assert_eq!(parenthesised("a + b", '-', false), "a + b");
        assert_eq!(parenthesised("a * b", '/', true), "(a * b)");
        assert_eq!(parenthesised("n[0]", '/', true), "n[0]");
        assert_eq!(parenthesised("n[0] * n[2] // n[1]", '*', true), "(n[0] * n[2] // n[1])");
        assert_eq!(parenthesised("n[0] * n[2]", 'f', false), "n[0] * n[2]");
        assert_eq!(parenthesised("n[0] // 3", '-', true), "n[0] // 3");
    }

    /// A tiny evaluator for the expressions this module writes (tests only).
    fn evaluate(expression: &str, numbers: &[f64]) -> f64 {
        fn parse(tokens: &[String], position: &mut usize, numbers: &[f64]) -> f64 {
            let mut value = term(tokens, position, numbers);
            while *position < tokens.len() && (tokens[*position] == "+" || tokens[*position] == "-") {
                let operator = tokens[*position].clone();
                *position += 1;
                let right = term(tokens, position, numbers);
                value = if operator == "+" { value + right } else { value - right };
            }
            value
        }
        fn term(tokens: &[String], position: &mut usize, numbers: &[f64]) -> f64 {
            let mut value = atom(tokens, position, numbers);
            while *position < tokens.len() && (tokens[*position] == "*" || tokens[*position] == "/" || tokens[*position] == "//") {
                let operator = tokens[*position].clone();
                *position += 1;
                let right = atom(tokens, position, numbers);
                value = match operator.as_str() {
                    "*" => value * right,
                    "/" => value / right,
                    _ => (value / right).floor(),
                };
            }
            value
        }
        fn atom(tokens: &[String], position: &mut usize, numbers: &[f64]) -> f64 {
            let token = tokens[*position].clone();
            *position += 1;
            if token == "//" {
                unreachable!("handled by the caller");
            }
            if token == "(" {
                let value = parse(tokens, position, numbers);
                *position += 1;
                return value;
            }
            if let Some(index) = token.split('[').nth(1) {
                return numbers[index.trim_end_matches(']').parse::<usize>().unwrap()];
            }
            token.parse().unwrap()
        }
        let spaced = expression.replace('(', " ( ").replace(')', " ) ");
        let tokens: Vec<String> = spaced.split_whitespace().map(str::to_string).collect();
        parse(&tokens, &mut 0, numbers)
    }
}
